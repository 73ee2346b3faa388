"""Building the index: chunk the corpus, embed each text once, write a build folder.

Each piece (sentence, bullet, table row) is embedded once, with its chunk's heading
context; a chunk's vector is the normalised mean of its pieces' vectors, so a chunk is
never embedded a second time as a whole (a chunk without pieces is embedded itself).

A build is written to a temporary folder, renamed into place, and only then made live
by replacing `CURRENT` atomically: a build that dies at any moment, or runs out of
disk, leaves the previous index answering. Vectors of the live build are reused for
texts whose content hash is unchanged, after their checksums are verified.
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
from pathlib import Path

import numpy as np

from . import __version__
from .chunker import Chunk, chunk_document
from .config import Config
from .corpus import Document, corpus_sha256, load_corpus
from .errors import QAError
from .store import chunk_to_json, current_dir, read_manifest, sha256_file, verify_files
from .tokens import terms

log = logging.getLogger(__name__)

APPROXIMATE_FROM = 50_000  # chunks; exact search below (scripts/scale_bench.py)


def build_index(config: Config, embedder, docs: list[Document] | None = None, progress: bool = False) -> Path:
    """Chunk, embed and index the corpus; returns the new live build folder."""
    docs = load_corpus(config.corpus_dir, config.root) if docs is None else docs
    config.index_dir.mkdir(parents=True, exist_ok=True)
    with _lock(config.index_dir):
        started = time.perf_counter()
        chunks = [c for doc in docs for c in chunk_document(doc, config.index.max_tokens)]
        if not chunks:
            raise QAError("the corpus has no text to index; add a document with some text to corpus/")
        texts, bounds = embed_texts(chunks)
        keys = [text_key(t) for t in texts]
        vectors, fresh = _embed(embedder, texts, keys, _previous_vectors(config, embedder), progress)
        stats = {"embedded": fresh, "reused": len(texts) - fresh, "seconds": round(time.perf_counter() - started, 2)}
        log.info("embedded %d texts, reused %d", stats["embedded"], stats["reused"])
        return write_build(config, embedder.name, docs, chunks, vectors, bounds, keys, stats)


def embed_texts(chunks: list[Chunk]) -> tuple[list[str], np.ndarray]:
    """The texts to embed (each piece with its chunk's context, since a row like
    「開催場所：イタリア・ボローニャ」 means little alone; then chunks without pieces)
    and, per chunk, the row of its first piece."""
    texts, bounds, loose = [], [0], []
    for chunk in chunks:
        texts.extend(f"{chunk.context}\n{p.text}" for p in chunk.pieces)
        bounds.append(len(texts))
        if not chunk.pieces:
            loose.append(chunk.embed_text)
    return texts + loose, np.asarray(bounds, dtype=np.int64)


def chunk_vectors(vectors: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """A chunk's vector: the normalised mean of its pieces' (or its own, when it has none)."""
    n = len(bounds) - 1
    out = np.empty((n, vectors.shape[1]), dtype=np.float32)
    loose = int(bounds[-1])
    for row in range(n):
        a, b = bounds[row], bounds[row + 1]
        if b > a:
            out[row] = vectors[a:b].mean(axis=0)
        else:
            out[row] = vectors[loose]
            loose += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _embed(embedder, texts, keys, reuse: dict, progress) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, taking those whose key the previous build has."""
    missing = [i for i, key in enumerate(keys) if key not in reuse]
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in reuse:
            out[i] = reuse[key]
    if missing:
        out[missing] = embedder.embed_documents([texts[i] for i in missing], progress=progress)
    return out, len(missing)


def _previous_vectors(config: Config, embedder) -> dict[str, np.ndarray]:
    """Vectors of the live build by content key, if it used this model and its files
    check out; anything unreadable, partial or mismatched means nothing to reuse."""
    try:
        path = current_dir(config.index_dir)
        manifest = read_manifest(path)
        if manifest.get("model") != embedder.name or manifest["dimension"] != embedder.dim:
            return {}
        verify_files(path, manifest, names={"vectors.npy", "keys.txt"})
        vectors = np.load(path / "vectors.npy")
        keys = (path / "keys.txt").read_text(encoding="utf-8").split()
        if len(keys) != len(vectors) or vectors.ndim != 2 or vectors.shape[1] != embedder.dim:
            return {}
        return dict(zip(keys, vectors))
    except Exception as exc:  # noqa: BLE001 - a damaged old build must never stop a new one
        log.info("not reusing the previous build's vectors: %s", exc)
        return {}


def write_build(config: Config, model: str, docs, chunks, vectors, bounds, keys, stats) -> Path:
    """Write a build folder from chunks and their piece vectors, and make it live.
    (Public for the scale benchmark, which writes synthetic builds.)"""
    tmp = config.index_dir / f".tmp-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        _write(tmp, config, model, docs, chunks, vectors, bounds, keys, stats)
        final = config.index_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(3).hex()}"
        os.rename(tmp, final)
        _fsync_dir(config.index_dir)
        _set_current(config.index_dir, final.name)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise QAError(
                f"no space left on the disk while writing the index in {config.index_dir}; "
                "free some space and run `qa index` again (the previous index still answers)"
            ) from None
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune(config.index_dir, keep=final.name)
    return final


def _write(path: Path, config, model, docs, chunks, vectors, bounds, keys, stats) -> None:
    import bm25s
    import faiss

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
    offsets, pos = [], 0
    with open(path / "chunks.jsonl", "wb") as fh:
        for c in chunks:
            line = (chunk_to_json(c) + "\n").encode("utf-8")
            offsets.append(pos)
            pos += len(line)
            fh.write(line)
    offsets.append(pos)
    np.save(path / "chunk_offsets.npy", np.asarray(offsets, dtype=np.int64))
    np.save(path / "chunk_ids.npy", np.asarray([c.id for c in chunks], dtype="S"))
    np.save(path / "vectors.npy", vectors)
    np.save(path / "piece_bounds.npy", bounds)
    (path / "keys.txt").write_text("".join(k + "\n" for k in keys), encoding="utf-8")
    dense = _dense_index(faiss, chunk_vectors(vectors, bounds), config.index.index_type)
    faiss.write_index(dense, str(path / "dense.faiss"))
    bm25 = bm25s.BM25()
    bm25.index([terms(c.embed_text, config.index.bm25_form) or [""] for c in chunks], show_progress=False)
    bm25.save(str(path / "bm25"), show_progress=False)
    rows: dict[str, list[int]] = {}
    for row, c in enumerate(chunks):
        rows.setdefault(c.doc_id, []).append(row)
    for doc_id, r in rows.items():
        if r[-1] - r[0] + 1 != len(r):
            raise QAError(f"chunks of document {doc_id} are not contiguous; this is a bug, please report it")
    manifest = {
        "format": config.index_settings()["format"],
        "qa_version": __version__,
        "model": model,
        "dimension": int(vectors.shape[1]),
        "settings": config.index_settings(),
        "index_type": index_kind(config.index.index_type, len(chunks)),
        "chunk_count": len(chunks),
        "piece_count": int(bounds[-1]),
        "corpus_sha256": corpus_sha256(docs),
        "documents": [
            {"doc_id": d.doc_id, "source": d.source, "title": d.title, "sha256": d.sha256,
             "first_row": rows.get(d.doc_id, [0])[0], "end_row": rows[d.doc_id][-1] + 1 if d.doc_id in rows else 0}
            for d in docs
        ],
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_stats": stats,
    }
    manifest["files"] = {f.relative_to(path).as_posix(): sha256_file(f) for f in sorted(path.rglob("*")) if f.is_file()}
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


def _dense_index(faiss, vectors: np.ndarray, requested: str):
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is parallel work (a loaded store sets 1)
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
    """Remove old builds and leftovers of killed builds (we hold the lock). A process
    still reading an old build keeps its open files; it reloads on its next check."""
    for entry in index_dir.iterdir():
        if entry.name != keep and (entry.name.startswith("build-") or entry.name.startswith(".tmp-")):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(".CURRENT."):
            entry.unlink(missing_ok=True)


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
