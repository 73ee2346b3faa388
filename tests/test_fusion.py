"""Fusion by hand-computed values."""

import pytest

from qa.fusion import minmax, rrf, weighted


@pytest.mark.parametrize(
    "scores, expected",
    [
        ({}, {}),
        ({"a": 2.0}, {"a": 0.0}),
        ({"a": 1.0, "b": 3.0, "c": 2.0}, {"a": 0.0, "b": 1.0, "c": 0.5}),
        ({"a": -1.0, "b": 1.0}, {"a": 0.0, "b": 1.0}),
        ({"a": 5.0, "b": 5.0}, {"a": 0.0, "b": 0.0}),
    ],
)
def test_minmax(scores, expected):
    assert minmax(scores) == pytest.approx(expected)


def test_weighted():
    # dense: a 0.9 -> 1, b 0.5 -> 0; bm25: b 10 -> 1, c 2 -> 0
    got = weighted({"a": 0.9, "b": 0.5}, {"b": 10.0, "c": 2.0}, 0.7)
    assert got == pytest.approx({"a": 0.7, "b": 0.3, "c": 0.0})


def test_weighted_one_side_empty():
    assert weighted({"a": 0.9, "b": 0.5}, {}, 0.7) == pytest.approx({"a": 0.7, "b": 0.0})


def test_rrf():
    # dense ranks a=1, b=2; bm25 ranks b=1, c=2; k=60, w=0.5
    got = rrf({"a": 0.9, "b": 0.5}, {"b": 10.0, "c": 2.0}, 0.5, 60)
    assert got == pytest.approx({"a": 0.5 / 61, "b": 0.5 / 62 + 0.5 / 61, "c": 0.5 / 62})
    assert max(got, key=got.get) == "b"


def test_rrf_ties_break_by_id():
    assert rrf({"b": 1.0, "a": 1.0}, {}, 1.0, 0) == pytest.approx({"a": 1.0, "b": 0.5})
