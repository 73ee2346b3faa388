import json
import subprocess
import sys

import pytest

from conftest import fake_pipeline_for
from qa.config import Config
from qa.eval.gold import load_gold
from qa.eval.report import write_outputs
from qa.eval.suite import SYSTEMS, run_suite
from qa.corpus import load_corpus

CORPUS = "# 会議\n開催場所：イタリア・ボローニャ。\n# 予算\nHorizon Europeは955億ユーロ規模。\n# 人材\n海外特別研究員は毎年約300名を派遣。\n"
GOLD = [
    {"id": "a", "question": "会議の開催場所はボローニャ？", "answers": ["ボローニャ"], "evidence": ["イタリア・ボローニャ"],
     "slides": [1], "kind": "name", "answerable": True, "split": "test"},
    {"id": "b", "question": "Horizon Europeの規模", "answers": ["955億ユーロ"], "evidence": ["955億ユーロ規模"],
     "slides": [2], "kind": "number", "answerable": True, "split": "test"},
    {"id": "c", "question": "火星の人口は何人ですか", "answers": [], "evidence": [], "slides": [],
     "kind": "unanswerable", "answerable": False, "split": "test"},
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "mini.txt").write_text(CORPUS, encoding="utf-8")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "gold.jsonl").write_text("\n".join(json.dumps(g, ensure_ascii=False) for g in GOLD), encoding="utf-8")
    return Config(root=tmp_path)


def test_suite_scores_a_tiny_corpus_and_writes_everything(project):
    answerer = fake_pipeline_for(project)
    items = load_gold(project.root / "eval" / "gold.jsonl", load_corpus(project.corpus_dir, project.root))
    results = run_suite(answerer, items)
    assert list(results["systems"]) == [s for s in SYSTEMS if s != "reader"]  # no reader with a fake embedder
    bm25 = results["systems"]["bm25"]
    assert bm25["passage"]["recall@1"] == pytest.approx(1.0)  # each question names its slide's rare words
    assert bm25["slide"]["recall@1"] == pytest.approx(1.0)
    assert bm25["by_kind"]["name"]["n"] == 1
    again = run_suite(answerer, items)
    strip = lambda r: [{k: v for k, v in row.items() if k != "latency_ms"} for row in r["systems"]["full"]["rows"]]
    assert strip(again) == strip(results)  # deterministic apart from timings
    paths = write_outputs(results, project.root / "eval" / "results")
    assert [p.suffix for p in paths] == [".json", ".md", ".png"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = paths[1].read_text(encoding="utf-8")
    assert "| full " in report and "Failing questions" in report
    saved = json.loads(paths[0].read_text(encoding="utf-8"))
    assert saved["systems"]["hybrid"]["passage"]["recall@5"] == results["systems"]["hybrid"]["passage"]["recall@5"]


@pytest.mark.slow
def test_qa_eval_command_on_a_tiny_corpus(project):
    env = {"QA_ROOT": str(project.root), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    import os

    env["HOME"] = os.environ.get("HOME", "/root")
    if "QA_HOME" in os.environ:
        env["QA_HOME"] = os.environ["QA_HOME"]
    run = lambda *a: subprocess.run([sys.executable, "-m", "qa", *a], env=env, capture_output=True, text=True, timeout=600)
    built = run("index", "--quiet")
    assert built.returncode == 0, built.stderr
    done = run("eval", "--split", "test")
    assert done.returncode == 0, done.stderr
    assert "| full " in done.stdout
    outputs = sorted((project.root / "eval" / "results").iterdir())
    assert {p.suffix for p in outputs} == {".json", ".md", ".png"}
    bad = project.root / "eval" / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    refused = run("eval", "--gold", str(bad))
    assert refused.returncode == 2 and "line 1: missing field" in refused.stderr
