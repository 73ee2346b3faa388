"""What the chat page's events do, kept apart from the layout (app.py).

The conversation is a list of turns kept in the browser (see conversation.py); every
event gets it, and the chat is drawn from it. A question is read in the light of the
previous one (qa.followup) and the reading is shown with the answer.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path

import gradio as gr

from qa.config import Config
from qa.errors import InputError
from qa.followup import read_followup
from qa.results import Answer

from . import conversation, feedback, render

log = logging.getLogger("qa.ui")

# The browser stops taking more at this length: Gradio's textbox slows down
# quadratically with its length (a 100,000-character paste froze the tab ~15 s).
INPUT_LIMIT = 10_000
STALE_NOTICE = "資料が更新されています。索引を作り直す（qa index）まで、回答は更新前の資料に基づきます。"


class ChatPage:
    def __init__(self, pipeline, config: Config, feedback_path: Path):
        self.pipeline, self.config, self.feedback_path = pipeline, config, Path(feedback_path)
        # Answers are computed one at a time: the model's fast tokenizer is not safe to
        # call from several threads at once ("Already borrowed"), and one answer takes
        # tens of milliseconds. The queue still serves several requests around them.
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        """The longest question accepted, in characters."""
        return self.config.retrieval.max_query_chars

    @property
    def doc_titles(self) -> dict[str, str]:
        return self.pipeline.doc_titles()

    def ask(self, question: str, docs=None, previous: str | None = None) -> Answer:
        """The answer to `question` (read with `previous`, the question before it);
        `docs` limits it to those documents (None or all of them: no limit). A question
        past the limit is refused before anything else is done."""
        question = _utf8(question)
        check_length(question, self.limit)
        reading = read_followup(question, _utf8(previous) if previous else None)
        self.pipeline.refresh(background=True)
        titles = self.doc_titles
        docs = [d for d in docs or [] if d in titles]
        limit = docs if docs and len(docs) < len(titles) else None
        with self._lock:
            answer = self.pipeline.ask(reading.question, docs=limit)
        if reading.rewritten:
            notice = "\n".join(filter(None, [reading.note, answer.notice]))
            answer = dataclasses.replace(answer, question=question, notice=notice, reading=reading.question)
        if self.pipeline.corpus_ahead():
            notice = "\n".join(filter(None, [answer.notice, STALE_NOTICE]))
            answer = dataclasses.replace(answer, notice=notice)
        return answer

    # -- the API endpoint ------------------------------------------------------------

    def api_ask(self, question: str, previous: str = "") -> dict:
        """Answer a question about the deck: quoted answer, abstained flag, citations (slide numbers).
        `previous`: the question asked just before, for a follow-up such as 「それはいつからですか？」."""
        if not isinstance(question, str):
            return _api_error("", "the question must be text")
        try:
            check_length(question, self.limit)
            if previous and not isinstance(previous, str):
                raise InputError("the previous question must be text")
            if previous:
                check_length(previous, self.limit, what="previous question")
            answer = self.ask(question, previous=previous or None)
        except InputError as exc:
            return _api_error(question, str(exc))
        except Exception:
            log.exception("the /ask endpoint failed")
            return _api_error(question, "internal error; see the server log")
        out = answer.to_dict()
        out.update({"question": _utf8(question), "reading": answer.reading, "notice": answer.notice})
        return out

    # -- chat events -----------------------------------------------------------------

    # One generator per question: the question shows at once, the answer follows. All
    # ways of asking are one event (see app.py), so questions never overlap within a
    # page. Outputs: chat, conversation, slide, feedback box.

    def submit(self, text, saved, docs=None):
        """The question from the textbox: show it, answer it, keep it."""
        text = text if isinstance(text, str) else ""
        if not render.clean(text).strip():  # nothing to ask: ignore quietly, touch nothing
            yield (gr.skip(),) * 4
            return
        turns = conversation.checked(saved)
        capped = len(text) >= INPUT_LIMIT
        pending = self.history(turns) + [
            {"role": "user", "content": render.question_html(text[: render.QUESTION_PREVIEW + 1], len(text), capped)}
        ]
        yield pending, gr.skip(), gr.skip(), gr.skip()
        turns = conversation.appended(turns, self.turn(text, turns, docs))
        # a new answer also closes the comment box of an earlier rating
        yield self.history(turns), turns, render.SLIDE_PLACEHOLDER, gr.update(visible=False)

    def turn(self, question: str, turns: list[dict], docs=None) -> dict:
        """The conversation's next turn: the answer, or why there is none."""
        try:
            answer = self.ask(question, docs, conversation.previous_question(turns))
            return conversation.answer_turn(_utf8(question), answer)
        except InputError as exc:
            return conversation.error_turn(_utf8(question), str(exc))
        except Exception:
            log.exception("answering failed for a question of %d characters", len(question))
            return conversation.error_turn(_utf8(question), "", kind="failure")

    def history(self, turns: list[dict]) -> list[dict]:
        """The chat's messages for the conversation: a question and a reply per turn."""
        titles = self.doc_titles
        messages = []
        for i, turn in enumerate(turns):
            capped = turn.get("chars", 0) >= INPUT_LIMIT
            messages.append({"role": "user", "content": render.question_html(turn["question"], turn.get("chars"), capped)})
            answer = conversation.answer_of(turn)
            if answer is not None:
                reply = render.answer_html(answer, i, titles)
            elif turn.get("kind") == "failure":
                reply = render.failure_html(i)
            else:
                reply = render.input_error_html(turn.get("error", ""), i, capped)
            messages.append({"role": "assistant", "content": reply})
        return messages

    def restore(self, saved):
        """On page load: the chat for the conversation this browser kept. Nothing kept:
        nothing to draw (a late reply then cannot wipe a question asked meanwhile)."""
        turns = conversation.checked(saved)
        return self.history(turns) if turns else gr.skip()

    def open_source(self, target, saved):
        """The slide of source n of turn i (`target` is "i:n", from a click on [n])."""
        try:
            i, n = (int(x) for x in str(target).split(":"))
            turns = conversation.checked(saved)
            answer = conversation.answer_of(turns[i]) if 0 <= i < len(turns) else None
            passage = next(p for p in answer.citations if p.rank == n) if answer else None
        except (ValueError, StopIteration):
            passage = None
        if passage is None:
            return render.SLIDE_PLACEHOLDER
        text = render.slide_text(self.pipeline.store, passage.doc_id, passage.slide)
        return render.slide_html(passage, text, render.answer_pieces(answer).get(n, []))

    def export(self, saved) -> str:
        """The conversation as Markdown, for the page's script to save as a file."""
        return conversation.markdown(conversation.checked(saved), self.doc_titles)

    def rate(self, data: gr.LikeData, saved):
        """A 👍/👎 (or its withdrawal) on an answer goes to the feedback log."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turns = conversation.checked(saved)
        turn = _answered(turns, index)
        if turn is None:  # e.g. a rating on an error note: nothing to record
            return None, gr.update(visible=False), ""
        rating = "up" if data.liked is True else "down" if data.liked is False else "none"
        self._log(feedback.make_record(turn["question"], turn["answer"], rating))
        if rating == "none":
            return None, gr.update(visible=False), ""
        rated = {"index": index, "rating": rating}
        thanks = "ご評価ありがとうございます。よろしければ理由をお聞かせください（任意）。"
        return rated, gr.update(visible=True), thanks

    def comment(self, text, rated, saved):
        text = render.clean(text or "").strip()
        turn = _answered(conversation.checked(saved), (rated or {}).get("index"))
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


def check_length(text: str, limit: int, what: str = "question") -> None:
    """InputError for text past the limit, worded as the retriever words it."""
    if len(text) > limit:
        raise InputError(
            f"the {what} is {len(text):,} characters long; the limit is {limit:,}. "
            "Ask about one thing at a time, in a sentence or two"
        )


def _answered(turns: list[dict], index) -> dict | None:
    """The answered turn behind chat message `index`, if any."""
    if not isinstance(index, int) or index < 0 or index % 2 == 0:  # even: a question
        return None
    i = conversation.turn_of_message(index)
    turn = turns[i] if i < len(turns) else None
    return turn if turn is not None and "answer" in turn else None


def _api_error(question: str, message: str) -> dict:
    shown = question if len(question) <= 200 else question[:200] + "…"  # never echo a huge paste back
    return {"question": _utf8(shown), "error": message, "abstained": True, "answer": "", "citations": []}


def _utf8(text: str) -> str:
    """Text with lone surrogates (which JSON and UTF-8 refuse) replaced."""
    return str(text).encode("utf-8", "replace").decode("utf-8")
