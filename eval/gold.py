"""The gold set: load it and check every line before any scoring starts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from qa.corpus import Document, split_slides
from qa.errors import InputError
from qa.retrieve import prepare_query

KINDS = ("number", "date", "name", "table", "paraphrase", "multi", "english", "unanswerable")
_FIELDS = {
    "id": str,
    "question": str,
    "answers": list,
    "evidence": list,
    "slides": list,
    "kind": str,
    "answerable": bool,
    "split": str,
}


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    slides: tuple[int, ...]
    kind: str
    answerable: bool
    split: str


def load_gold(path: Path, docs: list[Document]) -> list[Item]:
    """Items of a gold JSONL file; InputError naming the line of the first problem."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read gold file {path}: {exc.strerror}") from exc
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    slide_count = max((len(split_slides(d.text)) for d in docs), default=0)
    items, seen = [], {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as exc:
            reason = getattr(exc, "msg", None) or str(exc)[:120]
            raise InputError(f"{where}: not valid JSON ({reason}); fix that line") from None
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected a JSON object")
        for field, kind in _FIELDS.items():
            if field not in row:
                raise InputError(f"{where}: missing field {field!r}")
            if not isinstance(row[field], kind):
                raise InputError(f"{where}: field {field!r} must be a {kind.__name__}")
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id {row['id']!r} (first on line {seen[row['id']]})")
        seen[row["id"]] = number
        if row["kind"] not in KINDS:
            raise InputError(f"{where}: unknown kind {row['kind']!r}; use one of {', '.join(KINDS)}")
        if row["split"] not in ("dev", "test"):
            raise InputError(f"{where}: split must be 'dev' or 'test'")
        try:
            prepare_query(row["question"], 10**9)
        except InputError as exc:
            raise InputError(f"{where}: unusable question ({exc})") from None
        for ev in row["evidence"]:
            if not isinstance(ev, str) or not ev.strip():
                raise InputError(f"{where}: evidence must be non-empty strings")
            if not any(ev in d.text for d in docs):
                shown = ev if len(ev) <= 60 else ev[:60] + "…"
                raise InputError(f"{where}: evidence {shown!r} does not occur in the corpus; copy it exactly")
        for s in row["slides"]:
            if not isinstance(s, int) or not 1 <= s <= slide_count:
                raise InputError(f"{where}: slide {s!r} does not exist (the corpus has slides 1-{slide_count})")
        if row["answerable"] and not (row["answers"] and row["evidence"]):
            raise InputError(f"{where}: an answerable item needs answers and evidence")
        items.append(
            Item(row["id"], row["question"], tuple(row["answers"]), tuple(row["evidence"]),
                 tuple(row["slides"]), row["kind"], row["answerable"], row["split"])
        )
    if not items:
        raise InputError(f"{path} has no items")
    return items
