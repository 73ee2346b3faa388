"""The chat page: ask about the deck, read the quoted answer and its sources, open a
whole slide, rate answers, keep and export the conversation. Also the `/ask` API
endpoint for gradio_client users.

    from qa.ui.app import serve
    serve(Config())                      # http://127.0.0.1:7860, blocks until Ctrl-C

The model and the index are loaded once at start (the index is built first if there
is none); every request then only asks the pipeline, which switches to a newer build
in the background when `qa index` made one. What each event does is in chat.py; what
the server lets in is in guard.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from qa.config import Config  # noqa: E402
from qa.errors import QAError  # noqa: E402

from . import access, feedback, login, render, scripts  # noqa: E402
from .chat import INPUT_LIMIT, ChatPage  # noqa: E402
from .guard import MAX_BODY, Guard  # noqa: E402
from .style import CSS, HEADER, LOGOUT, theme  # noqa: E402
from .throttle import LoginThrottle  # noqa: E402

log = logging.getLogger("qa.ui")

CONCURRENCY = 4  # requests the queue runs at once
STORAGE_KEY = "qa-conversation-v1"  # the browser's localStorage key for the conversation
# Not a secret: Gradio encrypts browser state with it; a fixed value keeps the
# conversation readable across server restarts.
STORAGE_SECRET = "qa-conversation"
EXAMPLES = (
    "WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？",
    "海外特別研究員事業で毎年何名の若手研究者を派遣していますか？",
    "2024年のG7科学技術大臣会合はどこで開催されましたか？",
    "Horizon Europeの予算規模は？",
)
__all__ = ["ChatPage", "build_app", "start", "serve"]


def build_app(pipeline, config: Config, feedback_path: Path | str, login_required: bool = False) -> gr.Blocks:
    """The page's layout and events (launch it with `start`, which adds theme, CSS and script)."""
    page = ChatPage(pipeline, config, Path(feedback_path))
    titles = list(pipeline.doc_titles().values())
    private = {"api_visibility": "private"}
    with gr.Blocks(title="資料QA｜" + "・".join(titles or ["資料"]), analytics_enabled=False) as demo:
        saved = gr.BrowserState([], storage_key=STORAGE_KEY, secret=STORAGE_SECRET)  # the conversation
        rated = gr.State(None)  # the latest rating, for a follow-up comment
        target = gr.Textbox(visible=False)  # "turn:n" of a source to open, from the page script
        exported = gr.Textbox(visible=False)  # the conversation as Markdown, for the page script

        gr.HTML(
            HEADER.format(titles="・".join(render.esc(t) for t in titles) or "資料", logout=LOGOUT if login_required else ""),
            elem_id="qa-header",
        )
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, min_width=360, elem_id="qa-left"):
                chat = gr.Chatbot(
                    elem_id="qa-chat",
                    show_label=False,
                    height="62vh",
                    min_height=360,
                    autoscroll=False,  # the page script keeps the new answer's top in view
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    line_breaks=False,
                    buttons=[],  # no copy-the-HTML button: each answer has its own コピー
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
                        placeholder="資料について質問を入力",
                        lines=1,
                        max_lines=6,
                        max_length=INPUT_LIMIT,
                        scale=6,
                        elem_id="qa-input",
                        autofocus=True,
                    )
                    send = gr.Button("質問する", variant="primary", scale=1, min_width=96, elem_id="qa-send")
                gr.HTML("<div class='qa-limit-text' aria-live='polite'></div>", elem_id="qa-limit")
                with gr.Row(elem_id="qa-tools"):
                    clear = gr.Button("会話をクリア", size="sm", variant="secondary", elem_id="qa-clear")
                    export = gr.Button("会話を保存（Markdown）", size="sm", variant="secondary", elem_id="qa-export")
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
                with gr.Column(elem_id="qa-slide-box"):
                    gr.HTML("<div class='qa-side-title'>スライド全文</div>")
                    slide = gr.HTML(render.SLIDE_PLACEHOLDER, elem_id="qa-slide")
        open_button = gr.Button("出典を開く", elem_id="qa-open-btn", elem_classes="qa-hidden")

        # One event for asking; always_last: a question sent while another is being
        # answered runs after it, with the conversation as it is then.
        asking = gr.on(
            [box.submit, send.click],
            page.submit,
            [box, saved, doc_filter],
            [chat, saved, slide, feedback_box],
            js=scripts.take_question(page.limit),
            trigger_mode="always_last",
            **private,
        )
        for button, question in zip(example_buttons, EXAMPLES):
            button.click(None, js=scripts.ask_example(question), **private)
        open_button.click(page.open_source, [target, saved], slide, js=scripts.OPEN_TARGET, queue=False,
                          **private).then(None, js=scripts.SHOW_SLIDE, queue=False, **private)
        chat.like(page.rate, [saved], [rated, feedback_box, thanks], queue=False, **private)
        remark_send.click(page.comment, [remark, rated, saved], [remark, thanks], queue=False, **private)
        remark.submit(page.comment, [remark, rated, saved], [remark, thanks], queue=False, **private)
        reset = lambda: ([], [], render.SLIDE_PLACEHOLDER, None, gr.update(visible=False), "")  # noqa: E731
        reset_outputs = [chat, saved, slide, rated, feedback_box, box]
        clear.click(reset, None, reset_outputs, queue=False, cancels=[asking], **private)
        chat.clear(reset, None, reset_outputs, queue=False, cancels=[asking], **private)  # the chat's own trash button
        export.click(page.export, [saved], [exported], queue=False, **private).then(
            None, [exported], None, js=scripts.DOWNLOAD, queue=False, **private
        )
        demo.load(page.restore, [saved], [chat], queue=False, **private)
        demo.load(None, js=scripts.READY, queue=False, **private)
        gr.api(page.api_ask, api_name="ask")
    return demo


def start(config: Config, host: str = "127.0.0.1", port: int = 7860, pipeline=None,
          feedback_path: Path | str | None = None, quiet: bool = False,
          throttle: LoginThrottle | None = None, allowed_hosts: list[str] | None = None) -> gr.Blocks:
    """Check access, load once, launch without blocking; returns the running app.
    `allowed_hosts`: host names to answer besides loopback (default: QA_ALLOWED_HOSTS)."""
    pairs = access.credentials()
    access.check(host, pairs)  # before anything slow or any socket
    hosts = access.HostCheck(host, access.allowed_host_names() if allowed_hosts is None else allowed_hosts)
    if pipeline is None:
        from qa.pipeline import Pipeline

        # The chat page is the main job: rather than refuse, bring a missing or stale index up to date.
        pipeline = Pipeline.load(config, build_missing=True, progress=True)
    path = Path(feedback_path) if feedback_path else feedback.default_path(config)
    demo = build_app(pipeline, config, path, login_required=bool(pairs))
    demo.queue(default_concurrency_limit=CONCURRENCY)
    guard = Middleware(
        Guard,
        hosts=hosts,
        throttle=(throttle or LoginThrottle()) if pairs else None,
        login_page=login.page("資料QAを使うにはログインしてください。") if pairs else None,
        max_body=MAX_BODY,
    )
    try:
        demo.launch(
            server_name=host,
            server_port=port,
            auth=pairs or None,
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
            max_file_size="0b",  # no uploads (the guard closes the route too)
            app_kwargs={"middleware": [guard]},
            theme=theme(),
            css=CSS,
            js=scripts.page_script(config.retrieval.max_query_chars, INPUT_LIMIT),
        )
    except OSError as exc:
        demo.close()
        raise QAError(f"cannot serve on {host}:{port} ({exc}); stop the other server or pass another --port") from None
    if hosts.any_address and not hosts.names - {"localhost"}:
        log.warning("serving on all interfaces: only loopback names and IP addresses are accepted as host; "
                    "list this machine's host names in %s", access.ENV_HOSTS)
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
