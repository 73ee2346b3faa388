"""Calibrate retrieval fusion, answer weights and the abstention rule on the dev split.

    python -m qa.eval.tune [--split dev]

Query vectors are computed once and cached, so each setting costs only the search
and scoring. Prints the best settings; copy them into `qa/config.py` defaults and
say so in the commit. Never tune on the test split."""

from __future__ import annotations

import argparse
import itertools
import math
from dataclasses import replace

from qa.answer import Answerer
from qa.config import Config
from qa.corpus import load_corpus

from .gold import load_gold
from .suite import run_suite

NEVER = -1.0  # a threshold no signal falls below: abstention off


class _CachedQueries:
    """Wraps an embedder so each distinct question is embedded once."""

    def __init__(self, inner):
        self.inner, self.name, self.dim, self.cache = inner, inner.name, inner.dim, {}

    def embed_queries(self, texts):
        import numpy as np

        missing = [t for t in texts if t not in self.cache]
        if missing:
            for t, v in zip(missing, self.inner.embed_queries(missing)):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])

    def embed_documents(self, texts, progress=False):
        return self.inner.embed_documents(texts, progress)


def _score(answerer: Answerer, items, config: Config) -> dict:
    answerer.config = answerer.retriever.config = config
    s = run_suite(answerer, items, systems=("full",))["systems"]["full"]
    return {"r1": s["passage"]["recall@1"], "r5": s["passage"]["recall@5"], "mrr": s["passage"]["mrr@10"],
            "acc": s["answer_accuracy"], "rows": s["rows"]}


def best_abstention(rows, max_false: float = 0.05) -> tuple[dict, dict]:
    """Thresholds that catch the most unanswerable items while keeping false
    abstentions on answerable ones at or under `max_false`."""
    best, best_key = {}, None
    covs = [0.0, 0.2, 0.34, 0.4, 0.5, 0.6, 0.67, 0.75, 0.8, 1.01]
    coss = [NEVER] + [0.80 + 0.005 * i for i in range(25)]
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    for cov, cos, cos_en in itertools.product(covs, coss, coss):
        def abstains(sig):
            if sig["english"]:
                return sig["best_cosine"] < cos_en
            return sig["coverage"] < cov and sig["best_cosine"] < cos

        false = sum(abstains(r["signals"]) for r in answerable) / max(1, len(answerable))
        caught = sum(abstains(r["signals"]) for r in unanswerable) / max(1, len(unanswerable))
        acc = sum(r["correct"] and not abstains(r["signals"]) for r in answerable) / max(1, len(answerable))
        key = (false <= max_false, caught + acc, -false)
        if best_key is None or key > best_key:
            best_key = key
            best = {"abstain_coverage": cov, "abstain_cosine": cos, "abstain_cosine_en": cos_en,
                    "_abstain_recall": caught, "_false_abstention": false, "_accuracy": acc}
    return best, {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev",))
    args = parser.parse_args()
    base = Config()
    docs = load_corpus(base.corpus_dir, base.root)
    items = [it for it in load_gold(base.root / "eval" / "gold.jsonl", docs) if it.split == args.split]
    answerer = Answerer.load(base)
    answerer.retriever.embedder = _CachedQueries(answerer.retriever.embedder)
    off = dict(abstain_coverage=NEVER, abstain_cosine=NEVER, abstain_cosine_en=NEVER)

    print("fusion (retrieval on the dev split, abstention off):")
    fusion = []
    for mode, w in itertools.product(("rrf", "weighted"), (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)):
        cfg = replace(base, fusion=mode, dense_weight=w, **off)
        s = _score(answerer, items, cfg)
        fusion.append((s["mrr"] + s["r1"], mode, w))
        print(f"  {mode:8} dense_weight {w:.1f}: recall@1 {s['r1']:.3f} recall@5 {s['r5']:.3f} mrr {s['mrr']:.3f} acc {s['acc']:.3f}")
    _, mode, w = max(fusion)

    print(f"answer weights (fusion {mode}, dense_weight {w}):")
    results = []
    grid = itertools.product((0.0, 0.1, 0.2, 0.3, 0.5), (0.0, 0.03, 0.06), (0.0, 0.03, 0.06, 0.1), (5, 8))
    for cov, kind, rank, passages in grid:
        cfg = replace(base, fusion=mode, dense_weight=w, w_coverage=cov, w_kind=kind, w_rank=rank,
                      answer_passages=passages, **off)
        s = _score(answerer, items, cfg)
        results.append((s["acc"], s["r1"], cov, kind, rank, passages, s["rows"]))
    results.sort(key=lambda r: (-r[0], -r[1]))
    for acc, r1, cov, kind, rank, passages, _ in results[:8]:
        print(f"  acc {acc:.3f} recall@1 {r1:.3f}: w_coverage {cov} w_kind {kind} w_rank {rank} answer_passages {passages}")
    acc, r1, cov, kind, rank, passages, rows = results[0]
    best, _ = best_abstention(rows)
    print("abstention (false abstentions <= 5% on dev):")
    print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) and not math.isnan(v) else f"{k} {v}" for k, v in best.items()))
    print("\nsuggested defaults:")
    print(f"  fusion={mode!r}, dense_weight={w}, w_coverage={cov}, w_kind={kind}, w_rank={rank}, answer_passages={passages},")
    print(f"  abstain_coverage={best['abstain_coverage']}, abstain_cosine={best['abstain_cosine']:.3f}, "
          f"abstain_cosine_en={best['abstain_cosine_en']:.3f}")


if __name__ == "__main__":
    main()
