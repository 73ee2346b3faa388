"""Append-only feedback log: one JSON object per line.

Many server threads (or processes) may rate answers at once, so each record goes to
the file as a single `os.write` of one encoded line, on a descriptor opened with
O_APPEND, while holding an exclusive `flock`. Lines never interleave or get lost.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from qa.config import Config

ENV_PATH = "QA_FEEDBACK"


def default_path(config: Config) -> Path:
    """`$QA_FEEDBACK`, else `<root>/feedback/feedback.jsonl`."""
    if os.environ.get(ENV_PATH):
        return Path(os.environ[ENV_PATH])
    return config.root / "feedback" / "feedback.jsonl"


def make_record(question: str, answer: dict, rating: str, comment: str = "", event: str = "rating") -> dict:
    """A log record for one rated answer; `answer` is `Answer.to_dict()`."""
    return {
        "time": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "event": event,  # "rating" when a thumb is clicked, "comment" when a comment follows it
        "rating": rating,  # "up" or "down"
        "comment": comment,
        "question": question,
        "answer": answer.get("answer", ""),
        "abstained": bool(answer.get("abstained", False)),
        "citations": [{"doc_id": c.get("doc_id"), "slide": c.get("slide")} for c in answer.get("citations", [])],
    }


def append(path: Path, record: dict) -> None:
    """Append `record` as one line; safe under concurrent writers."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Lone surrogates (possible in browser input) cannot be encoded; replace them.
    line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            written = os.write(fd, line)
            if written != len(line):  # a short write would break the one-line rule; say so
                raise OSError(f"short write to {path}: {written} of {len(line)} bytes")
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
