"""Scoring glue: ranking metrics through ranx, answer metrics by their definitions.

Runs and qrels are plain `{query_id: {doc_id: score}}` dicts."""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

from qa.tokens import squash

RANKING_METRICS = ("hit_rate@1", "hit_rate@5", "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


def ranking(qrels: dict, run: dict, metrics=RANKING_METRICS) -> dict[str, float]:
    """Mean of each metric over the queries in `qrels` (ranx)."""
    from ranx import Qrels, Run, evaluate

    if not qrels:
        return {m: float("nan") for m in metrics}
    run = {q: (run.get(q) or {"<none>": 0.0}) for q in qrels}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's type-safety chatter
        scores = evaluate(Qrels(qrels), Run(run), list(metrics), make_comparable=True)
    if not isinstance(scores, dict):  # ranx returns a bare float for one metric
        scores = {metrics[0]: scores}
    return {m: float(scores[m]) for m in metrics}


def per_query(qrels: dict, run: dict, metric: str) -> dict[str, float]:
    from ranx import Qrels, Run, evaluate

    run = {q: (run.get(q) or {"<none>": 0.0}) for q in qrels}
    r = Run(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate(Qrels(qrels), r, metric, make_comparable=True)
    return dict(r.scores[metric])


def compare(qrels: dict, runs: dict[str, dict], metric: str = "ndcg@10") -> dict:
    """Paired two-sided t-test (ranx) between the two best runs on `metric`."""
    from ranx import Qrels, Run, compare as ranx_compare

    names = sorted(runs, key=lambda n: -ranking(qrels, runs[n], [metric])[metric])[:2]
    built = []
    for name in names:
        r = Run({q: (runs[name].get(q) or {"<none>": 0.0}) for q in qrels}, name=name)
        built.append(r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = ranx_compare(Qrels(qrels), built, metrics=[metric], stat_test="student", max_p=0.05, make_comparable=True)
        p = report.to_dict()[names[0]]["comparisons"][names[1]][metric] if len(names) == 2 else float("nan")
    return {"metric": metric, "best": names[0], "second": names[1] if len(names) > 1 else None, "p_value": float(p)}


def answer_text(answer) -> str:
    """What an answer shows as its content: the short answer and the quoted text."""
    return "\n".join([answer.short_answer or ""] + [q.text for q in answer.quotes])


def answer_correct(text: str, acceptable) -> bool:
    text = squash(text)
    return any(squash(a) in text for a in acceptable if squash(a))


def char_f1(text: str, acceptable) -> float:
    """Best character-level F1 between a text and any acceptable answer."""
    got = Counter(squash(text))
    best = 0.0
    for a in acceptable:
        want = Counter(squash(a))
        common = sum((got & want).values())
        if common:
            p, r = common / sum(got.values()), common / sum(want.values())
            best = max(best, 2 * p * r / (p + r))
    return best


def contains_evidence(passage_raw: str, passage_text: str, evidence) -> bool:
    """A passage supports an item when its raw span or shown text holds an evidence string."""
    shown = squash(passage_text)
    return any(ev in passage_raw or squash(ev) in shown for ev in evidence)


def abstention(rows: list[dict]) -> dict[str, float]:
    """Precision and recall of abstaining on unanswerable items; false abstentions."""
    abstained = [r for r in rows if r["abstained"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answerable = [r for r in rows if r["answerable"]]
    hits = sum(1 for r in abstained if not r["answerable"])
    return {
        "abstain_precision": hits / len(abstained) if abstained else float("nan"),
        "abstain_recall": hits / len(unanswerable) if unanswerable else float("nan"),
        "false_abstention": sum(r["abstained"] for r in answerable) / len(answerable) if answerable else float("nan"),
    }


def percentile(values, q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")
