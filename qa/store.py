"""The index on disk: build, save, load.

Layout under `index/`: one folder per build, plus `CURRENT`, a one-line file naming
the live build. A build is written to a temporary folder, checked, renamed into
place, and only then made live by replacing `CURRENT` atomically, so a build that
dies at any moment leaves the previous index untouched. Each build folder holds:

    manifest.json      versions, model, settings, corpus hash, file checksums
    chunks.jsonl       one chunk per line, with spans and answerable pieces
    dense.faiss        inner-product FAISS index over normalised chunk vectors
    chunk_vectors.npy  the same vectors, reused by the next build
    piece_vectors.npy  vectors of the pieces, for picking the answer sentence
    piece_keys.txt     content hash of each embedded piece text, for reuse
    bm25/              bm25s files over fugashi terms of the chunks
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .chunker import Chunk, Piece, chunk_document
from .config import Config
from .corpus import Document, corpus_sha256, load_corpus
from .errors import IndexMissingError, IndexStaleError, QAError
from .tokens import terms

log = logging.getLogger(__name__)

REBUILD = "run `qa index` to rebuild it"


@dataclass
class Index:
    path: Path
    manifest: dict
    chunks: list[Chunk]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25
    piece_vectors: np.ndarray
    piece_owner: list[tuple[int, int]]  # (chunk index, piece index) per piece vector row


# --- building -------------------------------------------------------------------


def build_index(config: Config, embedder, docs: list[Document] | None = None, progress: bool = False) -> Path:
    """Chunk, embed and index the corpus; returns the new live build folder."""
    docs = load_corpus(config.corpus_dir, config.root) if docs is None else docs
    config.index_dir.mkdir(parents=True, exist_ok=True)
    with _lock(config.index_dir):
        started = time.perf_counter()
        chunks = [c for doc in docs for c in chunk_document(doc, config.max_tokens)]
        if not chunks:
            raise QAError("the corpus has no text to index; add a document with some text to corpus/")
        reuse = _previous_vectors(config, embedder.name)
        chunk_vecs, fresh_chunks = _embed(embedder, [c.embed_text for c in chunks], [c.id for c in chunks], reuse, progress)
        piece_texts, owner = _pieces(chunks)
        piece_vecs, fresh_pieces = _embed(embedder, piece_texts, [_text_key(t) for t in piece_texts], reuse, progress)
        fresh = fresh_chunks + fresh_pieces
        stats = {"embedded": fresh, "reused": len(chunks) + len(piece_texts) - fresh,
                 "seconds": round(time.perf_counter() - started, 2)}
        log.info("embedded %d texts, reused %d", stats["embedded"], stats["reused"])
        tmp = config.index_dir / f".tmp-{os.getpid()}-{time.time_ns()}"
        tmp.mkdir()
        try:
            _write(tmp, config, embedder, docs, chunks, chunk_vecs, piece_vecs, owner, stats)
            final = config.index_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(3).hex()}"
            os.rename(tmp, final)
            _fsync_dir(config.index_dir)
            _set_current(config.index_dir, final.name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _prune(config.index_dir, keep=final.name)
        return final


def _pieces(chunks: list[Chunk]) -> tuple[list[str], list[tuple[int, int]]]:
    """Texts to embed for the pieces (each with its chunk's heading context, since a
    short row like 「開催場所：イタリア・ボローニャ」 means little alone) and their owners."""
    texts, owner = [], []
    for ci, chunk in enumerate(chunks):
        for pi, piece in enumerate(chunk.pieces):
            texts.append(f"{chunk.context}\n{piece.text}")
            owner.append((ci, pi))
    return texts, owner


def _text_key(text: str) -> str:
    return "p:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _embed(embedder, texts, keys, reuse: dict, progress) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, taking those whose key the previous build has."""
    missing = [i for i, key in enumerate(keys) if key not in reuse]
    fresh = embedder.embed_documents([texts[i] for i in missing], progress=progress) if missing else None
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in reuse:
            out[i] = reuse[key]
    if fresh is not None:
        out[missing] = fresh
    return out, len(missing)


def _previous_vectors(config: Config, model: str) -> dict[str, np.ndarray]:
    """Vectors of the live build, keyed by chunk id or piece text, if it used this model."""
    try:
        path = _current_dir(config.index_dir)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        if manifest["model"] != model:
            return {}
        chunks = _read_chunks(path)
        vectors = np.load(path / "chunk_vectors.npy")
        pieces = np.load(path / "piece_vectors.npy")
    except (QAError, OSError, ValueError, KeyError):
        return {}
    out = {c.id: v for c, v in zip(chunks, vectors)}
    keys = (path / "piece_keys.txt").read_text(encoding="utf-8").split()
    if len(keys) == len(pieces):  # the keys of what was embedded, not recomputed
        out.update(zip(keys, pieces))
    return out


def _write(path: Path, config, embedder, docs, chunks, chunk_vecs, piece_vecs, owner, stats) -> None:
    import bm25s
    import faiss

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
    with open(path / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in chunks:
            row = {k: getattr(c, k) for k in ("id", "doc_id", "source", "slide", "title", "context", "start", "end", "text")}
            row["pieces"] = [[p.start, p.end, p.text, p.kind] for p in c.pieces]
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    np.save(path / "chunk_vectors.npy", chunk_vecs)
    np.save(path / "piece_vectors.npy", piece_vecs)
    piece_texts, _ = _pieces(chunks)
    (path / "piece_keys.txt").write_text("".join(_text_key(t) + "\n" for t in piece_texts), encoding="utf-8")
    dense = _dense_index(faiss, chunk_vecs, config.index_type)
    faiss.write_index(dense, str(path / "dense.faiss"))
    bm25 = bm25s.BM25()
    bm25.index([terms(c.embed_text, config.bm25_form) or [""] for c in chunks], show_progress=False)
    bm25.save(str(path / "bm25"), show_progress=False)
    manifest = {
        "format": 1,
        "qa_version": __version__,
        "model": embedder.name,
        "dimension": embedder.dim,
        "settings": config.index_settings(),
        "config": {k: v for k, v in config.asdict().items() if k not in ("root", "home")},
        "index_type": index_kind(config.index_type, len(chunks)),
        "chunk_count": len(chunks),
        "piece_count": len(owner),
        "corpus_sha256": corpus_sha256(docs),
        "documents": [{"doc_id": d.doc_id, "source": d.source, "title": d.title, "sha256": d.sha256} for d in docs],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_stats": stats,
    }
    manifest["files"] = {
        f.relative_to(path).as_posix(): _sha256(f) for f in sorted(path.rglob("*")) if f.is_file()
    }
    (path / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())


def index_kind(requested: str, n: int) -> str:
    """The FAISS index type for n vectors: exact below APPROXIMATE_FROM (measured by
    scripts/scale_bench.py: flat p50 ~9 ms at 100k, 63 ms at 1M), else HNSW."""
    if requested not in ("auto", "flat", "hnsw", "ivfpq"):
        raise QAError(f"unknown index_type {requested!r}; use auto, flat, hnsw or ivfpq")
    if requested == "ivfpq" and n < 10_000:  # too few vectors to train the quantiser
        log.warning("index_type ivfpq needs 10,000 chunks or more; using flat for %d", n)
        return "flat"
    if requested != "auto":
        return requested
    return "flat" if n < APPROXIMATE_FROM else "hnsw"


APPROXIMATE_FROM = 50_000


def _dense_index(faiss, vectors: np.ndarray, requested: str):
    n, dim = vectors.shape
    kind = index_kind(requested, n)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 64
    else:  # IVF with product quantisation, re-ranked exactly (PQ alone tops out near 0.85 recall)
        nlist = max(1, min(int(4 * n**0.5), n // 39))
        ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors)
        index = faiss.IndexRefineFlat(ivf)
    index.add(vectors)
    return index


def _tune_search(faiss, index) -> None:
    """Search-time settings, which FAISS does not store in the file."""
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = 64
    if isinstance(index, faiss.IndexRefine):
        faiss.extract_index_ivf(index.base_index).nprobe = 8
        index.k_factor = 8


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _set_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f".CURRENT.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / "CURRENT")
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(index_dir: Path, keep: str) -> None:
    """Remove old builds and leftovers of killed builds (we hold the lock)."""
    for entry in index_dir.iterdir():
        if entry.name != keep and (entry.name.startswith("build-") or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _lock(index_dir: Path):
    with open(index_dir / ".lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise QAError(
                    f"another `qa index` is already building in {index_dir}; wait for it to finish and try again"
                ) from exc
            raise
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- loading --------------------------------------------------------------------


def _current_dir(index_dir: Path) -> Path:
    try:
        name = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(f"no index in {index_dir}; run `qa index` to build it") from None
    path = index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise IndexStaleError(f"{index_dir / 'CURRENT'} names a build that is not there; {REBUILD}")
    return path


def _read_chunks(path: Path) -> list[Chunk]:
    chunks = []
    with open(path / "chunks.jsonl", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            row["pieces"] = tuple(Piece(*p) for p in row["pieces"])
            chunks.append(Chunk(**row))
    return chunks


def load_index(config: Config, check_corpus: bool = True, verify_files: bool = True) -> Index:
    """The live index, checked against the corpus, the settings and its checksums."""
    path = _current_dir(config.index_dir)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        settings = manifest["settings"]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexStaleError(f"the index manifest in {path} is unreadable ({exc}); {REBUILD}") from exc
    wanted = config.index_settings()
    changed = sorted(k for k in wanted if settings.get(k) != wanted[k])
    if changed:
        detail = ", ".join(f"{k}: index {settings.get(k)!r} vs now {wanted[k]!r}" for k in changed)
        raise IndexStaleError(f"the index was built with other settings ({detail}); {REBUILD}")
    if verify_files:
        for name, digest in manifest.get("files", {}).items():
            f = path / name
            if not f.is_file() or _sha256(f) != digest:
                raise IndexStaleError(f"index file {f} is missing or damaged; {REBUILD}")
    if check_corpus:
        docs = load_corpus(config.corpus_dir, config.root)
        if corpus_sha256(docs) != manifest.get("corpus_sha256"):
            raise IndexStaleError(f"the corpus in {config.corpus_dir} changed after the index was built; {REBUILD}")
    import bm25s
    import faiss

    try:
        chunks = _read_chunks(path)
        dense = faiss.read_index(str(path / "dense.faiss"))
        _tune_search(faiss, dense)
        bm25 = bm25s.BM25.load(str(path / "bm25"), show_progress=False)
        piece_vectors = np.load(path / "piece_vectors.npy")
    except Exception as exc:  # any unreadable file means the same thing to the user
        raise IndexStaleError(f"cannot read the index in {path} ({exc}); {REBUILD}") from exc
    _, owner = _pieces(chunks)
    if dense.ntotal != len(chunks) or len(piece_vectors) != len(owner):
        raise IndexStaleError(f"the index files in {path} disagree in size; {REBUILD}")
    return Index(path, manifest, chunks, dense, bm25, piece_vectors, owner)
