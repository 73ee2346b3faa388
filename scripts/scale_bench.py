"""How FAISS index types behave as the corpus grows: build time, memory, latency, recall.

    python scripts/scale_bench.py [--sizes 10000,100000,1000000] [--queries 200]
                                  [--types flat,hnsw,ivfpq] [--target 0.95]

Synthetic data stands in for sentence embeddings: 384-dim unit vectors around
1,000-4,000 cluster centres on the sphere; each point is its centre plus noise that
lies mostly in a low-rank subspace of its own cluster (text embeddings have a low
intrinsic dimension) with a little isotropic noise on top. Queries are drawn the same
way with fresh noise, so none is in the base set. Recall@10 is measured against exact
inner-product search.

Index types (all inner product on unit vectors, i.e. cosine):
    flat    IndexFlatIP, exact
    hnsw    IndexHNSWFlat; efSearch is tuned
    ivfpq   IndexIVFPQ (nlist ~ 4*sqrt(n), m sub-quantisers of 8 bits; nprobe tuned),
            reported twice: alone, and as "ivfpq+refine" behind IndexRefineFlat, which
            re-ranks k*k_factor candidates with the full vectors (k_factor tuned too)

For each approximate index the search parameters are swept; the setting kept is the
one with the lowest single-query p50 among those reaching --target recall@10 (or the
best recall if none does). Run by hand: the numbers depend on what else the machine
is running, so compare rows of one run.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

DIM = 384
K = 10


# --- data ---------------------------------------------------------------------------


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def make_data(n: int, n_queries: int, dim: int = DIM, clusters: int | None = None, rank: int = 16,
              spread: float = 0.7, iso: float = 0.15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Base and query vectors: float32, unit length, clustered.

    A point is its cluster's centre (a random unit vector) plus noise: mostly within a
    random `rank`-dim subspace of its own cluster (norm about `spread`), plus a little
    isotropic noise (norm about `iso`). Cluster sizes and widths vary."""
    if clusters is None:
        clusters = int(np.clip(n // 250, 1000, 4000))
    rng = np.random.default_rng(seed)
    centres = _normalise(rng.standard_normal((clusters, dim), dtype=np.float32))
    bases = rng.standard_normal((clusters, rank, dim), dtype=np.float32)
    bases *= np.float32(spread / math.sqrt(rank * dim))
    weights = rng.exponential(1.0, clusters)
    weights /= weights.sum()
    width = rng.uniform(0.7, 1.3, clusters).astype(np.float32)

    def draw(count: int, gen: np.random.Generator) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for a in range(0, count, 10_000):  # in blocks, to keep temporaries small
            b = min(count, a + 10_000)
            owner = gen.choice(clusters, size=b - a, p=weights)
            z = gen.standard_normal((b - a, rank), dtype=np.float32)
            block = np.einsum("nr,nrd->nd", z, bases[owner])
            block += gen.standard_normal((b - a, dim), dtype=np.float32) * np.float32(iso / math.sqrt(dim))
            block *= width[owner, None]
            block += centres[owner]
            out[a:b] = _normalise(block)
        return out

    return draw(n, np.random.default_rng([seed, 1])), draw(n_queries, np.random.default_rng([seed, 2]))


def exact_neighbours(base: np.ndarray, queries: np.ndarray, k: int = K) -> np.ndarray:
    import faiss

    _, ids = faiss.knn(queries, base, k, metric=faiss.METRIC_INNER_PRODUCT)
    return ids


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int = K) -> float:
    """Share of the true top-k that the index returned in its top k."""
    hits = sum(len(set(f[:k].tolist()) & set(t[:k].tolist())) for f, t in zip(found, truth))
    return hits / (k * len(truth))


# --- indexes ------------------------------------------------------------------------


@dataclass
class Params:
    hnsw_m: int = 32
    ef_construction: int = 64
    ef_search: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    nlist_factor: float = 4.0  # nlist = factor * sqrt(n)
    pq_m: int = 48  # sub-quantisers (8 bits each); DIM must be a multiple
    train_per_list: int = 32  # coarse k-means training points per inverted list
    pq_train_per_code: int = 64  # PQ training points per centroid (faiss's 256 is slow)
    kmeans_iters: int = 10
    hnsw_quantizer_from: int = 200_000  # above this n, assign to lists through HNSW, not flat
    nprobe: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    k_factor: tuple[int, ...] = (2, 4, 8, 16)


def nlist_for(n: int, params: Params) -> int:
    return max(1, min(n // 39, round(params.nlist_factor * math.sqrt(n))))


def build_flat(base: np.ndarray, params: Params):
    import faiss

    index = faiss.IndexFlatIP(base.shape[1])
    _add(index, base)
    return index


def build_hnsw(base: np.ndarray, params: Params):
    import faiss

    index = faiss.IndexHNSWFlat(base.shape[1], params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = params.ef_construction
    _add(index, base)
    return index


def build_ivfpq(base: np.ndarray, params: Params, seed: int = 0):
    import faiss

    n, dim = base.shape
    nlist = nlist_for(n, params)
    if n >= params.hnsw_quantizer_from:  # assigning 1M vectors to 4,000 lists by brute force is slow
        quantizer = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        quantizer.hnsw.efSearch = 32  # the search widens it to nprobe when nprobe is larger
    else:
        quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, params.pq_m, 8, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = index.pq.cp.niter = params.kmeans_iters
    index.cp.seed = index.pq.cp.seed = seed
    index.cp.max_points_per_centroid = params.train_per_list
    index.pq.cp.max_points_per_centroid = params.pq_train_per_code
    sample = np.random.default_rng(seed).choice(n, min(n, params.train_per_list * nlist), replace=False)
    index.train(base[np.sort(sample)])
    _add(index, base)
    return index


def with_refine(ivf, base: np.ndarray):
    """The filled IVFPQ behind an exact re-ranking step over a copy of the vectors."""
    import faiss

    return faiss.IndexRefineFlat(ivf, faiss.swig_ptr(base))


def _add(index, base: np.ndarray) -> None:
    for a in range(0, len(base), 100_000):
        index.add(base[a : a + 100_000])


def sweep_settings(kind: str, params: Params) -> list[dict]:
    """Search-time settings to try, cheapest first."""
    if kind == "flat":
        return [{}]
    if kind == "hnsw":
        return [{"efSearch": ef} for ef in params.ef_search]
    if kind == "ivfpq":
        return [{"nprobe": p} for p in params.nprobe]
    if kind == "ivfpq+refine":
        return [{"nprobe": p, "k_factor": f} for f in params.k_factor for p in params.nprobe]
    raise ValueError(f"unknown index type {kind!r}")


def apply_setting(index, kind: str, setting: dict) -> None:
    import faiss

    if kind == "hnsw":
        index.hnsw.efSearch = setting["efSearch"]
    elif kind in ("ivfpq", "ivfpq+refine"):
        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = min(setting["nprobe"], ivf.nlist)
        if kind == "ivfpq+refine":
            index.k_factor = setting["k_factor"]


# --- measuring ----------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident memory of this process now (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if len(values) else float("nan")


def single_latency(index, queries: np.ndarray, threads: int, k: int = K) -> list[float]:
    """Milliseconds per one-query search."""
    import faiss

    faiss.omp_set_num_threads(threads)
    index.search(queries[:1], k)  # warm up
    out = []
    for i in range(len(queries)):
        t = time.perf_counter()
        index.search(queries[i : i + 1], k)
        out.append((time.perf_counter() - t) * 1000)
    return out


def batch_latency(index, queries: np.ndarray, threads: int, batch: int = 64, rounds: int = 10, k: int = K) -> list[float]:
    """Milliseconds per search of `batch` queries (taken cyclically from `queries`)."""
    import faiss

    faiss.omp_set_num_threads(threads)
    out = []
    for r in range(rounds):
        xq = np.ascontiguousarray(queries[np.arange(r * batch, (r + 1) * batch) % len(queries)])
        t = time.perf_counter()
        index.search(xq, k)
        out.append((time.perf_counter() - t) * 1000)
    return out


@dataclass
class Row:
    n: int
    kind: str
    setting: dict
    build_s: float
    index_mb: float  # serialised size
    rss_mb: float  # growth of the process's resident memory while building
    recall: float
    p50_1t: float  # single-query latency, 1 thread
    p95_1t: float
    p50_2t: float  # single-query latency, 2 threads
    p95_2t: float
    batch_p50: float  # per batch of 64 queries, 2 threads
    batch_p95: float
    sweep: list[tuple[dict, float, float]] = field(default_factory=list)  # (setting, recall, p50 1 thread)


def _better(a: tuple[float, float], b: tuple[float, float], target: float) -> bool:
    """Is (recall, p50) `a` a better pick than `b`? Reaching the target first, then
    faster; below the target, higher recall."""
    (ra, pa), (rb, pb) = a, b
    if (ra >= target) != (rb >= target):
        return ra >= target
    return pa < pb if ra >= target else ra > rb


def measure(index, kind: str, n: int, build_s: float, rss_mb: float, queries: np.ndarray, truth: np.ndarray,
            params: Params, target: float, threads: int = 2, latency_queries: int | None = None, log=print) -> Row:
    """Sweep the search settings, keep the best, and time it."""
    import faiss

    index_mb = len(faiss.serialize_index(index)) / 2**20
    log(f"  {kind}: built in {build_s:.1f} s, {index_mb:.1f} MB serialised, RSS +{rss_mb:.0f} MB")
    timed = queries if latency_queries is None else queries[:latency_queries]
    sweep, best = [], None
    for setting in sweep_settings(kind, params):
        apply_setting(index, kind, setting)
        faiss.omp_set_num_threads(threads)
        _, found = index.search(queries, K)
        rec = recall_at_k(found, truth)
        p50 = percentile(single_latency(index, timed, 1), 50)
        sweep.append((setting, rec, p50))
        log(f"    {_fmt(setting)}: recall@10 {rec:.3f}, p50 {p50:.2f} ms (1 thread)")
        if best is None or _better((rec, p50), best[1:], target):
            best = (setting, rec, p50)
        if rec >= 0.999 and "k_factor" not in setting:  # larger settings only cost more
            break
    setting, rec, _ = best
    apply_setting(index, kind, setting)
    one = single_latency(index, timed, 1)
    two = single_latency(index, timed, threads)
    batches = batch_latency(index, queries, threads)
    row = Row(n, kind, setting, build_s, index_mb, rss_mb, rec, percentile(one, 50), percentile(one, 95),
              percentile(two, 50), percentile(two, 95), percentile(batches, 50), percentile(batches, 95), sweep)
    log(markdown_table([row]).splitlines()[-1])
    return row


def bench_kind(kind: str, base: np.ndarray, queries: np.ndarray, truth: np.ndarray, params: Params,
               target: float = 0.95, threads: int = 2, latency_queries: int | None = None, log=print) -> list[Row]:
    """Build one index type over `base` and measure it (ivfpq: with and without refine)."""
    import faiss

    builders = {"flat": build_flat, "hnsw": build_hnsw, "ivfpq": build_ivfpq}
    if kind not in builders:
        raise ValueError(f"unknown index type {kind!r}; use {', '.join(builders)}")
    faiss.omp_set_num_threads(threads)
    gc.collect()
    rss0 = rss_bytes()
    t = time.perf_counter()
    index = builders[kind](base, params)
    build_s, rss_mb = time.perf_counter() - t, (rss_bytes() - rss0) / 2**20
    common = dict(queries=queries, truth=truth, params=params, target=target, threads=threads,
                  latency_queries=latency_queries, log=log)
    rows = [measure(index, kind, len(base), build_s, rss_mb, **common)]
    if kind == "ivfpq":
        faiss.omp_set_num_threads(threads)
        t = time.perf_counter()
        refined = with_refine(index, base)
        refine_s, rss_mb = time.perf_counter() - t, (rss_bytes() - rss0) / 2**20
        rows.append(measure(refined, "ivfpq+refine", len(base), build_s + refine_s, rss_mb, **common))
        del refined
    del index
    gc.collect()
    return rows


def _fmt(setting: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in setting.items()) or "exact"


def markdown_table(rows: list[Row]) -> str:
    head = ("| n | index | search params | build s | index MB | RSS +MB | recall@10 "
            "| p50 ms 1t | p95 ms 1t | p50 ms 2t | p95 ms 2t | batch64 p50 ms | batch64 p95 ms |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {r.n:,} | {r.kind} | {_fmt(r.setting)} | {r.build_s:.1f} | {r.index_mb:.1f} | {r.rss_mb:.0f} "
            f"| {r.recall:.3f} | {r.p50_1t:.2f} | {r.p95_1t:.2f} | {r.p50_2t:.2f} | {r.p95_2t:.2f} "
            f"| {r.batch_p50:.1f} | {r.batch_p95:.1f} |"
        )
    return "\n".join(lines)


def run(sizes: list[int], n_queries: int, kinds: list[str], params: Params, target: float = 0.95,
        clusters: int | None = None, latency_queries: int | None = None, threads: int = 2, log=print) -> list[Row]:
    rows = []
    for n in sizes:
        t = time.perf_counter()
        base, queries = make_data(n, n_queries, clusters=clusters)
        truth = exact_neighbours(base, queries)
        log(f"n={n:,}: data and exact neighbours in {time.perf_counter() - t:.1f} s")
        for kind in kinds:
            rows += bench_kind(kind, base, queries, truth, params, target, threads, latency_queries, log)
        del base, queries
        gc.collect()
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated vector counts")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--types", default="flat,hnsw,ivfpq", help="comma-separated: flat, hnsw, ivfpq")
    p.add_argument("--target", type=float, default=0.95, help="recall@10 the kept setting must reach")
    p.add_argument("--hnsw-m", type=int, default=32)
    p.add_argument("--ef-construction", type=int, default=64)
    p.add_argument("--pq-m", type=int, default=48, choices=(32, 48, 64, 96))
    p.add_argument("--nlist-factor", type=float, default=4.0)
    p.add_argument("--latency-queries", type=int, help="time single queries on this many only (default: all)")
    args = p.parse_args(argv)
    params = Params(hnsw_m=args.hnsw_m, ef_construction=args.ef_construction, pq_m=args.pq_m,
                    nlist_factor=args.nlist_factor)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    kinds = [k for k in args.types.split(",") if k]

    def log(line: str) -> None:
        print(line, flush=True)

    rows = run(sizes, args.queries, kinds, params, args.target, latency_queries=args.latency_queries, log=log)
    print()
    print(markdown_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
