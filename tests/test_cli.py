"""The command line as outside scripts use it: JSON contract, batch mode, errors."""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, FakeEmbedder, make_project
from qa.cli import main
from qa.indexer import build_index

CONTRACT = {"rank", "score", "doc_id", "source", "slide", "title", "text", "start", "end"}


def run_qa(root, *args, stdin: bytes | None = None, timeout: int = 300):
    env = dict(os.environ, QA_ROOT=str(root), HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "qa", *args], env=env, input=stdin, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A project indexed with the real model (built once for this module)."""
    root = tmp_path_factory.mktemp("cli")
    make_project(root)
    done = run_qa(root, "index", "--quiet")
    assert done.returncode == 0, done.stderr.decode()
    return root


@pytest.mark.slow
def test_search_json_follows_the_contract(indexed):
    done = run_qa(indexed, "search", "WPIでは外国からの研究者を何%以上にする必要がありますか", "-k", "3", "--json")
    assert done.returncode == 0, done.stderr.decode()
    out = json.loads(done.stdout)
    assert out["query"].startswith("WPI") and len(out["hits"]) == 3
    hit = out["hits"][0]
    assert set(hit) == CONTRACT
    assert [h["rank"] for h in out["hits"]] == [1, 2, 3]
    assert 13 in [h["slide"] for h in out["hits"]]
    source = (indexed / hit["source"]).read_text(encoding="utf-8")
    assert source[hit["start"] : hit["end"]].strip()
    assert b"Traceback" not in done.stderr


@pytest.mark.slow
def test_batch_mode_reads_lines_and_keeps_order(indexed):
    lines = "SATREPSの実施国数は？\n\nG20研究・イノベーション大臣会合の開催場所は？\n😀😀\nHorizon Europeの予算規模は？\n"
    done = run_qa(indexed, "ask", "-", "--json", stdin=lines.encode())
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["question"] for r in rows] == ["SATREPSの実施国数は？", "G20研究・イノベーション大臣会合の開催場所は？", "😀😀", "Horizon Europeの予算規模は？"]
    assert "error" in rows[2] and rows[2]["citations"] == []
    assert set(rows[0]) == {"question", "answer", "abstained", "citations", "short_answer", "confidence", "quotes",
                            "reading", "notice"}
    assert 0.0 <= rows[0]["confidence"] <= 1.0
    assert all(set(q) == {"text", "citation", "span", "label"} for q in rows[0]["quotes"])
    assert all(set(c) == CONTRACT for c in rows[0]["citations"])
    assert "マナウス" in rows[1]["answer"]
    assert done.returncode == 2  # one line was bad input; the others were answered


@pytest.mark.slow
def test_ask_plain_output_lists_citations(indexed):
    done = run_qa(indexed, "ask", "2024年のG7科学技術大臣会合はどこで開催されましたか")
    text = done.stdout.decode()
    assert done.returncode == 0 and "ボローニャ" in text.splitlines()[0]
    assert "[1] p.20 G7 科学技術大臣会合" in text


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (["search", ""], None, "empty"),
        (["search", "   \t "], None, "empty"),
        (["ask", "。、！？"], None, "no words"),
        (["search", "-"], b"\xff\xfe bad bytes\n", "not UTF-8"),
        (["search", "x", "-k", "0"], None, "-k must be at least 1"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, args, stdin, message):
    done = run_qa(tmp_path, *args, stdin=stdin, timeout=60)
    assert done.returncode == 2
    err = done.stderr.decode()
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "index").exists()  # nothing written


def test_missing_index_says_how_to_build_it(tmp_path):
    make_project(tmp_path)
    done = run_qa(tmp_path, "search", "SATREPS", timeout=60)
    assert done.returncode == 1
    assert "run `qa index`" in done.stderr.decode() and b"Traceback" not in done.stderr


def test_edited_corpus_is_reported_and_nothing_changes(tmp_path, capsys):
    config = make_project(tmp_path)
    build_index(config, FakeEmbedder())
    deck = next(config.corpus_dir.glob("*.txt"))
    deck.write_text(deck.read_text(encoding="utf-8") + "\n追記\n", encoding="utf-8")
    before = sorted(p.name for p in config.index_dir.iterdir())
    assert main(["--root", str(tmp_path), "search", "SATREPS", "--json"]) == 1
    assert "changed after the index was built; run `qa index`" in capsys.readouterr().err
    assert sorted(p.name for p in config.index_dir.iterdir()) == before


def test_huge_query_is_refused_with_the_limit(tmp_path):
    make_project(tmp_path)
    done = run_qa(tmp_path, "search", "SATREPS " * 12_500, "--json", timeout=60)
    assert done.returncode == 2 and done.stdout == b""
    [line] = done.stderr.decode().splitlines()
    assert "99,999 characters long; the limit is 2,000" in line


def test_python_dash_m_qa_help():
    done = subprocess.run([sys.executable, "-m", "qa", "--help"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0 and "search" in done.stdout and "serve" in done.stdout


def test_cli_search_path_does_not_import_gradio():
    code = ("import sys, qa.cli, qa.answer, qa.retrieve, qa.store, qa.pipeline, qa.indexer; "
            "print('gradio' in sys.modules, 'ranx' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False False"


def test_plain_output_names_the_document_when_there_are_several():
    from qa.cli import _plain

    hit = {"rank": 1, "score": 0.5, "doc_id": "b", "slide": 3, "title": "予算", "text": "本文"}
    out = {"question": "q", "answer": "本文 [1]", "abstained": False, "citations": [hit]}
    assert "[1] p.3 予算" in _plain(out, "ask", {"b": "資料B"})
    assert "[1] 資料B p.3 予算" in _plain(out, "ask", {"a": "資料A", "b": "資料B"})


def test_plain_output_says_why_it_abstained():
    from qa.cli import _plain

    hit = {"rank": 1, "score": 0.5, "doc_id": "b", "slide": 3, "title": "予算", "text": "本文"}
    why = "質問は「何か国」を尋ねていますが、資料の該当しそうな箇所は「6つ」と別のものを数えています"
    out = {"question": "q", "answer": "資料には該当する記載が見つかりませんでした。", "abstained": True,
           "citations": [hit], "notice": why}
    assert [line for line in _plain(out, "ask").splitlines() if line][:3] == [out["answer"], why, "関連する箇所:"]


def test_plain_output_leads_with_the_short_answer():
    from qa.cli import _plain

    hit = {"rank": 1, "score": 0.5, "doc_id": "b", "slide": 3, "title": "派遣", "text": "毎年約300名を派遣"}
    out = {"question": "q", "answer": "毎年約300名を派遣 [1]", "abstained": False, "citations": [hit],
           "short_answer": "約300名", "confidence": 0.9439}
    assert _plain(out, "ask").splitlines()[:2] == ["回答: 約300名  (確信度 0.94)", out["answer"]]
    assert _plain(dict(out, short_answer=None), "ask").splitlines()[0] == out["answer"]


def test_add_docs_remove_commands(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    memo = tmp_path / "memo.md"
    memo.write_text("# 会議\n開催地は札幌。\n", encoding="utf-8")
    root = ["--root", str(tmp_path)]
    assert main(root + ["add", str(memo), str(tmp_path / "missing.pdf")]) == 2  # one bad path
    out, err = capsys.readouterr()
    assert "added" in out and "qa index" in out and "qa: error:" in err and "does not exist" in err
    assert main(root + ["docs", "--json"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    assert doc["title"] == "会議" and doc["index_state"] == "missing"
    assert main(root + ["remove", doc["doc_id"]]) == 0
    assert main(root + ["remove", doc["doc_id"]]) == 2
    assert "qa docs" in capsys.readouterr().err
