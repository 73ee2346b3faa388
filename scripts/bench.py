"""Benchmark the deck pipeline on this machine and print the numbers.

    python scripts/bench.py [--runs 3]

Prints: chunks built, index build time (model already built, nothing reused), warm
search and ask latency over the gold questions, the cold `qa search` process time
beside its floor (importing sentence-transformers and loading the model in a fresh
process, measured in the same run), and peak memory. Numbers, not assertions: the
machines are shared, so compare the ratios printed side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FLOOR = """
import sys, time
t = time.perf_counter()
from sentence_transformers import SentenceTransformer
m = SentenceTransformer(sys.argv[1], device="cpu", local_files_only=True)
m.encode_query(["warm"])
"""


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def timed(cmd, env) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="cold process runs to take the median of")
    args = parser.parse_args()

    from qa.answer import Answerer
    from qa.config import Config
    from qa.embed import load_embedder, model_path
    from qa.search import Retriever
    from qa.store import build_index, load_index

    tmp = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    shutil.copytree(REPO / "corpus", tmp / "corpus")
    config = Config(root=tmp)
    embedder = load_embedder(config)
    started = time.perf_counter()
    path = build_index(config, embedder)
    build_s = time.perf_counter() - started
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    print(f"chunks built:            {manifest['chunk_count']} ({manifest['piece_count']} pieces embedded for answers)")
    print(f"index build:             {build_s:.2f} s (model loaded, nothing reused)")

    answerer = Answerer(Retriever(load_index(config), embedder, config), config)
    questions = [json.loads(line)["question"] for line in (REPO / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    for q in questions[:5]:
        answerer.ask(q)
    search_ms, ask_ms = [], []
    for q in questions:
        t = time.perf_counter()
        answerer.retriever.search(q, 5)
        search_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answerer.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
    print(f"warm search ({len(questions)} q):   p50 {pct(search_ms, 50):.1f} ms, p95 {pct(search_ms, 95):.1f} ms")
    print(f"warm ask ({len(questions)} q):      p50 {pct(ask_ms, 50):.1f} ms, p95 {pct(ask_ms, 95):.1f} ms")

    env = dict(os.environ, QA_ROOT=str(tmp))
    qa = [sys.executable, "-m", "qa", "search", "WPIの外国人研究者の比率は？", "--json"]
    floor = [sys.executable, "-c", FLOOR, model_path(config)]
    cold, base = [], []
    for _ in range(args.runs):  # interleaved, so both see the same machine load
        base.append(timed(floor, env))
        cold.append(timed(qa, env))
    c, b = statistics.median(cold), statistics.median(base)
    print(f"cold floor (import+load): {b:.2f} s (median of {args.runs})")
    print(f"cold `qa search`:         {c:.2f} s  -> {c / b:.2f} x the floor (target <= 1.25)")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory:             {own:.0f} MiB this process, {kids:.0f} MiB largest child (`qa search`)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
