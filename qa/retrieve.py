"""Hybrid retrieval over a store: dense and BM25 candidates, fused, with a chunk's
dense score sharpened by its best piece. Cost follows the candidate pool, never the
corpus: pieces are scored for the pooled chunks only, and a document filter is
pushed down into both searches."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from . import fusion
from .config import Config
from .errors import IndexStaleError, InputError
from .results import Passage
from .tokens import terms

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
MODES = ("hybrid", "dense", "bm25")


def prepare_query(text: str, max_chars: int) -> str:
    """The question with control characters and runs of spaces tidied, or InputError."""
    if not isinstance(text, str):
        raise InputError("the question must be text")
    query = " ".join(_CONTROL.sub(" ", text).split())
    if not query:
        raise InputError("the question is empty; type a question, e.g. 「WPIの外国人研究者の比率は？」")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in query):
        raise InputError("the question has no words in it (only symbols or emoji); type a question in words")
    if len(query) > max_chars:
        raise InputError(
            f"the question is {len(query):,} characters long; the limit is {max_chars:,}. "
            "Ask about one thing at a time, in a sentence or two"
        )
    return query


@dataclass(frozen=True)
class Hit:
    """A chunk found by the retrievers, with the evidence each one gave."""

    chunk_id: str
    score: float  # fused score
    dense: float  # cosine similarity to the query (0 if not in the dense pool)
    bm25: float  # BM25 score (0 if not in the BM25 pool)
    pieces: np.ndarray | None = None  # cosine of each of the chunk's pieces to the query


class Retriever:
    def __init__(self, store, embedder, config: Config):
        if embedder.dim != store.dim:
            raise IndexStaleError(
                f"the embedding model gives {embedder.dim}-dim vectors but the index holds "
                f"{store.dim}-dim ones; run `qa index` to rebuild it"
            )
        self.store, self.embedder, self.config = store, embedder, config

    def search(self, query: str, k: int = 5, mode: str = "hybrid", docs=None) -> list[Passage]:
        """The k best passages for `query`; `docs` limits them to those doc ids."""
        query = prepare_query(query, self.config.retrieval.max_query_chars)
        return [self.passage(h, rank) for rank, h in enumerate(self.hits(query, k, mode, docs=docs), start=1)]

    def embed_query(self, query: str) -> np.ndarray:
        return self.embedder.embed_queries([query])[0]

    def hits(self, query: str, k: int, mode: str = "hybrid", qvec: np.ndarray | None = None, docs=None) -> list[Hit]:
        if k < 1:
            raise InputError("k must be at least 1")
        if mode not in MODES:
            raise InputError(f"unknown search mode {mode!r}; use hybrid, dense or bm25")
        cfg = self.config.retrieval
        pool = max(cfg.pool, k)
        dense, pieces = {}, {}
        if mode in ("hybrid", "dense"):
            qvec = self.embed_query(query) if qvec is None else qvec
            dense = self.store.dense_search(qvec, pool, docs)
        sparse = self.store.lexical_search(terms(query, self.config.index.bm25_form), pool, docs) if mode != "dense" else {}
        if qvec is not None:  # piece scores for the pooled chunks only
            pieces = self.store.piece_scores(qvec, list(dense.keys() | sparse.keys()))
            w = cfg.piece_weight
            if w > 0:
                dense = {i: (1 - w) * s + w * _best(pieces[i], s) for i, s in dense.items()}
        if mode == "dense":
            fused = dense
        elif mode == "bm25":
            fused = sparse
        elif cfg.fusion == "weighted":
            fused = fusion.weighted(dense, sparse, cfg.dense_weight)
        else:
            fused = fusion.rrf(dense, sparse, cfg.dense_weight, cfg.rrf_k)
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        return [Hit(i, float(fused[i]), float(dense.get(i, 0.0)), float(sparse.get(i, 0.0)), pieces.get(i))
                for i in order]

    def passage(self, hit: Hit, rank: int) -> Passage:
        c = self.store.chunk(hit.chunk_id)
        return Passage(rank, round(hit.score, 6), c.doc_id, c.source, c.slide, c.title, c.text, c.start, c.end)


def _best(scores: np.ndarray, default: float) -> float:
    return float(scores.max()) if len(scores) else default
