"""The conversation as the browser keeps it: a list of turns, plain JSON.

A turn is `{"question": str, "answer": {...}}` for an answer (the Answer's fields, so it
can be shown again after a reload) or `{"question": str, "error": str, "kind": "input" |
"failure"}` for a question that was refused or failed. The list lives in the browser's
localStorage (per browser, never on the server) and comes back with each event, so
everything read from it is checked: a turn that does not parse is dropped.

Also here: the conversation as Markdown (export) and one answer as plain text (copy).
"""

from __future__ import annotations

from datetime import datetime

from qa.results import Answer, Passage, Quote

MAX_TURNS = 40  # older turns are dropped: the list travels with every request
PREVIEW = 600  # characters of a refused over-long question that are kept


# -- turns <-> answers ---------------------------------------------------------------------


def answer_turn(question: str, answer: Answer) -> dict:
    data = answer.to_dict()
    data.update({"notice": answer.notice, "reading": answer.reading})
    return {"question": question, "answer": data}


def error_turn(question: str, message: str, kind: str = "input") -> dict:
    chars = len(question)
    turn = {"question": question[:PREVIEW], "error": message, "kind": kind}
    if chars > PREVIEW:
        turn["chars"] = chars
    return turn


def answer_of(turn: dict) -> Answer | None:
    """The Answer a turn holds, or None (an error turn, or data that does not parse)."""
    data = turn.get("answer") if isinstance(turn, dict) else None
    if not isinstance(data, dict):
        return None
    try:
        citations = tuple(_passage(c) for c in data.get("citations") or [])
        quotes = tuple(_quote(q) for q in data.get("quotes") or [])
        return Answer(
            question=str(data.get("question", turn.get("question", ""))),
            abstained=bool(data.get("abstained")),
            quotes=quotes,
            citations=citations,
            short_answer=str(data["short_answer"]) if data.get("short_answer") else None,
            confidence=min(1.0, max(0.0, float(data.get("confidence") or 0.0))),
            notice=str(data.get("notice") or ""),
            reading=str(data.get("reading") or ""),
        )
    except (TypeError, ValueError, KeyError):
        return None


def _passage(c: dict) -> Passage:
    return Passage(int(c["rank"]), float(c.get("score") or 0.0), str(c["doc_id"]), str(c.get("source") or ""),
                   int(c["slide"]), str(c.get("title") or ""), str(c.get("text") or ""),
                   int(c.get("start") or 0), int(c.get("end") or 0))


def _quote(q: dict) -> Quote:
    span = q.get("span")
    span = (int(span[0]), int(span[1])) if isinstance(span, (list, tuple)) and len(span) == 2 else None
    return Quote(str(q["text"]), int(q["citation"]), span, str(q.get("label") or ""))


def checked(turns) -> list[dict]:
    """The turns that parse, the last MAX_TURNS of them (the browser's data is not trusted)."""
    out = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
            continue
        if "answer" in turn and answer_of(turn) is not None:
            out.append({"question": turn["question"], "answer": turn["answer"]})
        elif isinstance(turn.get("error"), str):
            kept = {k: turn[k] for k in ("question", "error", "kind", "chars") if k in turn}
            out.append(kept)
    return out[-MAX_TURNS:]


def appended(turns: list[dict], turn: dict) -> list[dict]:
    return (list(turns) + [turn])[-MAX_TURNS:]


def previous_question(turns: list[dict]) -> str | None:
    """The last question that was answered, as it was read (for a follow-up)."""
    for turn in reversed(turns):
        answer = answer_of(turn)
        if answer is not None:
            return answer.reading or turn["question"]
    return None


def turn_of_message(index: int) -> int:
    """The turn a chat message belongs to: messages go question, answer, question, …"""
    return index // 2


# -- plain text and Markdown ----------------------------------------------------------------


def plain_lines(answer: Answer) -> list[str]:
    """An answer as plain text lines, each citation written out:
    「…支援。 [1] p.12 国際頭脳循環への参画」."""
    by_rank = {p.rank: p for p in answer.citations}
    lines = [answer.notice] if answer.notice else []
    if answer.abstained:
        lines.append(answer.answer)
        if answer.citations:
            lines.append("関連する箇所：")
            lines += [f"[{p.rank}] p.{p.slide} {p.title}" for p in answer.citations]
        return lines
    if answer.short_answer:
        lines.append(answer.short_answer)
    for q in answer.quotes:
        source = by_rank.get(q.citation)
        where = f" p.{source.slide} {source.title}" if source else ""
        lines.append(f"{q.text} [{q.citation}]{where}")
    return lines


def markdown(turns: list[dict], doc_titles: dict[str, str] | None = None, now: datetime | None = None) -> str:
    """The conversation as Markdown: each question, its answer, and every citation with
    its slide, title and quoted passage."""
    now = now or datetime.now().astimezone()
    titles = doc_titles or {}
    out = [f"# 資料QA 会話の記録（{now:%Y-%m-%d %H:%M}）", ""]
    if titles:
        out += ["対象資料：" + "・".join(titles.values()), ""]
    for n, turn in enumerate(turns, start=1):
        out += [f"## 質問 {n}", "", _quoted(turn["question"]), ""]
        answer = answer_of(turn)
        if answer is None:
            out += ["**回答できませんでした**：" + _one_line(turn.get("error", "")), ""]
            continue
        if answer.notice:
            out += [f"*{_one_line(answer.notice)}*", ""]
        if answer.abstained:
            out += [f"**回答**：{answer.answer}", ""]
        else:
            out += [f"**回答**（確信度：{confidence_word(answer.confidence)}）", ""]
            if answer.short_answer:
                out += [f"**{_one_line(answer.short_answer)}**", ""]
            for q in answer.quotes:
                out += [_quoted(f"{q.text} [{q.citation}]"), ""]
        if answer.citations:
            out += ["**出典**" if not answer.abstained else "**関連する箇所**", ""]
            for p in answer.citations:
                doc = f"（{titles[p.doc_id]}）" if len(titles) > 1 and p.doc_id in titles else ""
                out += [f"{p.rank}. p.{p.slide} {_one_line(p.title)}{doc}", "", _quoted(p.text, indent="   "), ""]
    return "\n".join(out).rstrip() + "\n"


def confidence_word(confidence: float) -> str:
    """The answer's confidence for staff: 高 / 中 / 低."""
    return "高" if confidence >= 0.8 else "中" if confidence >= 0.5 else "低"


def _quoted(text: str, indent: str = "") -> str:
    return "\n".join(f"{indent}> {line}".rstrip() for line in str(text).splitlines() or [""])


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
