"""The feedback log: one well-formed JSON line per record, even under concurrent writers."""

from __future__ import annotations

import json
import multiprocessing

from qa.config import Config
from qa.ui import feedback

PROCESSES, PER_PROCESS = 8, 50
# Longer than PIPE_BUF (4096 bytes), so a non-atomic writer would show torn lines.
LONG_COMMENT = "長いコメント" * 800


def _writer(path: str, worker: int, start) -> None:
    start.wait()  # all processes begin together
    answer = {"answer": "回答 [1]", "abstained": False, "citations": [{"doc_id": "deck", "slide": worker}]}
    for i in range(PER_PROCESS):
        record = feedback.make_record(f"質問 {worker}-{i}", answer, "up" if i % 2 else "down", LONG_COMMENT)
        record["worker"], record["i"] = worker, i
        feedback.append(path, record)


def test_concurrent_appends_give_one_whole_line_each(tmp_path):
    path = tmp_path / "fb" / "feedback.jsonl"
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(path), w, start)) for w in range(PROCESSES)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a newline
    records = [json.loads(line) for line in lines[:-1]]  # fails on any torn line
    assert len(records) == PROCESSES * PER_PROCESS
    assert {(r["worker"], r["i"]) for r in records} == {(w, i) for w in range(PROCESSES) for i in range(PER_PROCESS)}
    assert all(r["comment"] == LONG_COMMENT for r in records)


def test_record_fields():
    answer = {
        "question": "q",
        "answer": "外国人比率等：研究者の30%以上が外国からの研究者 [1]",
        "abstained": False,
        "citations": [{"rank": 1, "doc_id": "deck", "slide": 13, "text": "…", "score": 0.1}],
    }
    r = feedback.make_record("WPIの外国人比率は？", answer, "up", "良い回答")
    assert r["question"] == "WPIの外国人比率は？"
    assert r["answer"].startswith("外国人比率等")
    assert r["citations"] == [{"doc_id": "deck", "slide": 13}]
    assert (r["rating"], r["comment"], r["event"]) == ("up", "良い回答", "rating")
    assert r["time"][:2] == "20" and "T" in r["time"]


def test_unencodable_text_still_gives_a_valid_line(tmp_path):
    path = tmp_path / "feedback.jsonl"
    feedback.append(path, feedback.make_record("壊れた\ud800文字", {"answer": ""}, "down", "x\x00y"))
    (line,) = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["question"].startswith("壊れた") and record["rating"] == "down"


def test_default_path_and_env_override(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_FEEDBACK", raising=False)
    cfg = Config(root=tmp_path)
    assert feedback.default_path(cfg) == tmp_path / "feedback" / "feedback.jsonl"
    monkeypatch.setenv("QA_FEEDBACK", str(tmp_path / "elsewhere.jsonl"))
    assert feedback.default_path(cfg) == tmp_path / "elsewhere.jsonl"
