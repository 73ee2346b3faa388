"""Calibrate the reader on the dev split: how much its logit weighs in choosing the
piece, Platt scaling of (logit, retrieval score) into a probability, the abstention
threshold for a false-abstention budget (on what the default system decides, and
another for the reader system's own choices), and a reliability diagram.

    python -m qa.eval.calibrate [--budget 0.03] [--out eval/results]

An answer counts as right when the quoted piece holds an acceptable answer; for an
unanswerable item every answer is wrong. Prints the values to copy into
`AnswerSettings` (qa/config.py). Never calibrate on the test split.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from qa.config import Config
from qa.corpus import load_corpus

from . import metrics
from .gold import load_gold


def platt(features: np.ndarray, labels: np.ndarray, ridge: float = 1e-3, iters: int = 100) -> np.ndarray:
    """Weights (one per feature column, then the shift) maximising the likelihood of
    sigmoid(features @ w + shift): logistic regression by Newton's method on
    standardised features, with a ridge (on the weights, not the shift) so small or
    separable data stays finite; returned on the features' own scale."""
    features = np.asarray(features, dtype=float).reshape(len(labels), -1)
    mu, sd = features.mean(axis=0), features.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    x = np.hstack([(features - mu) / sd, np.ones((len(labels), 1))])
    penalty = np.diag([ridge] * features.shape[1] + [1e-6])
    w = np.zeros(x.shape[1])
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - labels) + penalty @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    coefs = w[:-1] / sd
    return np.append(coefs, w[-1] - float(np.dot(coefs, mu)))


def threshold(probs: np.ndarray, answerable: np.ndarray, budget: float, abstains: np.ndarray | None = None) -> float:
    """The abstention threshold that catches as many items as the false-abstention
    `budget` allows (answerable items below it, or abstained anyway per `abstains`,
    count as false), placed halfway between the lowest probability kept and the next
    lower one: every threshold in that gap makes the same decisions on these items,
    and the middle leaves the most room for a retrained reader's small shifts."""
    abstains = np.zeros(len(probs), bool) if abstains is None else np.asarray(abstains, bool)
    probs, answerable = np.asarray(probs, float)[~abstains], np.asarray(answerable, bool)
    already = int(np.sum(answerable & abstains))
    total = max(1, int(answerable.sum()))
    answerable = answerable[~abstains]
    cut = 0.0
    for t in sorted(set(probs.tolist())) + [1.0]:
        if (already + np.sum(probs[answerable] < t)) / total <= budget:
            cut = t
    below = probs[probs < cut]
    return float((cut + (below.max() if below.size else 0.0)) / 2)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) per equal-width confidence bin."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (probs >= lo) & ((probs < hi) if hi < 1 else (probs <= hi))
        if inside.any():
            out.append((float(probs[inside].mean()), float(labels[inside].mean()), int(inside.sum())))
    return out


def draw(rows, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], ls="--", color="#94a3b8", label="perfect calibration")
    ax.plot([r[0] for r in rows], [r[1] for r in rows], marker="o", color="#1d4ed8", label="reader")
    for conf, acc, n in rows:
        ax.annotate(str(n), (conf, acc), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="share right", title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


WEIGHTS = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 1.0)  # reader_weight grid


def collect(pipeline, items) -> list[list[tuple[float, float, bool, list[float]]]]:
    """Per item, every piece the reader read: (logit, retrieval score, holds an answer, features)."""
    from qa.answer import features

    out = []
    for it in items:
        trace = pipeline.answerer.trace(it.question, role="answer")
        out.append([(r.logit, r.cand.score, bool(it.answerable and metrics.answer_correct(r.cand.text, it.answers)),
                     features(r.logit, r.cand.score, trace.signals)) for r in trace.reads])
    return out


def pick(reads, weight: float):
    """The piece chosen with `weight` (a tuple from `collect`), or None when nothing was read."""
    return max(reads, key=lambda r: r[1] + weight * r[0]) if reads else None


def system_decisions(pipeline, items) -> np.ndarray:
    """Per item, what the configured system (threshold 0) does: (probability that its
    answer holds, 1 if it abstains whatever the threshold, 1 if its answer is right)."""
    rows = []
    for it in items:
        trace = pipeline.answerer.trace(it.question)
        a = trace.answer
        p = trace.reads[0].probability if trace.reads else 1.0
        right = not a.abstained and it.answerable and metrics.answer_correct(metrics.answer_text(a), it.answers)
        rows.append((p, float(a.abstained), float(right)))
    return np.array(rows)


def fit(pipeline, items, answerable: np.ndarray, ridge: float) -> dict:
    """reader_weight by the reader system's picks on dev, then Platt coefficients on them."""
    reads = collect(pipeline, items)
    for w in WEIGHTS:
        right = sum(bool(p and p[2]) for p in (pick(r, w) for r in reads))
        print(f"reader_weight {w:<6}: top piece right on {right} of {int(answerable.sum())} answerable")
    weight = max(WEIGHTS, key=lambda w: (sum(bool(p and p[2]) for p in (pick(r, w) for r in reads)), -w))
    chosen = [pick(r, weight) for r in reads]
    if any(c is None for c in chosen):
        raise SystemExit("an item had no candidate pieces; check the index")
    x = np.array([c[3] for c in chosen])
    w = platt(x, np.array([c[2] for c in chosen], dtype=float), ridge=ridge)
    coefs = tuple(round(float(c), 4) for c in w[:-1])
    print(f"reader_weight={weight}, reader_coefs=({', '.join(f'{c:.4f}' for c in coefs)}), reader_shift={w[-1]:.4f}")
    return dict(reader_weight=weight, reader_coefs=coefs, reader_shift=round(float(w[-1]), 4))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=0.03, help="false abstentions allowed on answerable dev items")
    parser.add_argument("--out", default=None, help="folder for the reliability diagram (default eval/results)")
    parser.add_argument("--ridge", type=float, default=1.0, help="ridge on the standardised feature weights")
    parser.add_argument("--weights", default="", help="reader file to calibrate (default: the shipped one)")
    parser.add_argument("--threshold-only", action="store_true", help="keep the configured weight and coefficients; fit the threshold")
    args = parser.parse_args()
    from qa.pipeline import Pipeline

    config = Config().with_(reader_weights=args.weights)
    items = [it for it in load_gold(config.root / "eval" / "gold.jsonl", load_corpus(config.corpus_dir, config.root))
             if it.split == "dev"]
    pipeline = Pipeline.load(config, build_missing=True)
    if pipeline.reader is None:
        raise SystemExit("no reader loaded (see the log); nothing to calibrate")
    answerable = np.array([it.answerable for it in items])
    settings = {} if args.threshold_only else fit(pipeline, items, answerable, args.ridge)
    base = dict(settings, reader_threshold=0.0, reader_answer_threshold=0.0)
    for role, name, system in (("span", "reader_threshold", "the default system"),
                               ("answer", "reader_answer_threshold", "the reader system")):
        run = Pipeline(config.with_(**base, reader_role=role), embedder=pipeline.embedder, reader=pipeline.reader)
        probs, ruled, right = (col.astype(k) for col, k in zip(system_decisions(run, items).T, (float, bool, bool)))
        t = threshold(probs, answerable, args.budget, abstains=ruled)
        gone = ruled | (probs < t)
        print(f"{name}={t:.4f}; {system} at that threshold on dev: "
              f"false abstentions {np.mean(gone[answerable]):.3f}, "
              f"abstention recall {np.mean(gone[~answerable]) if (~answerable).any() else float('nan'):.3f}, "
              f"answer accuracy {np.mean((right & ~gone)[answerable]):.3f}")
        if role == "span":  # the diagram is of the default system's answers
            rows = reliability(probs[~ruled], right[~ruled].astype(float))
    print("reliability of its answers (confidence -> share right, n): " + ", ".join(f"{c:.2f}->{a:.2f} ({n})" for c, a, n in rows))
    out = Path(args.out) if args.out else config.root / "eval" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"reliability-dev-{time.strftime('%Y%m%dT%H%M%S')}.png"
    draw(rows, path, "confidence of the answers on the dev split")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
