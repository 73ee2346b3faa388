"""A tiny run of scripts/scale_bench.py: the measuring code works and recall is sane."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import scale_bench as sb  # noqa: E402

TINY = sb.Params(hnsw_m=16, ef_construction=40, ef_search=(16, 64), pq_m=16, pq_train_per_code=32, kmeans_iters=5,
                 nprobe=(4, 16), k_factor=(4,))


@pytest.fixture(scope="module")
def rows():
    lines: list[str] = []
    # one thread: on a shared 2-core machine OpenMP threads waiting on each other make 2 slow
    out = sb.run([3000], 50, ["flat", "hnsw", "ivfpq"], TINY, clusters=100, threads=1, log=lines.append)
    assert any(line.startswith("n=3,000") for line in lines)
    return out


def test_data_is_unit_length_and_queries_are_new():
    base, queries = sb.make_data(2000, 20, clusters=50)
    assert base.dtype == np.float32 and base.shape == (2000, sb.DIM) and queries.shape == (20, sb.DIM)
    assert np.allclose(np.linalg.norm(base, axis=1), 1, atol=1e-5)
    assert (queries @ base.T).max() < 0.9999  # no query is a base vector
    truth = sb.exact_neighbours(base, queries)
    assert sb.recall_at_k(truth, truth) == 1.0 and sb.recall_at_k(truth[:, ::-1], truth) == 1.0
    assert sb.recall_at_k(np.full_like(truth, -1), truth) == 0.0


def test_recall_of_each_index_type(rows):
    recall = {r.kind: r.recall for r in rows}
    assert set(recall) == {"flat", "hnsw", "ivfpq", "ivfpq+refine"}
    assert recall["flat"] == 1.0
    assert all(recall[k] > 0.5 for k in ("hnsw", "ivfpq", "ivfpq+refine"))
    for r in rows:
        assert r.n == 3000 and r.index_mb > 0 and r.build_s >= 0
        assert 0 < r.p50_1t <= r.p95_1t and 0 < r.batch_p50 <= r.batch_p95
        assert r.sweep and r.setting in [s for s, _, _ in r.sweep]
    assert {r.kind: r.index_mb for r in rows}["ivfpq"] < {r.kind: r.index_mb for r in rows}["flat"]  # codes are small


def test_table(rows):
    table = sb.markdown_table(rows).splitlines()
    assert len(table) == 2 + len(rows)
    assert all(line.startswith("|") and line.endswith("|") and line.count("|") == table[0].count("|") for line in table)
    assert "| 3,000 | flat | exact |" in table[2]


def test_the_pick_prefers_reaching_the_target_then_speed():
    assert sb._better((0.96, 2.0), (0.90, 1.0), 0.95)
    assert sb._better((0.96, 1.0), (0.99, 2.0), 0.95)
    assert sb._better((0.90, 9.0), (0.80, 1.0), 0.95)
    assert not sb._better((0.80, 1.0), (0.96, 9.0), 0.95)
