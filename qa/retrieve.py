"""Hybrid retrieval: dense FAISS search and BM25 over fugashi terms, fused."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from .config import Config
from .errors import InputError
from .results import Passage
from .store import Index, load_index
from .tokens import terms

log = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def prepare_query(text: str, max_chars: int) -> tuple[str, str]:
    """A usable query and a notice for the user ("" if none), or InputError."""
    if not isinstance(text, str):
        raise InputError("the question must be text")
    query = " ".join(_CONTROL.sub(" ", text).split())
    if not query:
        raise InputError("the question is empty; type a question, e.g. 「WPIの外国人研究者の比率は？」")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in query):
        raise InputError("the question has no words in it (only symbols or emoji); type a question in words")
    notice = ""
    if len(query) > max_chars:
        notice = f"the question was {len(query):,} characters long; only the first {max_chars:,} were used"
        query = query[:max_chars]
    return query, notice


@dataclass(frozen=True)
class Hit:
    """A chunk found by the retrievers, with the evidence each one gave."""

    chunk: int  # index into Index.chunks
    score: float  # fused score
    dense: float  # cosine similarity to the query (0 if not in the dense pool)
    bm25: float  # BM25 score (0 if not in the BM25 pool)


class Retriever:
    """Loads an index once and answers many queries. `search` is the public verb."""

    def __init__(self, index: Index, embedder, config: Config):
        if embedder.dim != index.manifest.get("dimension"):
            raise InputError(
                f"the embedding model gives {embedder.dim}-dim vectors but the index holds "
                f"{index.manifest.get('dimension')}-dim ones; run `qa index` to rebuild it"
            )
        self.index, self.embedder, self.config = index, embedder, config
        self._piece_chunk = np.array([c for c, _ in index.piece_owner], dtype=np.int64)
        self.piece_row = {owner: row for row, owner in enumerate(index.piece_owner)}  # (chunk, piece) -> row

    @classmethod
    def load(cls, config: Config | None = None, embedder=None) -> "Retriever":
        config = config or Config()
        index = load_index(config)
        if embedder is None:
            from .embed import load_embedder

            embedder = load_embedder(config)
        return cls(index, embedder, config)

    # -- the public verb ---------------------------------------------------------

    def search(self, query: str, k: int = 5, mode: str = "hybrid", docs=None) -> list[Passage]:
        """The k best passages for `query`; `docs` limits them to those doc ids."""
        query, notice = prepare_query(query, self.config.max_query_chars)
        if notice:
            log.warning(notice)
        return [self.passage(h, rank) for rank, h in enumerate(self.hits(query, k, mode, docs=docs), start=1)]

    def allowed(self, docs) -> set[int] | None:
        """Chunk indexes of the given doc ids (None: no filter); unknown ids are an error."""
        if not docs:
            return None
        known = {c.doc_id for c in self.index.chunks}
        unknown = sorted(set(docs) - known)
        if unknown:
            raise InputError(
                f"unknown document id(s): {', '.join(unknown)}; the index holds {', '.join(sorted(known))} (see `qa docs`)"
            )
        wanted = set(docs)
        return {i for i, c in enumerate(self.index.chunks) if c.doc_id in wanted}

    # -- the parts, used by answering and the eval suite -------------------------

    def hits(self, query: str, k: int, mode: str = "hybrid", qvec: np.ndarray | None = None, docs=None) -> list[Hit]:
        if k < 1:
            raise InputError("k must be at least 1")
        allowed = self.allowed(docs)
        # With a document filter every chunk is scored, then the others are dropped.
        pool = max(self.config.pool, k) if allowed is None else len(self.index.chunks)
        dense = self.dense(query, pool, qvec) if mode in ("hybrid", "dense") else {}
        sparse = self.sparse(query, pool) if mode in ("hybrid", "bm25") else {}
        if allowed is not None:
            dense = {i: v for i, v in dense.items() if i in allowed}
            sparse = {i: v for i, v in sparse.items() if i in allowed}
        if mode == "dense":
            fused = dict(dense)
        elif mode == "bm25":
            fused = dict(sparse)
        elif mode == "hybrid":
            fused = self._fuse(dense, sparse)
        else:
            raise InputError(f"unknown search mode {mode!r}; use hybrid, dense or bm25")
        order = sorted(fused, key=lambda i: (-fused[i], i))[:k]
        return [Hit(i, float(fused[i]), float(dense.get(i, 0.0)), float(sparse.get(i, 0.0))) for i in order]

    def embed_query(self, query: str) -> np.ndarray:
        return self.embedder.embed_queries([query])[0]

    def dense(self, query: str, n: int, qvec: np.ndarray | None = None) -> dict[int, float]:
        """Cosine of the query to each of the top-n chunks; with `piece_weight` > 0 a
        chunk's score also counts its best-matching piece (sentence, row)."""
        qvec = self.embed_query(query) if qvec is None else qvec
        n = min(n, self.index.dense.ntotal)
        scores, ids = self.index.dense.search(qvec.reshape(1, -1).astype(np.float32), n)
        out = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
        w = self.config.piece_weight
        if w > 0:
            best = self.best_pieces(qvec)
            out = {i: (1 - w) * s + w * best.get(i, s) for i, s in out.items()}
        return out

    def best_pieces(self, qvec: np.ndarray) -> dict[int, float]:
        """Per chunk, the highest cosine of any of its pieces to the query."""
        best = np.full(len(self.index.chunks), -2.0, dtype=np.float32)
        np.maximum.at(best, self._piece_chunk, self.index.piece_vectors @ qvec)
        return {i: float(v) for i, v in enumerate(best) if v > -2.0}

    def sparse(self, query: str, n: int) -> dict[int, float]:
        words = terms(query, self.config.bm25_form)
        vocab = self.index.bm25.vocab_dict
        words = [w for w in words if w in vocab]
        if not words:
            return {}
        scores = self.index.bm25.get_scores(words)
        top = np.argsort(-scores, kind="stable")[:n]
        return {int(i): float(scores[i]) for i in top if scores[i] > 0}

    def _fuse(self, dense: dict[int, float], sparse: dict[int, float]) -> dict[int, float]:
        w = self.config.dense_weight
        if self.config.fusion == "weighted":
            d, s = _minmax(dense), _minmax(sparse)
            return {i: w * d.get(i, 0.0) + (1 - w) * s.get(i, 0.0) for i in set(d) | set(s)}
        k = self.config.rrf_k
        fused: dict[int, float] = {}
        for weight, scores in ((w, dense), (1 - w, sparse)):
            for rank, i in enumerate(sorted(scores, key=lambda i: -scores[i]), start=1):
                fused[i] = fused.get(i, 0.0) + weight / (k + rank)
        return fused

    def passage(self, hit: Hit, rank: int, text: str | None = None) -> Passage:
        c = self.index.chunks[hit.chunk]
        return Passage(rank, round(hit.score, 6), c.doc_id, c.source, c.slide, c.title,
                       c.text if text is None else text, c.start, c.end)


def _minmax(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo or 1.0
    return {i: (s - lo) / span for i, s in scores.items()}
