"""Calibrate retrieval fusion, answer weights and the abstention rule on the dev split.

    python -m qa.eval.tune [--split dev]

Query vectors are computed once and cached, so each setting costs only the search
and scoring. Prints the best settings; copy them into `qa/config.py` defaults and
say so in the commit. Never tune on the test split."""

from __future__ import annotations

import argparse
import itertools
import math
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


def _score(pipeline, items, config: Config) -> dict:
    from qa.pipeline import Pipeline

    tuned = Pipeline(config, pipeline.embedder, pipeline.store, reader=None)
    s = run_suite(tuned, items, systems=("full",))["systems"]["full"]
    return {"r1": s["passage"]["hit_rate@1"], "r5": s["passage"]["hit_rate@5"], "mrr": s["passage"]["mrr@10"],
            "acc": s["answer_accuracy"], "rows": s["rows"]}


def best_abstention(rows, max_false: float = 0.03) -> dict:
    """Thresholds that catch the most unanswerable items while keeping false
    abstentions on answerable ones at or under `max_false`."""
    answerable = [r["signals"] | {"correct": r["correct"]} for r in rows if r["answerable"]]
    unanswerable = [r["signals"] for r in rows if not r["answerable"]]
    grid = itertools.product(
        (True, False),  # abstain_kind_missing
        (0.0, 0.2, 0.34, 0.5, 0.6, 0.75),  # abstain_coverage
        [0.84 + 0.005 * i for i in range(8)],  # abstain_cosine
        (0.3, 0.4, 0.5, 1.01),  # abstain_unknown
        [0.85 + 0.01 * i for i in range(5)],  # abstain_unknown_cosine
    )
    best, best_key = {}, None
    for kind, cov, cos, unk, unk_cos in grid:
        def abstains(sig):
            if sig["english"]:
                return False  # the dev split has no English unanswerable items to calibrate on
            return (kind and sig["kind_missing"]) or (sig["coverage"] < cov and sig["best_cosine"] < cos) or (
                sig["unknown"] >= unk and sig["best_cosine"] < unk_cos)

        false = sum(abstains(r) for r in answerable) / max(1, len(answerable))
        caught = sum(abstains(r) for r in unanswerable) / max(1, len(unanswerable))
        acc = sum(r["correct"] and not abstains(r) for r in answerable) / max(1, len(answerable))
        key = (false <= max_false, round(caught + acc, 6), -false, -cos, -unk_cos)
        if best_key is None or key > best_key:
            best_key = key
            best = {"abstain_kind_missing": kind, "abstain_coverage": cov, "abstain_cosine": round(cos, 3),
                    "abstain_unknown": unk, "abstain_unknown_cosine": round(unk_cos, 3),
                    "_abstain_recall": caught, "_false_abstention": false, "_accuracy": acc}
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev",))
    parser.add_argument("--abstention-only", action="store_true", help="keep retrieval and answer settings")
    args = parser.parse_args()
    base = Config()
    docs = load_corpus(base.corpus_dir, base.root)
    items = [it for it in load_gold(base.root / "eval" / "gold.jsonl", docs) if it.split == args.split]
    from qa.pipeline import Pipeline

    loaded = Pipeline.load(base)
    pipeline = Pipeline(base, _CachedQueries(loaded.embedder), loaded.store, reader=None)
    off = dict(abstain_coverage=NEVER, abstain_cosine=NEVER, abstain_cosine_en=NEVER,
               abstain_unknown=2.0, abstain_kind_missing=False)
    if args.abstention_only:
        rows = _score(pipeline, items, base.with_(**off))["rows"]
        print(best_abstention(rows))
        return

    print("fusion (retrieval on the dev split, abstention off):")
    fusion = []
    for mode, w, pw in itertools.product(("rrf", "weighted"), (0.5, 0.6, 0.7, 0.8, 0.9), (0.0, 0.2, 0.4)):
        cfg = base.with_(fusion=mode, dense_weight=w, piece_weight=pw, **off)
        s = _score(pipeline, items, cfg)
        fusion.append((s["mrr"] + s["r1"] + s["r5"], mode, w, pw))
        print(f"  {mode:8} dense_weight {w:.1f} piece_weight {pw:.1f}: hit@1 {s['r1']:.3f} hit@5 {s['r5']:.3f} "
              f"mrr {s['mrr']:.3f} acc {s['acc']:.3f}", flush=True)
    _, mode, w, pw = max(fusion)
    base = base.with_(piece_weight=pw)

    print(f"answer weights (fusion {mode}, dense_weight {w}, piece_weight {pw}):")
    results = []
    grid = itertools.product((0.0, 0.05, 0.1, 0.2), (0.0, 0.03, 0.06, 0.1, 0.15), (0.0, 0.02), (10,))
    for cov, kind, lift, passages in grid:
        cfg = base.with_(fusion=mode, dense_weight=w, w_coverage=cov, w_kind=kind, w_passage=lift,
                      answer_passages=passages, **off)
        s = _score(pipeline, items, cfg)
        results.append((s["acc"], s["r1"], cov, kind, lift, passages, s["rows"]))
    results.sort(key=lambda r: (-r[0], -r[1]))
    for acc, r1, cov, kind, lift, passages, _ in results[:8]:
        print(f"  acc {acc:.3f} hit@1 {r1:.3f}: w_coverage {cov} w_kind {kind} w_passage {lift} answer_passages {passages}")
    acc, r1, cov, kind, lift, passages, rows = results[0]
    best = best_abstention(rows)
    print("abstention (false abstentions <= 3% on dev):")
    print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) and not math.isnan(v) else f"{k} {v}" for k, v in best.items()))
    print("\nsuggested defaults:")
    print(f"  fusion={mode!r}, dense_weight={w}, piece_weight={pw}, w_coverage={cov}, w_kind={kind}, w_passage={lift}, answer_passages={passages},")
    print("  " + ", ".join(f"{k}={v}" for k, v in best.items() if not k.startswith("_")))


if __name__ == "__main__":
    main()
