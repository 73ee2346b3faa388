"""The chat page: ask about the deck, read the quoted answer and its sources, open a
whole slide, rate answers. Also the `/ask` API endpoint for gradio_client users.

    from qa.ui.app import serve
    serve(Config())                      # http://127.0.0.1:7860, blocks until Ctrl-C

The model and the index are loaded once at start (the index is built first if there
is none); every request then only asks the pipeline, which switches to a newer build
in the background when `qa index` made one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import gradio as gr  # noqa: E402

from qa.config import Config  # noqa: E402
from qa.errors import IndexMissingError, IndexStaleError, InputError, QAError  # noqa: E402
from qa.results import Answer  # noqa: E402

from . import access, feedback, render  # noqa: E402
from .style import ASK_EXAMPLE, CSS, HEADER, SCROLL_TO_MARK, TAKE_QUESTION, theme  # noqa: E402

log = logging.getLogger("qa.ui")

CONCURRENCY = 4  # requests the queue runs at once
# The browser cuts longer pastes at this length: Gradio's textbox slows down
# quadratically with its length (a 100,000-character paste froze the tab ~15 s).
INPUT_LIMIT = 10_000
EXAMPLES = (
    "WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？",
    "海外特別研究員事業で毎年何名の若手研究者を派遣していますか？",
    "2024年のG7科学技術大臣会合はどこで開催されましたか？",
    "Horizon Europeの予算規模は？",
)


class ChatPage:
    """What the page's events do, kept apart from the layout."""

    def __init__(self, pipeline, config: Config, feedback_path: Path):
        self.pipeline, self.config, self.feedback_path = pipeline, config, Path(feedback_path)
        # Answers are computed one at a time: the model's fast tokenizer is not safe to
        # call from several threads at once ("Already borrowed"), and one answer takes
        # tens of milliseconds. The queue still serves several requests around them.
        self._lock = threading.Lock()

    def ask(self, question: str, docs=None) -> Answer:
        """Answer.ask on text made safe to log and to send back as JSON; `docs` limits
        the answer to those documents (None or all of them: no limit)."""
        self.pipeline.refresh(background=True)
        titles = self.doc_titles
        docs = [d for d in docs or [] if d in titles]
        limit = docs if docs and len(docs) < len(titles) else None
        with self._lock:
            return self.pipeline.ask(_utf8(question), docs=limit)

    @property
    def doc_titles(self) -> dict[str, str]:
        return self.pipeline.doc_titles()

    # -- the API endpoint ------------------------------------------------------------

    def api_ask(self, question: str) -> dict:
        """Answer a question about the deck: quoted answer, abstained flag, citations (slide numbers)."""
        question = _utf8(question or "")
        try:
            return self.ask(question).to_dict()
        except InputError as exc:
            return {"question": question, "error": str(exc), "abstained": True, "answer": "", "citations": []}
        except Exception:
            log.exception("the /ask endpoint failed")
            return {"question": question, "error": "internal error; see the server log", "abstained": True,
                    "answer": "", "citations": []}

    # -- chat events -----------------------------------------------------------------

    # One generator per question: the question shows at once, the answer follows. All
    # ways of asking are one event (see build_app), so questions never overlap within a
    # page. Outputs: chat, turns, sources, source choice, slide, feedback box.

    def submit(self, text, history, turns, docs=None):
        """The question from the textbox (the browser has emptied it): show it, answer it."""
        text = text if isinstance(text, str) else ""
        if not render.clean(text).strip():  # nothing to ask: ignore quietly, touch nothing
            yield (gr.skip(),) * 6
            return
        history = list(history or []) + [{"role": "user", "content": render.question_html(text, INPUT_LIMIT)}]
        yield (history,) + (gr.skip(),) * 5
        yield self.answer(text, history, turns, docs)

    def answer(self, question: str, history, turns, docs=None):
        """The chat with the answer appended, and the page state that goes with it."""
        history, turns = list(history or []), dict(turns or {})
        record, sources = None, []
        try:
            result = self.ask(question, docs)
            content = render.answer_html(result, self.doc_titles)
            record = {"question": _utf8(question), "answer": result.to_dict()}
            pieces = render.answer_pieces(result)
            sources = [
                {"rank": p.rank, "doc_id": p.doc_id, "slide": p.slide, "title": p.title, "pieces": pieces.get(p.rank, [])}
                for p in result.citations
            ]
        except InputError as exc:
            content = render.input_error_html(str(exc))
        except Exception:
            log.exception("answering failed for a question of %d characters", len(question))
            content = render.failure_html()
        history.append({"role": "assistant", "content": content})
        if record:
            turns[len(history) - 1] = record
        choices = [(f"[{s['rank']}] p.{s['slide']} {s['title']}", str(s["rank"])) for s in sources]
        radio = gr.update(choices=choices, value=None, visible=bool(choices))
        # a new answer also closes the comment box of an earlier rating
        return history, turns, sources, radio, render.SLIDE_PLACEHOLDER, gr.update(visible=False)

    def show_slide(self, choice, sources):
        source = next((s for s in sources or [] if str(s["rank"]) == str(choice)), None)
        if source is None:
            return render.SLIDE_PLACEHOLDER
        text = render.slide_text(self.pipeline.store, source["doc_id"], source["slide"])
        return render.slide_html(source, text, source["pieces"])

    def rate(self, data: gr.LikeData, turns):
        """A 👍/👎 (or its withdrawal) on an answer goes to the feedback log."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = (turns or {}).get(index)
        if turn is None:  # e.g. a rating on an error note: nothing to record
            return None, gr.update(visible=False), ""
        rating = "up" if data.liked is True else "down" if data.liked is False else "none"
        self._log(feedback.make_record(turn["question"], turn["answer"], rating))
        if rating == "none":
            return None, gr.update(visible=False), ""
        rated = {"index": index, "rating": rating}
        thanks = "ご評価ありがとうございます。よろしければ理由をお聞かせください（任意）。"
        return rated, gr.update(visible=True), thanks

    def comment(self, text, rated, turns):
        text = render.clean(text or "").strip()
        turn = (turns or {}).get((rated or {}).get("index"))
        if not text:
            return gr.skip(), "コメントを入力してから送信してください。"
        if turn is None:
            return gr.skip(), "先に回答の 👍 / 👎 を押してください。"
        self._log(feedback.make_record(turn["question"], turn["answer"], rated["rating"], text[:5000], event="comment"))
        return "", "コメントを受け付けました。ありがとうございました。"

    def _log(self, record: dict) -> None:
        try:
            feedback.append(self.feedback_path, record)
        except OSError:
            log.exception("cannot write feedback to %s", self.feedback_path)


def _utf8(text: str) -> str:
    """Text with lone surrogates (which JSON and UTF-8 refuse) replaced."""
    return str(text).encode("utf-8", "replace").decode("utf-8")


def build_app(pipeline, config: Config, feedback_path: Path | str) -> gr.Blocks:
    """The page's layout and events (launch it with `start`, which adds theme and CSS)."""
    page = ChatPage(pipeline, config, Path(feedback_path))
    titles = list(pipeline.doc_titles().values())
    private = {"api_visibility": "private"}
    with gr.Blocks(title="資料QA｜" + "・".join(titles or ["資料"]), analytics_enabled=False) as demo:
        turns = gr.State({})  # assistant message index -> question and answer, for ratings
        sources = gr.State([])  # the latest answer's citations
        rated = gr.State(None)  # the latest rating, for a follow-up comment

        gr.HTML(HEADER.format(titles="・".join(render.esc(t) for t in titles) or "資料"), elem_id="qa-header")
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, min_width=360):
                chat = gr.Chatbot(
                    elem_id="qa-chat",
                    show_label=False,
                    height="62vh",
                    min_height=360,
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    line_breaks=False,
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    layout="panel",
                    placeholder=(
                        "<div class='qa-empty'><b>資料について質問してください。</b><br>"
                        "回答は資料の記載をそのまま引用し、出典のスライド番号を示します。</div>"
                    ),
                )
                with gr.Column(visible=False, variant="panel", elem_id="qa-feedback") as feedback_box:
                    thanks = gr.Markdown(elem_id="qa-feedback-note")
                    with gr.Row(equal_height=True):
                        remark = gr.Textbox(show_label=False, placeholder="例：出典は合っているが、回答の箇所が違う",
                                            scale=5, max_lines=4, max_length=5000, elem_id="qa-remark")
                        remark_send = gr.Button("コメントを送る", scale=1, min_width=130, elem_id="qa-remark-send")
                with gr.Row(elem_id="qa-input-row", equal_height=True):
                    box = gr.Textbox(
                        show_label=False,
                        placeholder="資料について質問を入力してください",
                        lines=1,
                        max_lines=6,
                        max_length=INPUT_LIMIT,
                        scale=6,
                        elem_id="qa-input",
                        autofocus=True,
                    )
                    send = gr.Button("質問する", variant="primary", scale=1, min_width=96, elem_id="qa-send")
                    clear = gr.Button("会話をクリア", variant="secondary", scale=1, min_width=130, elem_id="qa-clear")
                with gr.Column(elem_id="qa-examples"):
                    gr.HTML("<div class='qa-examples-label'>質問の例（クリックで質問します）</div>")
                    with gr.Row(elem_id="qa-example-row"):
                        example_buttons = [
                            gr.Button(q, size="sm", variant="secondary", elem_classes="qa-example") for q in EXAMPLES
                        ]
            with gr.Column(scale=2, min_width=300, elem_id="qa-side"):
                many = len(page.doc_titles) > 1
                doc_filter = gr.CheckboxGroup(
                    label="対象の資料（選んだ資料だけから回答します）",
                    choices=[(title, doc_id) for doc_id, title in page.doc_titles.items()],
                    value=list(page.doc_titles), visible=many, elem_id="qa-docs",
                )
                gr.HTML("<div class='qa-side-title'>スライド全文</div>")
                choice = gr.Radio(label="出典を選ぶ", choices=[], visible=False, elem_id="qa-source-choice")
                slide = gr.HTML(render.SLIDE_PLACEHOLDER, elem_id="qa-slide")

        # One event for asking; always_last: a question sent while another is being
        # answered runs after it, with the chat as it is then. The browser empties the
        # box as it sends (TAKE_QUESTION), so a late reply never wipes a newer question.
        # An example button types its question into the box and presses 質問する.
        asking = gr.on(
            [box.submit, send.click],
            page.submit,
            [box, chat, turns, doc_filter],
            [chat, turns, sources, choice, slide, feedback_box],
            js=TAKE_QUESTION,
            trigger_mode="always_last",
            **private,
        )
        for button, question in zip(example_buttons, EXAMPLES):
            button.click(None, js=ASK_EXAMPLE % json.dumps(question), **private)
        choice.change(page.show_slide, [choice, sources], slide, queue=False, **private).then(
            None, js=SCROLL_TO_MARK, queue=False, **private
        )
        chat.like(page.rate, [turns], [rated, feedback_box, thanks], queue=False, **private)
        remark_send.click(page.comment, [remark, rated, turns], [remark, thanks], queue=False, **private)
        remark.submit(page.comment, [remark, rated, turns], [remark, thanks], queue=False, **private)
        reset = (
            lambda: ([], {}, [], gr.update(choices=[], value=None, visible=False), render.SLIDE_PLACEHOLDER,
                     None, gr.update(visible=False), "")
        )
        reset_outputs = [chat, turns, sources, choice, slide, rated, feedback_box, box]
        clear.click(reset, None, reset_outputs, queue=False, cancels=[asking], **private)
        chat.clear(reset, None, reset_outputs, queue=False, cancels=[asking], **private)  # the chat's own trash button
        gr.api(page.api_ask, api_name="ask")
    return demo


def start(config: Config, host: str = "127.0.0.1", port: int = 7860, pipeline=None,
          feedback_path: Path | str | None = None, quiet: bool = False) -> gr.Blocks:
    """Check access, load once, launch without blocking; returns the running app."""
    pairs = access.credentials()
    access.check(host, pairs)  # before anything slow or any socket
    if pipeline is None:
        from qa.pipeline import Pipeline

        # The chat page is the main job: rather than refuse, bring a missing or stale index up to date.
        pipeline = Pipeline.load(config, build_missing=True, progress=True)
    path = Path(feedback_path) if feedback_path else feedback.default_path(config)
    demo = build_app(pipeline, config, path)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            auth=pairs or None,
            auth_message="資料QA：ユーザー名とパスワードを入力してください。",
            prevent_thread_lock=True,
            show_error=False,
            quiet=quiet,
            share=False,
            inbrowser=False,
            ssr_mode=False,
            pwa=False,
            mcp_server=False,
            enable_monitoring=False,
            run_history=False,
            footer_links=["api"],
            theme=theme(),
            css=CSS,
        )
    except OSError as exc:
        demo.close()
        raise QAError(f"cannot serve on {host}:{port} ({exc}); stop the other server or pass another --port") from None
    log.info("chat page on http://%s:%d (feedback log: %s)", host if ":" not in host else f"[{host}]", port, path)
    return demo


def serve(config: Config, host: str = "127.0.0.1", port: int = 7860, pipeline=None) -> int:
    """Serve the chat page until interrupted; the exit status for `qa serve`."""
    demo = start(config, host, port, pipeline)
    try:
        demo.block_thread()
    finally:
        demo.close()
    return 0
