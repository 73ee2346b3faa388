"""Whole-pipeline search and ask latency on synthetic corpora, beyond the query encoding.

    python scripts/pipeline_scale.py [--sizes 10000,100000,1000000] [--queries 200]

For each size it writes a real build folder (random unit vectors for 3 pieces per
chunk, short texts drawn from a fixed vocabulary for BM25, 10 documents) with the
same code `qa index` uses, loads it with `FileStore.load`, and times
`Pipeline.search` and `Pipeline.ask` with an embedder that returns precomputed query
vectors, so the numbers are everything but the model: FAISS (the configured index
type; HNSW from 50,000 chunks), BM25, fusion, piece scoring, chunk reads, answer
choice. Also: the same with a one-document filter, load time and memory. Prints a
table; compare ratios side by side (the machine is shared).
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
PIECES = 3
DOCS = 10
WORDS = [f"{a}{b}" for a in "研究技術国際協力人材交流予算会議政策科学" for b in "事業計画制度拠点分野評価支援戦略連携推進"]


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Vectors:
    """An embedder whose query vectors are given in advance: no model time."""

    name, dim = "synthetic", DIM

    def __init__(self):
        self.next = None

    def embed_queries(self, texts):
        return self.next.reshape(1, -1)

    def embed_documents(self, texts, progress=False):
        raise RuntimeError("synthetic builds are written directly")


def make_build(root: Path, n: int, rng: np.random.Generator) -> None:
    from qa.chunker import Chunk, Piece
    from qa.config import Config
    from qa.corpus import Document
    from qa.indexer import text_key, write_build

    config = Config(root=root).with_(model=Vectors.name)
    (root / "index").mkdir(parents=True)
    per_doc = -(-n // DOCS)
    docs = [Document(f"doc{d}", f"corpus/doc{d}.txt", f"synthetic document {d}") for d in range(DOCS)]
    chunks = []
    for i in range(n):
        words = [WORDS[j] for j in rng.integers(0, len(WORDS), 6)]
        pieces = tuple(Piece(0, 1, f"{words[2 * p]}の{words[2 * p + 1]}は{i % 97}件", "text") for p in range(PIECES))
        text = "\n".join(p.text for p in pieces)
        chunks.append(Chunk(f"{i:016x}", f"doc{i // per_doc}", f"corpus/doc{i // per_doc}.txt", 1 + i % 30,
                            "見出し", "見出し", 0, 1, text, pieces))
    vectors = rng.standard_normal((n * PIECES, DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    bounds = np.arange(0, n * PIECES + 1, PIECES, dtype=np.int64)
    keys = [text_key(str(i)) for i in range(n * PIECES)]
    # write_build takes a corpus; the synthetic one is checked by chunk_count only (check_corpus=False below)
    write_build(config, Vectors.name, docs, chunks, vectors, bounds, keys, {"synthetic": True})


def pct(values, q):
    return float(np.percentile(values, q))


def measure(n: int, queries: int, rng: np.random.Generator) -> dict:
    from qa.config import Config
    from qa.pipeline import Pipeline
    from qa.store import FileStore

    root = Path(tempfile.mkdtemp(prefix=f"qa-scale-{n}-"))
    try:
        started = time.perf_counter()
        make_build(root, n, rng)
        build_s = time.perf_counter() - started
        gc.collect()
        before = rss_mib()
        config = Config(root=root).with_(model=Vectors.name)
        started = time.perf_counter()
        store = FileStore.load(config, check_corpus=False)
        load_s = time.perf_counter() - started
        embedder = Vectors()
        pipeline = Pipeline(config, embedder, store=store)
        texts = [" ".join(WORDS[j] for j in rng.integers(0, len(WORDS), 3)) + "は何件ですか" for _ in range(queries)]
        qvecs = rng.standard_normal((queries, DIM), dtype=np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        out = {"n": n, "build_s": build_s, "load_s": load_s, "index": store.manifest["index_type"]}
        for label, call in (
            ("search", lambda q: pipeline.search(q, 5)),
            ("ask", lambda q: pipeline.ask(q)),
            ("search_doc", lambda q: pipeline.search(q, 5, docs=["doc3"])),
        ):
            ms = []
            for i, (text, qvec) in enumerate(zip(texts, qvecs)):
                embedder.next = qvec
                t = time.perf_counter()
                call(text)
                if i >= 5:  # warm-up excluded
                    ms.append((time.perf_counter() - t) * 1000)
            out[label] = (pct(ms, 50), pct(ms, 95))
        out["rss_mib"] = rss_mib() - before
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    faiss.omp_set_num_threads(1)  # one query at a time, as a request is served
    rng = np.random.default_rng(7)
    rows = []
    print("| chunks | index | build s | load s | search p50/p95 ms | ask p50/p95 ms | search --doc p50/p95 ms | MiB resident |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n, args.queries, rng)
        rows.append(r)
        print(f"| {n:,} | {r['index']} | {r['build_s']:.0f} | {r['load_s']:.2f} | {r['search'][0]:.1f} / {r['search'][1]:.1f} | "
              f"{r['ask'][0]:.1f} / {r['ask'][1]:.1f} | {r['search_doc'][0]:.1f} / {r['search_doc'][1]:.1f} | "
              f"{r['rss_mib']:.0f} |", flush=True)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print(f"growth {first['n']:,} -> {last['n']:,}: search p50 {last['search'][0] / first['search'][0]:.2f}x, "
              f"ask p50 {last['ask'][0] / first['ask'][0]:.2f}x (target <= 3x)")
        print(f"memory per million chunks: {last['rss_mib'] / last['n'] * 1e6:.0f} MiB resident after load "
              f"(vectors and BM25 are memory-mapped; peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
