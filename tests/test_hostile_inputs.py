"""One sweep of hostile inputs through every entry point.

Each input goes through the Python API (Retriever.search, Answerer.ask), the CLI in
process (`search` and `ask`, one query and `-` batch mode), and the gold loader. Every
call must give a clear result or a clear error (a QAError in the API; exit 2 with one
`qa: error:` line and no traceback in the CLI), finish in bounded time, and write
nothing to the project folder. Edge cases it found are pinned at the end.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from conftest import REPO, FakeEmbedder, make_project
from qa import cli
from qa.corpus import load_corpus
from qa.errors import InputError, QAError
from qa.eval.gold import load_gold
from qa.indexer import build_index
from qa.results import NOT_FOUND, Answer, Passage
from qa.retrieve import prepare_query

LIMIT_S = 10.0  # per call, with the fake embedder
MAX_CHARS = 2000  # RetrievalSettings.max_query_chars

# (input, whether it holds a usable question)
HOSTILE = [
    pytest.param("", False, id="empty"),
    pytest.param(" \t\n\u3000 \r\n", False, id="whitespace"),
    pytest.param(("WPIの外国人研究者の比率は？" * 8000)[:100_000], False, id="100k-chars"),
    pytest.param("WPI\x00の外国人\x07研究者\x1b[31mの比率\x7fは\x85？", True, id="nul-and-controls"),
    pytest.param("\x00\x01\x02\x1b\x1f\x7f\x9f", False, id="controls-only"),
    pytest.param("\ud800", False, id="lone-surrogate"),
    pytest.param("😀🎉👍🏽", False, id="emoji-only"),
    pytest.param("ما هي نسبة الباحثين الأجانب؟", True, id="arabic-rtl"),
    pytest.param("מהו שיעור החוקרים הזרים?", True, id="hebrew-rtl"),
    pytest.param("\u202eSATREPS\u202c の分野", True, id="bidi-override"),
    pytest.param("<script>alert(1)</script>", True, id="script-tag"),
    pytest.param("あ" * 50_000, False, id="50k-kana-token"),
    pytest.param("A" * 50_000, False, id="50k-ascii-token"),
    pytest.param("SATREPS " * 250, True, id="2000-chars"),
    pytest.param("ＳＡＴＲＥＰＳ", True, id="fullwidth-upper"),
    pytest.param("ｓａｔｒｅｐｓ", True, id="fullwidth-lower"),
    pytest.param("ｸﾞﾛｰﾊﾞﾙ･ｻｳｽとの協力", True, id="halfwidth-kana"),
]


def snapshot(root: Path) -> dict[str, int]:
    """Every path under `root` with its modification time (folders too, so a file
    created and removed again still shows)."""
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def timed(call):
    started = time.perf_counter()
    result = call()
    elapsed = time.perf_counter() - started
    assert elapsed < LIMIT_S, f"took {elapsed:.1f} s"
    return result


def one_clear_line(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message


# --- the Python API -------------------------------------------------------------------


@pytest.mark.parametrize("text, usable", HOSTILE)
def test_api(fake_answerer, text, usable):
    root = fake_answerer.config.root
    before = snapshot(root)
    retriever = fake_answerer.retriever
    slides = {c.slide for d in retriever.store.documents() for c in retriever.store.doc_chunks(d["doc_id"])}
    if not usable:
        for call in (lambda: retriever.search(text, k=5), lambda: fake_answerer.ask(text)):
            with pytest.raises(InputError) as info:
                timed(call)
            one_clear_line(str(info.value))
    else:
        hits = timed(lambda: retriever.search(text, k=5))
        assert all(isinstance(h, Passage) for h in hits)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1)) and 1 <= len(hits) <= 5
        assert all(h.slide in slides and h.text for h in hits)
        answer = timed(lambda: fake_answerer.ask(text))
        assert isinstance(answer, Answer) and answer.question == text
        assert (answer.answer == NOT_FOUND) if answer.abstained else answer.answer.endswith("]")
        assert all(c.slide in slides for c in answer.citations)
        assert 0.0 <= answer.confidence <= 1.0
    assert snapshot(root) == before


@pytest.mark.parametrize("query", ["ＳＡＴＲＥＰＳ", "ｓａｔｒｅｐｓ", "SATREPS", "satreps"])
def test_width_and_case_variants_find_the_satreps_slide_by_bm25(fake_answerer, query):
    [top] = fake_answerer.retriever.search(query, k=1, mode="bm25")
    assert top.slide == 16


def test_halfwidth_katakana_searches_like_its_fullwidth_form(fake_answerer):
    r = fake_answerer.retriever
    half = "ｸﾞﾛｰﾊﾞﾙ･ｻｳｽとの協力"
    assert r.search(half, k=5, mode="bm25") == r.search(unicodedata.normalize("NFKC", half), k=5, mode="bm25")


# --- the CLI, in process ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_root(tmp_path_factory) -> Path:
    config = make_project(tmp_path_factory.mktemp("cli"))
    build_index(config, FakeEmbedder())
    return config.root


@pytest.fixture
def fake_model(monkeypatch):
    """The CLI loads the real model; give it the fake one the index was built with."""
    monkeypatch.setattr("qa.embed.load_embedder", lambda config: FakeEmbedder())


def run_cli(argv, capsys):
    code = timed(lambda: cli.main(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert all(line.startswith("qa: ") for line in err.splitlines()), err
    return code, out, err


@pytest.mark.parametrize("command", ["search", "ask"])
@pytest.mark.parametrize("text, usable", HOSTILE)
def test_cli(cli_root, fake_model, capsys, command, text, usable):
    before = snapshot(cli_root)
    code, out, err = run_cli(["--root", str(cli_root), command, text, "--json"], capsys)
    if usable:
        assert code == 0, err
        [line] = out.rstrip("\n").split("\n")  # not splitlines(): JSON keeps U+0085 raw
        result = json.loads(line)
        assert result["query" if command == "search" else "question"] == text
        assert result["hits" if command == "search" else "citations"] or result.get("abstained")
    else:
        assert code == 2 and out == ""
        [line] = err.splitlines()
        assert line.startswith("qa: error: ")
    assert snapshot(cli_root) == before


def test_cli_batch_mode_answers_every_line(cli_root, fake_model, capsys, monkeypatch):
    """`qa search -` with all hostile lines at once: a JSON line per non-blank input
    line, errors inline, exit 2 because some lines are unusable."""
    # Unicode line breaks other than \n are left out: see test_cli_batch_splits_only_at_newlines.
    texts = [_EXOTIC_BREAKS.sub(" ", p.values[0]) for p in HOSTILE if "\ud800" not in p.values[0]]
    data = "\n".join(texts).encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    before = snapshot(cli_root)
    code, out, err = run_cli(["--root", str(cli_root), "search", "-", "--json"], capsys)
    lines = [line for line in "\n".join(texts).replace("\r\n", "\n").split("\n") if line.strip()]
    results = [json.loads(line) for line in out.rstrip("\n").split("\n")]
    assert [r["query"] for r in results] == lines
    for r in results:
        assert ("error" in r) != bool(r["hits"])
        assert ("error" in r) == (not _usable(r["query"]))
    assert code == 2
    assert snapshot(cli_root) == before


_EXOTIC_BREAKS = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _usable(text: str) -> bool:
    try:
        prepare_query(text, MAX_CHARS)
    except InputError:
        return False
    return True


def test_cli_batch_rejects_invalid_utf8_before_loading_a_model(cli_root):
    """A real process: bad bytes on standard input end it with exit 2, before any model."""
    before = snapshot(cli_root)
    proc = subprocess.run(
        [sys.executable, "-m", "qa", "--root", str(cli_root), "--model", "/nonexistent/model", "search", "-", "--json"],
        input=b"SATREPS\n\xff\xfe\xfd WPI\n\xed\xa0\x80\n",
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == b""
    [line] = proc.stderr.decode("utf-8").splitlines()
    assert line.startswith("qa: error: standard input is not UTF-8 text (bad byte on line 2)")
    assert snapshot(cli_root) == before


# --- the gold loader ------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs():
    return load_corpus(REPO / "corpus", REPO)


def gold_row(**fields) -> dict:
    row = {"id": "h1", "question": "SATREPSの対象は？", "answers": ["開発途上国"], "evidence": ["開発途上国"],
           "slides": [16], "kind": "name", "answerable": True, "split": "dev"}
    row.update(fields)
    return row


def write_gold(path: Path, rows) -> Path:
    # ensure_ascii keeps lone surrogates writable (as \\ud800 escapes)
    path.write_text("".join(json.dumps(r, ensure_ascii=True) + "\n" for r in rows), encoding="utf-8")
    return path


def load_or_error(path, docs):
    before = snapshot(path.parent)
    try:
        items = timed(lambda: load_gold(path, docs))
    except QAError as exc:
        assert isinstance(exc, InputError)
        one_clear_line(str(exc))
        assert str(path) in str(exc), "the error names the file"
        items = None
    assert snapshot(path.parent) == before
    return items


@pytest.mark.parametrize("text, usable", HOSTILE)
def test_gold_question_field(tmp_path, docs, text, usable):
    items = load_or_error(write_gold(tmp_path / "gold.jsonl", [gold_row(question=text)]), docs)
    try:
        prepare_query(text, 10**9)
        askable = True
    except InputError:
        askable = False
    assert (items is not None) == askable  # the gold set holds only questions the system takes
    if askable:
        assert items[0].question == text


@pytest.mark.parametrize("text, usable", HOSTILE)
def test_gold_evidence_field(tmp_path, docs, text, usable):
    items = load_or_error(write_gold(tmp_path / "gold.jsonl", [gold_row(evidence=[text])]), docs)
    assert (items is not None) == (bool(text.strip()) and any(text in d.text for d in docs))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes(range(256)) * 8, id="all-bytes"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), id="png-header"),
        pytest.param("\x00\x01{[}\u202e😀\n<script>".encode("utf-8"), id="utf8-junk"),
        pytest.param(b"\xef\xbb\xbf" + json.dumps(gold_row()).encode("utf-8") + b"\n", id="bom"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\n \n\t\n", id="blank-lines"),
        pytest.param(b"[1, 2]\n", id="not-an-object"),
        pytest.param(b'{"id": 1}\n', id="wrong-types"),
    ],
)
def test_gold_junk_files(tmp_path, docs, data):
    path = tmp_path / "gold.jsonl"
    path.write_bytes(data)
    assert load_or_error(path, docs) is None


# --- edge cases found by this sweep, now fixed -----------------------------------------


@pytest.mark.parametrize("command", ["search", "ask"])
def test_cli_echoes_a_surrogate_it_cannot_print(cli_root, fake_model, capsys, command):
    # What a shell passes for `qa search $'SATREPS\xff'`: argv is decoded with surrogateescape.
    text = "SATREPS\udcff"
    code, out, err = run_cli(["--root", str(cli_root), command, text, "--json"], capsys)
    assert code in (0, 2)


def test_cli_batch_splits_only_at_newlines(cli_root, fake_model, capsys, monkeypatch):
    data = "SATREPSの\u2028対象分野は？\nWPIの\x0c比率は？\n".encode("utf-8")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code, out, err = run_cli(["--root", str(cli_root), "search", "-", "--json"], capsys)
    assert len(out.rstrip("\n").split("\n")) == 2  # one JSON line per input line


@pytest.mark.parametrize(
    "line", [pytest.param("[" * 100_000, id="deep-nesting"), pytest.param("9" * 5000, id="5000-digit-int")]
)
def test_gold_json_that_the_parser_refuses_differently(tmp_path, docs, line):
    path = tmp_path / "gold.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_gold(path, docs)


def test_cli_eval_with_deeply_nested_gold(cli_root, tmp_path, fake_model, capsys):
    path = tmp_path / "gold.jsonl"
    path.write_text("[" * 100_000 + "\n", encoding="utf-8")
    code, out, err = run_cli(["--root", str(cli_root), "eval", "--gold", str(path)], capsys)
    assert code == 2


@pytest.mark.parametrize("text", ["\x00\x01", "😀🎉", "\ud800"])
def test_gold_refuses_questions_the_system_refuses(tmp_path, docs, text):
    path = write_gold(tmp_path / "gold.jsonl", [gold_row(question=text)])
    with pytest.raises(InputError):
        load_gold(path, docs)


def test_gold_refuses_empty_evidence(tmp_path, docs):
    path = write_gold(tmp_path / "gold.jsonl", [gold_row(evidence=[""])])
    with pytest.raises(InputError):
        load_gold(path, docs)


def test_gold_error_for_huge_evidence_is_short(tmp_path, docs):
    path = write_gold(tmp_path / "gold.jsonl", [gold_row(evidence=["無" * 100_000])])
    with pytest.raises(InputError) as info:
        load_gold(path, docs)
    assert len(str(info.value)) < 1000
