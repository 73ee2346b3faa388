import math

import pytest

from qa.eval import metrics

QRELS = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}}


@pytest.mark.parametrize(
    "run, metric, expected",
    [
        ({"q1": {"a": 2, "x": 1}, "q2": {"x": 2, "b": 1}}, "recall@1", 0.5),  # q1 hit, q2 miss
        ({"q1": {"a": 2, "x": 1}, "q2": {"x": 2, "b": 1}}, "recall@5", 0.75),  # q2 finds 1 of 2
        ({"q1": {"x": 2, "a": 1}, "q2": {"c": 3, "x": 2, "b": 1}}, "mrr@10", 0.75),  # (1/2 + 1) / 2
        ({"q1": {"a": 1}}, "recall@10", 0.5),  # q2 has no run: scores 0
    ],
)
def test_ranking_metrics_on_hand_computed_runs(run, metric, expected):
    assert metrics.ranking(QRELS, run, [metric])[metric] == pytest.approx(expected)


def test_ndcg_of_a_perfect_run_is_one():
    run = {"q1": {"a": 1}, "q2": {"b": 2, "c": 1}}
    assert metrics.ranking(QRELS, run, ["ndcg@10"])["ndcg@10"] == pytest.approx(1.0)


def test_compare_names_the_better_run():
    good = {"q1": {"a": 2}, "q2": {"b": 2, "c": 1}}
    bad = {"q1": {"x": 2, "a": 1}, "q2": {"x": 3, "y": 2, "b": 1}}
    out = metrics.compare(QRELS, {"good": good, "bad": bad}, "ndcg@10")
    assert out["best"] == "good" and out["second"] == "bad" and 0 <= out["p_value"] <= 1


@pytest.mark.parametrize(
    "answer, acceptable, ok",
    [
        ("開催場所：イタリア・ボローニャ", ["ボローニャ"], True),
        ("研究者の３０％以上が外国から", ["30%以上"], True),
        ("毎年約300名", ["約 300 名"], True),
        ("2024年7月", ["ボローニャ"], False),
    ],
)
def test_answer_correct_normalises(answer, acceptable, ok):
    assert metrics.answer_correct(answer, acceptable) is ok


def test_answer_text_is_the_short_answer_and_quotes_without_markers():
    from qa.results import Answer, Quote

    answer = Answer("q", False, (Quote("毎年約300名を派遣", 1), Quote("2024年7月", 2)), (), short_answer="約300名")
    assert answer.answer == "毎年約300名を派遣 [1]\n2024年7月 [2]"
    text = metrics.answer_text(answer)
    assert "[" not in text and "約300名" in text and "2024年7月" in text
    assert not metrics.answer_correct(metrics.answer_text(Answer("q", False, (Quote("x", 1),), ())), ["1"])


def test_char_f1():
    assert metrics.char_f1("ボローニャ", ["ボローニャ"]) == pytest.approx(1.0)
    assert metrics.char_f1("ab", ["ac"]) == pytest.approx(0.5)
    assert metrics.char_f1("xyz", ["ab"]) == 0.0


def test_abstention_precision_recall():
    rows = [
        {"answerable": False, "abstained": True},
        {"answerable": False, "abstained": False},
        {"answerable": True, "abstained": True},
        {"answerable": True, "abstained": False},
        {"answerable": True, "abstained": False},
        {"answerable": True, "abstained": False},
    ]
    out = metrics.abstention(rows)
    assert out["abstain_precision"] == pytest.approx(0.5)
    assert out["abstain_recall"] == pytest.approx(0.5)
    assert out["false_abstention"] == pytest.approx(0.25)
    assert math.isnan(metrics.abstention([{"answerable": True, "abstained": False}])["abstain_recall"])


def test_evidence_in_raw_or_shown_text():
    assert metrics.contains_evidence("化学\t中国 35.3%", "化学：【1位】中国 35.3%", ["中国 35.3%"])
    assert metrics.contains_evidence("**強化**する", "強化する", ["強化する"])
    assert not metrics.contains_evidence("abc", "abc", ["xyz"])
