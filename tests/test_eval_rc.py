"""Reading comprehension (eval/rc.py): paragraph reading, sentence choice, windows and
JaQuAD-style scoring, with the tiny random reader of reader_kit."""

from __future__ import annotations

import json
import os

import pytest

from qa import reader as R
from qa.eval import rc

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from reader_kit import tiny  # noqa: E402,F401  (fixture)


def test_read_paragraph_and_metrics(tiny):
    root, base, _, weights = tiny
    reader = R.Reader.load(weights, base=base)
    para = "海外特別研究員事業では毎年約300名を派遣している。ABC。\n何か"
    text, score = rc.read_paragraph("何名", "t", para, reader)
    assert isinstance(score, float) and text in para
    assert R.split_sentences("一。二！\n 三") == [(0, 2), (2, 4), (6, 7)]
    assert rc.exact_match("約300名", " 約300名。") == 1.0
    assert rc.char_f1("約300名", "300名") == pytest.approx(2 * 0.8 * 1 / 1.8)
    assert rc.char_f1("", "x") == 0.0


def test_sentence_pick_weighs_answerability_beside_span_score(monkeypatch):
    para = "一文目。二文目。"
    spans = [(0, 4), (4, 8)]
    readings = [R.Reading(score=-2.0, span=(0, 3), span_score=5.0), R.Reading(score=3.0, span=(0, 3), span_score=4.0)]
    monkeypatch.setattr(R, "ANSWERABILITY", 0.0)
    assert rc._pick("何", para, spans, readings, "span")[0] == "一文目"
    monkeypatch.setattr(R, "ANSWERABILITY", 0.35)  # 5.0 - 0.7 < 4.0 + 1.05
    assert rc._pick("何", para, spans, readings, "span")[0] == "二文目"
    assert rc._pick("何", para, spans, readings, "score")[0] == "二文目"


def test_paragraph_windows_hold_whole_sentences_that_fit(tiny):
    root, base, _, weights = tiny
    reader = R.Reader.load(weights, base=base)
    sentence = "海外特別研究員事業では毎年約300名を派遣している" * 3 + "。"  # 73 chars = 73 tokens
    para = sentence * 12
    windows = rc.paragraph_windows(reader, "何名", "t", para)
    sentences = R.split_sentences(para)
    bounds = {a for a, _ in sentences} | {b for _, b in sentences}
    assert all(a in bounds and b in bounds for a, b in windows)  # whole sentences only
    assert all(b - a <= R.PARA_LEN for a, b in windows) and max(b - a for a, b in windows) > len(sentence)
    assert windows[0][0] == 0 and windows[-1][1] == len(para)
    assert all(later[0] < earlier[1] for earlier, later in zip(windows, windows[1:]))  # overlapping, so none is cut off
    assert rc.paragraph_windows(reader, "何名", "t", "短い。") == [(0, 3)]
    text, _ = rc.read_paragraph("何名", "t", para, reader, select="whole")
    assert text in para


@pytest.mark.parametrize("select", ["span", "score", "whole"])
def test_eval_rc_scores_jaquad_style_files(tiny, tmp_path, select):
    root, base, _, weights = tiny
    reader = R.Reader.load(weights, base=base)
    ctx = "海外特別研究員事業では毎年約300名を派遣している。ABC。"
    qas = [{"id": str(i), "question": q, "answers": [{"text": a, "answer_start": ctx.index(a)}]}
           for i, (q, a) in enumerate([("何名", "約300名"), ("何", "ABC"), ("事業", "海外特別研究員事業")])]
    (tmp_path / "dev-000.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": ctx, "qas": qas}]}]}))
    got = rc.eval_rc(tmp_path, reader, progress=False, select=select)
    assert got["n"] == 3 and got["select"] == select and 0.0 <= got["em"] <= got["f1"] <= 1.0
    assert rc.eval_rc(tmp_path, reader, limit=1, progress=False, select=select)["n"] == 1
