"""Calibrate the reader on the dev split: Platt scaling of its answerability logit,
the abstention threshold for a false-abstention budget, and a reliability diagram.

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


def platt(logits: np.ndarray, labels: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """(scale, shift) maximising the likelihood of sigmoid(scale * logit + shift), by
    Newton's method with a little ridge so separable data stays finite."""
    x = np.stack([logits, np.ones_like(logits)], axis=1)
    w = np.zeros(2)
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - labels) + 1e-3 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def threshold(probs: np.ndarray, answerable: np.ndarray, budget: float) -> float:
    """The highest threshold whose false abstentions (answerable items below it) stay
    within `budget`: abstaining as often as that allows."""
    best = 0.0
    for t in sorted(set(np.round(probs, 4))) + [1.0]:
        if np.mean(probs[answerable] < t) <= budget:
            best = t
    return float(best)


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


def collect(pipeline, items) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per item: the reader's best logit, whether that answer is right, whether answerable."""
    logits, right, answerable = [], [], []
    for it in items:
        trace = pipeline.answerer.trace(it.question)
        best = trace.reads[0] if trace.reads else None
        logits.append(best.logit if best else -20.0)
        right.append(bool(best and it.answerable and metrics.answer_correct(best.cand.text, it.answers)))
        answerable.append(it.answerable)
    return np.array(logits), np.array(right, dtype=float), np.array(answerable)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=0.03, help="false abstentions allowed on answerable dev items")
    parser.add_argument("--out", default=None, help="folder for the reliability diagram (default eval/results)")
    args = parser.parse_args()
    from qa.pipeline import Pipeline

    config = Config()
    items = [it for it in load_gold(config.root / "eval" / "gold.jsonl", load_corpus(config.corpus_dir, config.root))
             if it.split == "dev"]
    pipeline = Pipeline.load(config)
    if pipeline.reader is None:
        raise SystemExit("no reader loaded (see the log); nothing to calibrate")
    logits, right, answerable = collect(pipeline, items)
    scale, shift = platt(logits, right)
    probs = 1.0 / (1.0 + np.exp(-(scale * logits + shift)))
    t = threshold(probs, answerable, args.budget)
    caught = float(np.mean(probs[~answerable] < t)) if (~answerable).any() else float("nan")
    print(f"dev items: {len(items)} ({int(answerable.sum())} answerable); reader right on {int(right.sum())}")
    print(f"reader_scale={scale:.4f}, reader_shift={shift:.4f}, reader_threshold={t:.4f}")
    print(f"at that threshold on dev: false abstentions {np.mean(probs[answerable] < t):.3f}, "
          f"abstention recall {caught:.3f}, accuracy {np.mean(right[answerable] * (probs[answerable] >= t)):.3f}")
    rows = reliability(probs, right)
    print("reliability (confidence -> share right, n): " + ", ".join(f"{c:.2f}->{a:.2f} ({n})" for c, a, n in rows))
    out = Path(args.out) if args.out else config.root / "eval" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"reliability-dev-{time.strftime('%Y%m%dT%H%M%S')}.png"
    draw(rows, path, "reader confidence on the dev split")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
