"""The index as retrieval sees it: an interface keyed by chunk ids, and its default
implementation over plain files (FAISS + bm25s + numpy), loaded lazily and checked.

A store answers four questions, each optionally limited to some documents, and never
by scanning the whole corpus: which chunks are nearest a query vector, which match
these terms, how each piece of these chunks scores against a query vector, and what a
chunk is. Another store (a database, a vector engine) implements `Store` and plugs in
through `Pipeline(store=...)`; retrieval and answering do not change.

Layout of one build folder (written by `qa.indexer`):

    manifest.json      versions, model, settings, corpus hash, documents, file checksums
    chunks.jsonl       one chunk per line, with spans and answerable pieces
    chunk_offsets.npy  byte offset of each line (and of the end), so chunks are read on demand
    chunk_ids.npy      chunk ids by row (the row is the FAISS id)
    dense.faiss        inner-product FAISS index over the chunk vectors
    vectors.npy        one vector per embedded text: the pieces by chunk, then chunks without pieces
    piece_bounds.npy   chunk row -> its first piece row (n_chunks + 1 entries)
    keys.txt           content hash per row of vectors.npy, for reuse by the next build
    bm25/              bm25s files over fugashi terms of the chunks
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunker import Chunk, Piece
from .config import Config
from .corpus import corpus_sha256, load_corpus
from .errors import IndexMissingError, IndexStaleError, InputError

log = logging.getLogger(__name__)

REBUILD = "run `qa index` to rebuild it"
CHUNK_CACHE = 4096  # chunks kept parsed in memory


class Store(Protocol):
    manifest: dict
    dim: int

    def __len__(self) -> int: ...

    def documents(self) -> list[dict]: ...

    def dense_search(self, qvec: np.ndarray, n: int, docs=None) -> dict[str, float]: ...

    def lexical_search(self, words: list[str], n: int, docs=None) -> dict[str, float]: ...

    def piece_scores(self, qvec: np.ndarray, chunk_ids) -> dict[str, np.ndarray]: ...

    def chunk(self, chunk_id: str) -> Chunk: ...

    def doc_freq(self, words) -> dict[str, int]: ...

    def first_page(self, doc_id: str) -> list[Chunk]: ...


# --- the live build -------------------------------------------------------------------


def current_dir(index_dir: Path) -> Path:
    """The folder `CURRENT` names, or an error naming `qa index`."""
    try:
        raw = (index_dir / "CURRENT").read_bytes()
    except FileNotFoundError:
        raise IndexMissingError(f"no index in {index_dir}; run `qa index` to build it") from None
    except OSError as exc:
        raise IndexStaleError(f"cannot read {index_dir / 'CURRENT'} ({exc.strerror}); {REBUILD}") from None
    name = raw.decode("utf-8", "replace").strip()
    path = index_dir / name
    if not name.startswith("build-") or "/" in name or not (path / "manifest.json").is_file():
        raise IndexStaleError(f"{index_dir / 'CURRENT'} does not name a build in {index_dir}; {REBUILD}")
    return path


def current_name(index_dir: Path) -> str | None:
    """The live build's folder name, cheaply (for noticing a rebuild); None if unreadable."""
    try:
        return (index_dir / "CURRENT").read_bytes().decode("utf-8", "replace").strip() or None
    except OSError:
        return None


def read_manifest(path: Path) -> dict:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStaleError(f"the index manifest in {path} is unreadable ({exc}); {REBUILD}") from None
    shape = {"settings": dict, "files": dict, "documents": list, "dimension": int, "chunk_count": int}
    if not isinstance(manifest, dict) or any(not isinstance(manifest.get(k), t) for k, t in shape.items()):
        raise IndexStaleError(f"the index manifest in {path} is not one this version wrote; {REBUILD}")
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(path: Path, manifest: dict, names=None) -> None:
    """Every file (or those named) has the checksum the manifest recorded."""
    for name, digest in manifest["files"].items():
        if names is not None and name not in names:
            continue
        f = path / name
        if not f.is_file() or sha256_file(f) != digest:
            raise IndexStaleError(f"index file {f} is missing or damaged; {REBUILD}")


# --- the default store ------------------------------------------------------------------


class FileStore:
    """A build folder opened for search. Vectors and BM25 scores are memory-mapped;
    chunks are parsed when asked for."""

    def __init__(self, path: Path, manifest: dict, dense, bm25, vectors, bounds, ids, offsets, chunks_fd: int):
        self.path, self.manifest = Path(path), manifest
        self.dim = int(manifest["dimension"])
        self._dense, self._bm25 = dense, bm25
        self._vectors, self._bounds, self._ids, self._offsets = vectors, bounds, ids, offsets
        self._order = np.argsort(ids, kind="stable")
        self._sorted_ids = ids[self._order]
        self._docs = {d["doc_id"]: (int(d["first_row"]), int(d["end_row"])) for d in manifest["documents"]}
        self._vocab = bm25.vocab_dict
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._cache_lock = threading.Lock()
        # Held open, so a rebuild that prunes this folder does not pull it away from us.
        self._chunks_fd = chunks_fd

    def __del__(self):
        with contextlib.suppress(Exception):
            os.close(self._chunks_fd)

    @classmethod
    def load(cls, config: Config, check_corpus: bool = True, verify: bool = True) -> "FileStore":
        """The live build, checked against the settings, the corpus and its checksums."""
        path = current_dir(config.index_dir)
        manifest = read_manifest(path)
        wanted, settings = config.index_settings(), manifest["settings"]
        changed = sorted(k for k in wanted if settings.get(k) != wanted[k])
        if changed:
            detail = ", ".join(f"{k}: index {settings.get(k)!r} vs now {wanted[k]!r}" for k in changed)
            raise IndexStaleError(f"the index was built with other settings ({detail}); {REBUILD}")
        if verify:
            verify_files(path, manifest)
        if check_corpus:
            docs = load_corpus(config.corpus_dir, config.root)
            if corpus_sha256(docs) != manifest.get("corpus_sha256"):
                raise IndexStaleError(f"the corpus in {config.corpus_dir} changed after the index was built; {REBUILD}")
        return cls.open(path, manifest)

    @classmethod
    def open(cls, path: Path, manifest: dict) -> "FileStore":
        import bm25s
        import faiss

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        # One query at a time is FAISS's job here; its OpenMP threads only spin against
        # the other requests and the model (measured: 0.3 ms vs 41 ms at 10k chunks on 2 busy cores).
        faiss.omp_set_num_threads(1)
        try:
            dense = faiss.read_index(str(path / "dense.faiss"))
            bm25 = bm25s.BM25.load(str(path / "bm25"), mmap=True, show_progress=False)
            vectors = np.load(path / "vectors.npy", mmap_mode="r")
            bounds = np.load(path / "piece_bounds.npy")
            ids = np.load(path / "chunk_ids.npy")
            offsets = np.load(path / "chunk_offsets.npy")
            fd = os.open(path / "chunks.jsonl", os.O_RDONLY)
        except Exception as exc:  # any unreadable file means the same thing to the user
            raise IndexStaleError(f"cannot read the index in {path} ({exc}); {REBUILD}") from None
        n = int(manifest["chunk_count"])
        if not (dense.ntotal == len(ids) == len(offsets) - 1 == n and len(bounds) == n + 1
                and bounds[-1] <= len(vectors) and vectors.shape[1:] == (manifest["dimension"],)):
            os.close(fd)
            raise IndexStaleError(f"the index files in {path} disagree in size; {REBUILD}")
        return cls(path, manifest, dense, bm25, vectors, bounds, ids, offsets, fd)

    def __len__(self) -> int:
        return len(self._ids)

    def documents(self) -> list[dict]:
        return self.manifest["documents"]

    # -- search, each limited to `docs` when given ----------------------------------

    def _ranges(self, docs) -> list[tuple[int, int]] | None:
        if not docs:
            return None
        unknown = sorted(set(docs) - set(self._docs))
        if unknown:
            raise InputError(
                f"unknown document id(s): {', '.join(unknown)}; the index holds "
                f"{', '.join(sorted(self._docs))} (see `qa docs`)"
            )
        return sorted(self._docs[d] for d in set(docs))

    def dense_search(self, qvec: np.ndarray, n: int, docs=None) -> dict[str, float]:
        import faiss

        ranges = self._ranges(docs)
        n = min(n, len(self) if ranges is None else sum(b - a for a, b in ranges))
        if n <= 0:
            return {}
        params = _search_params(faiss, self._dense, ranges)
        scores, rows = self._dense.search(np.asarray(qvec, np.float32).reshape(1, -1), n, params=params)
        return {self._ids[r].decode(): float(s) for r, s in zip(rows[0], scores[0]) if r >= 0}

    def lexical_search(self, words: list[str], n: int, docs=None) -> dict[str, float]:
        words = [w for w in words if w in self._vocab]
        ranges = self._ranges(docs)
        if not words:
            return {}
        mask = None
        if ranges is not None:
            mask = np.zeros(len(self), dtype=np.float32)
            for a, b in ranges:
                mask[a:b] = 1.0
        scores = self._bm25.get_scores(words, weight_mask=mask)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return {self._ids[r].decode(): float(scores[r]) for r in top if scores[r] > 0}

    def piece_scores(self, qvec: np.ndarray, chunk_ids) -> dict[str, np.ndarray]:
        """Cosine of `qvec` to each piece of the given chunks (in piece order)."""
        chunk_ids = list(chunk_ids)
        if not chunk_ids:
            return {}
        rows = self._rows(chunk_ids)
        starts, ends = self._bounds[rows], self._bounds[rows + 1]
        counts = ends - starts
        # every piece row of these chunks, gathered in order and scored in one product
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        order = np.argsort(offsets, kind="stable")
        scores = np.empty(len(offsets), dtype=np.float32)
        scores[order] = np.asarray(self._vectors[offsets[order]] @ qvec, dtype=np.float32)
        return dict(zip(chunk_ids, np.split(scores, np.cumsum(counts)[:-1])))

    # -- chunks ------------------------------------------------------------------------

    def _rows(self, chunk_ids: list[str]) -> np.ndarray:
        keys = np.asarray(chunk_ids, dtype=self._sorted_ids.dtype)
        at = np.minimum(np.searchsorted(self._sorted_ids, keys), len(self._sorted_ids) - 1)
        missing = self._sorted_ids[at] != keys
        if missing.any():
            raise KeyError(chunk_ids[int(np.argmax(missing))])
        return self._order[at]

    def _row(self, chunk_id: str) -> int:
        return int(self._rows([chunk_id])[0])

    def chunk(self, chunk_id: str) -> Chunk:
        return self.chunk_at(self._row(chunk_id))

    def chunk_at(self, row: int) -> Chunk:
        with self._cache_lock:
            cached = self._cache.get(row)
            if cached is not None:
                self._cache.move_to_end(row)
                return cached
        a, b = int(self._offsets[row]), int(self._offsets[row + 1])
        chunk = chunk_from_json(os.pread(self._chunks_fd, b - a, a))
        with self._cache_lock:
            self._cache[row] = chunk
            if len(self._cache) > CHUNK_CACHE:
                self._cache.popitem(last=False)
        return chunk

    def doc_chunks(self, doc_id: str) -> list[Chunk]:
        """Every chunk of one document, in order (for showing a whole slide)."""
        a, b = self._docs[doc_id]
        return [self.chunk_at(r) for r in range(a, b)]

    def first_page(self, doc_id: str) -> list[Chunk]:
        """The chunks of a document's first slide or page (its title page)."""
        a, b = self._docs[doc_id]
        out = [self.chunk_at(a)] if a < b else []
        while a + len(out) < b and (c := self.chunk_at(a + len(out))).slide == out[0].slide:
            out.append(c)
        return out

    def doc_freq(self, words) -> dict[str, int]:
        """How many chunks hold each BM25 term (0: none does)."""
        indptr = self._bm25.scores["indptr"]
        return {w: int(indptr[i + 1] - indptr[i]) if (i := self._vocab.get(w)) is not None else 0 for w in words}


def _search_params(faiss, index, ranges):
    """FAISS search parameters: the index type's search-time settings (FAISS does not
    store them in the file) and, for a document filter, an ID selector over row ranges."""
    sel = None
    if ranges:
        parts = [faiss.IDSelectorRange(a, b) for a, b in ranges]
        sel = parts[0]
        for part in parts[1:]:
            sel = faiss.IDSelectorOr(sel, part)
        sel.keep = parts  # the Python objects must outlive the search
    if hasattr(index, "hnsw"):
        return faiss.SearchParametersHNSW(sel=sel, efSearch=64) if sel else faiss.SearchParametersHNSW(efSearch=64)
    if isinstance(index, faiss.IndexRefine):
        base = faiss.SearchParametersIVF(sel=sel, nprobe=8) if sel else faiss.SearchParametersIVF(nprobe=8)
        params = faiss.IndexRefineSearchParameters(k_factor=8, base_index_params=base)
        params.keep = base
        return params
    return faiss.SearchParameters(sel=sel) if sel else None


def chunk_to_json(c: Chunk) -> str:
    row = {k: getattr(c, k) for k in ("id", "doc_id", "source", "slide", "title", "context", "start", "end", "text")}
    row["pieces"] = [[p.start, p.end, p.text, p.kind] for p in c.pieces]
    return json.dumps(row, ensure_ascii=False)


def chunk_from_json(line: bytes | str) -> Chunk:
    row = json.loads(line)
    row["pieces"] = tuple(Piece(*p) for p in row["pieces"])
    return Chunk(**row)
