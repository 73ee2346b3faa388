"""Calibration helpers by hand-checkable values."""

import numpy as np
import pytest

from qa.eval.calibrate import platt, reliability, threshold


def test_platt_recovers_a_known_logistic():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, 4000)
    labels = (rng.random(4000) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))).astype(float)
    scale, shift = platt(logits, labels)
    assert scale == pytest.approx(0.5, abs=0.08) and shift == pytest.approx(-1.0, abs=0.15)


def test_platt_with_two_features():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 2, (6000, 2))
    labels = (rng.random(6000) < 1 / (1 + np.exp(-(1.0 * x[:, 0] - 0.5 * x[:, 1] + 0.3)))).astype(float)
    a, b, c = platt(x, labels)
    assert (a, b, c) == pytest.approx((1.0, -0.5, 0.3), abs=0.12)


def test_platt_stays_finite_on_separable_data():
    scale, shift = platt(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    assert np.isfinite(scale) and np.isfinite(shift) and scale > 0


def test_pick_weighs_the_reader_logit():
    from qa.eval.calibrate import pick

    reads = [(-3.0, 0.90, False, []), (0.0, 0.85, True, [])]  # (logit, score, right, features)
    assert pick(reads, 0.0) == reads[0] and pick(reads, 0.1) == reads[1] and pick([], 0.1) is None


@pytest.mark.parametrize(
    "probs, answerable, budget, abstains, expected",
    [
        ([0.1, 0.2, 0.8, 0.9], [False, False, True, True], 0.0, None, 0.5),  # every answerable kept, midway to 0.2
        ([0.1, 0.3, 0.2, 0.9], [False, True, False, True], 0.0, None, 0.25),
        ([0.1, 0.3, 0.2, 0.9], [False, True, False, True], 0.5, None, 0.6),  # one of two may go
        ([0.1, 0.3, 0.2, 0.9], [False, True, False, True], 0.5, [False, False, False, True], 0.25),  # a rule spent it
        ([0.4, 0.6], [True, True], 0.0, None, 0.2),  # nothing lower: halfway to 0
    ],
)
def test_threshold_keeps_false_abstentions_within_budget(probs, answerable, budget, abstains, expected):
    assert threshold(np.array(probs), np.array(answerable), budget, abstains) == pytest.approx(expected)


def test_reliability_bins():
    rows = reliability(np.array([0.05, 0.15, 0.95, 0.95]), np.array([0.0, 1.0, 1.0, 0.0]), bins=10)
    assert rows == [(0.05, 0.0, 1), (0.15, 1.0, 1), (0.95, 0.5, 2)]


def test_system_decisions_reads_probability_rule_abstention_and_correctness():
    from types import SimpleNamespace as NS

    from qa.eval.calibrate import system_decisions

    said = {
        "q1": NS(answer=NS(abstained=False, short_answer="約300名", quotes=()), reads=(NS(probability=0.8),)),
        "q2": NS(answer=NS(abstained=True, short_answer=None, quotes=()), reads=(NS(probability=0.9),)),
        "q3": NS(answer=NS(abstained=False, short_answer="2008年", quotes=()), reads=()),
    }
    pipeline = NS(answerer=NS(trace=lambda q: said[q]))
    items = [NS(question="q1", answerable=True, answers=("300名",)), NS(question="q2", answerable=True, answers=("x",)),
             NS(question="q3", answerable=False, answers=())]
    rows = system_decisions(pipeline, items)
    assert rows.tolist() == [[0.8, 0.0, 1.0], [0.9, 1.0, 0.0], [1.0, 0.0, 0.0]]
