"""Fusing the scores of two retrievers: pure functions over {id: score} dicts."""

from __future__ import annotations


def minmax(scores: dict) -> dict:
    """Scores rescaled to 0..1 (all equal -> all 0)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo or 1.0
    return {i: (s - lo) / span for i, s in scores.items()}


def weighted(dense: dict, sparse: dict, w: float) -> dict:
    """w * minmax(dense) + (1 - w) * minmax(sparse); an id missing from one side gets 0 there."""
    d, s = minmax(dense), minmax(sparse)
    return {i: w * d.get(i, 0.0) + (1 - w) * s.get(i, 0.0) for i in d.keys() | s.keys()}


def rrf(dense: dict, sparse: dict, w: float, k: int = 60) -> dict:
    """Weighted reciprocal rank fusion: w / (k + rank in dense) + (1 - w) / (k + rank in sparse)."""
    fused: dict = {}
    for weight, scores in ((w, dense), (1 - w, sparse)):
        for rank, i in enumerate(sorted(scores, key=lambda i: (-scores[i], i)), start=1):
            fused[i] = fused.get(i, 0.0) + weight / (k + rank)
    return fused
