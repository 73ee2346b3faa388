"""Bring files into `corpus/`: PDF, markdown and plain text (`qa add/docs/remove`).

Every added document becomes a UTF-8 text file in `corpus/` (see `qa.extract` for
what it holds) plus a JSON metadata record beside it, so citations (slide or page
numbers, character offsets) refer to that text file.

Inputs. Only regular files are read, opened without following a symbolic link and
checked again once open. A folder is searched recursively for .pdf .md .markdown
.txt files; hidden names are passed over, and symbolic links (to files or folders,
inside the folder or out of it) and special files (FIFOs, sockets, devices) are
skipped with a note each. A symbolic link or special file named on the command line
is refused. File names need not be valid UTF-8: they are shown with the odd bytes
escaped (`bad\\xff.md`).

Identity. A document is its source path: adding the same path again does nothing
when the bytes are unchanged and replaces that document when they changed (its
doc_id stays, so chunks of unchanged pages keep their embeddings). A file from
another path is a new document, even with the same name, unless `replace=True`
(`qa add --replace`), which replaces the one document added from a file of that
name. A new doc_id is `<slug of name>_<hash of name>`, or, when that is taken,
`<slug>_<hash of path>`.

One bad file never stops the others: each is reported with status "error" (and an
exit code: 2 for a file that cannot be used, 1 for a failure to write the corpus),
and each document is written to temporary files in `corpus/` and moved into place
(text, then JSON). The index is not touched here: run `qa index` afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .corpus import TEXT_SUFFIXES, split_slides
from .errors import InputError
from .extract import EMPTY_PAGE, LEFT_OUT, Extracted, Refused, page_list, pdf_document, text_document  # noqa: F401

MAX_BYTES = 50 * 1024 * 1024
PDF_SUFFIXES = (".pdf",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
PLAIN_SUFFIXES = (".txt",)
SUPPORTED = PDF_SUFFIXES + MARKDOWN_SUFFIXES + PLAIN_SUFFIXES
_SUPPORTED_TEXT = ".pdf, .md, .markdown or .txt"


@dataclass(frozen=True)
class AddResult:
    """What happened to one input file."""

    path: Path
    doc_id: str | None
    status: str  # added | updated | unchanged | skipped | error
    message: str
    pages: int = 0
    empty_pages: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()  # what was dropped or cut while adding
    exit_code: int = 0  # of an error: 2 the file cannot be used, 1 the corpus cannot be written

    def to_dict(self) -> dict:
        return {"path": shown(self.path), "doc_id": self.doc_id, "status": self.status, "message": self.message,
                "pages": self.pages, "empty_pages": list(self.empty_pages), "notes": list(self.notes)}


@dataclass
class _Record:
    """A document already in the corpus."""

    doc_id: str
    text_path: Path
    meta: dict


# --- public verbs ---------------------------------------------------------------


def add(config: Config, paths, max_bytes: int = MAX_BYTES, replace: bool = False) -> list[AddResult]:
    """Add files and folders (searched recursively for .pdf .md .markdown .txt) to
    the corpus; one result per file, in input order. Run `qa index` afterwards."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    corpus = config.corpus_dir
    corpus.mkdir(parents=True, exist_ok=True)
    inputs = _expand(paths, corpus)
    results: list[AddResult] = []
    with _corpus_lock(corpus):
        records = _records(corpus)
        ids = _assign_ids([p for p, problem in inputs if problem is None], records, replace)
        for path, problem in inputs:
            if problem is not None:
                results.append(problem)
                continue
            doc_id, note = ids[path]
            if note and doc_id is None:
                results.append(AddResult(path, None, "error", note, exit_code=2))
                continue
            results.append(_add_guarded(corpus, path, doc_id, note, records, max_bytes))
    return results


def report(results: list[AddResult], out=None, err=None) -> int:
    """Print results the way `qa add` does and return its exit status: one line per
    document on standard output; one `qa: error:` or `qa: note:` line per problem
    on standard error; 2 when a file could not be used, 1 when writing failed."""
    out, err = out or sys.stdout, err or sys.stderr
    for r in results:
        if r.status == "error":
            print(f"qa: error: {_printable(r.message)}", file=err)
        elif r.status == "skipped":
            print(f"qa: note: {_printable(r.message)}", file=err)
        else:
            print(f"{r.status:9} {shown(r.path)} [{r.doc_id}]: {_printable(r.message)}", file=out)
            if r.notes:
                print(f"qa: note: {shown(r.path)}: {_printable('; '.join(r.notes))}", file=err)
    if any(r.status in ("added", "updated") for r in results):
        print("run `qa index` to bring the index up to date", file=out)
    codes = {r.exit_code or 1 for r in results if r.status == "error"}
    return 0 if not codes else 1 if 1 in codes else 2


def list_docs(config: Config) -> list[dict]:
    """The corpus documents, each with whether the live index holds it unchanged.

    `sha256` is of the original file (as added); `index_state` is "current",
    "stale" (the corpus text changed since the build), or "missing" (no index, or
    the document is not in it); `chunks` counts its chunks in the live index."""
    indexed, counts = _index_view(config)
    out = []
    for rec in sorted(_records(config.corpus_dir).values(), key=lambda r: r.doc_id):
        text_sha = hashlib.sha256(rec.text_path.read_bytes()).hexdigest()
        if rec.doc_id not in indexed:
            state = "missing"
        else:
            state = "current" if indexed[rec.doc_id] == text_sha else "stale"
        meta = rec.meta
        pages = meta.get("pages")
        if not isinstance(pages, int):
            try:
                pages = len(split_slides(rec.text_path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                pages = 0
        out.append({
            "doc_id": rec.doc_id,
            "title": meta.get("title") or rec.doc_id,
            "pages": pages,
            "format": meta.get("format") or ("markdown" if rec.text_path.suffix == ".md" else "text"),
            "sha256": meta.get("sha256") or text_sha,
            "file": rec.text_path.name,
            "indexed": state == "current",
            "index_state": state,
            "chunks": counts.get(rec.doc_id, 0),
        })
    return out


def remove(config: Config, doc_id: str) -> Path:
    """Remove a document's text file and metadata from `corpus/`; returns the text
    file's path. The index still holds the document until `qa index` rebuilds it."""
    with _corpus_lock(config.corpus_dir) if config.corpus_dir.is_dir() else contextlib.nullcontext():
        rec = _records(config.corpus_dir).get(doc_id)
        if rec is None:
            raise InputError(f"no document with id {doc_id!r} in {config.corpus_dir}; run `qa docs` to see the ids")
        rec.text_path.unlink()
        with contextlib.suppress(FileNotFoundError):
            rec.text_path.with_suffix(".json").unlink()
    return rec.text_path


# --- names that may not be UTF-8 ------------------------------------------------


def as_text(path: str | os.PathLike) -> str:
    """A file name or path as printable text: bytes that are not UTF-8 become `\\xff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def shown(path: Path) -> str:
    """`path` for messages: relative to the working folder when below it, printable."""
    with contextlib.suppress(ValueError, OSError):
        rel = path.relative_to(Path.cwd())
        if rel.parts:
            return as_text(rel)
    return as_text(path)


def _printable(message: str) -> str:
    return " ".join(message.encode("utf-8", "backslashreplace").decode("utf-8").split())


# --- inputs ---------------------------------------------------------------------


def _expand(paths, corpus: Path) -> list[tuple[Path, AddResult | None]]:
    """Input files as (absolute path, None) or (path, its error or skip result),
    folders expanded, duplicates dropped."""
    found: list[tuple[Path, AddResult | None]] = []
    seen: set[Path] = set()
    corpus_abs = corpus.resolve()

    def take(path: Path, status: str | None = None, message: str = ""):
        if path in seen:
            return
        seen.add(path)
        if status is None:
            inside = _inside(path, corpus_abs)
            status, message = ("error", inside) if inside else (None, "")
        found.append((path, None if status is None else AddResult(path, None, status, message,
                                                                  exit_code=2 if status == "error" else 0)))

    for given in paths:
        path = Path(os.path.abspath(os.fsdecode(given)))  # not resolved: a link stays a link
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            take(path, "error", f"{shown(path)} does not exist; check the path")
            continue
        except OSError as exc:
            take(path, "error", f"cannot look at {shown(path)}: {exc.strerror}")
            continue
        if stat.S_ISLNK(mode):
            take(path, "error", f"{shown(path)} is a symbolic link{_target(path)}; qa add does not follow links, "
                                "give the path of the file itself if you mean it")
        elif stat.S_ISDIR(mode):
            before = len(found)
            _walk(path, take)
            if len(found) == before:
                take(path, "error", f"no {_SUPPORTED_TEXT} files in folder {shown(path)}")
        elif not stat.S_ISREG(mode):
            take(path, "error", f"{shown(path)} is not a regular file ({_kind(mode)}); add regular files only")
        elif path.suffix.lower() not in SUPPORTED:
            take(path, "error", f"{shown(path)}: unsupported file type {as_text(path.suffix) or '(none)'!r}; add "
                                f"{_SUPPORTED_TEXT} files (convert other formats to PDF or text first)")
        else:
            take(path)
    return found


def _walk(folder: Path, take) -> None:
    """Supported files below `folder`, depth first in name order; links and special
    files are skipped with a note, hidden names silently."""
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            take(current, "error", f"cannot list folder {shown(current)}: {exc.strerror}")
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            supported = path.suffix.lower() in SUPPORTED
            try:
                if entry.is_symlink():
                    if supported or entry.is_dir():
                        take(path, "skipped", f"skipped {shown(path)}: a symbolic link{_target(path)}; "
                                              "qa add does not follow links in folders")
                elif entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                elif supported and not entry.is_file(follow_symlinks=False):
                    mode = entry.stat(follow_symlinks=False).st_mode
                    take(path, "skipped", f"skipped {shown(path)}: not a regular file ({_kind(mode)})")
                elif supported:
                    take(path)
            except OSError as exc:
                take(path, "error", f"cannot look at {shown(path)}: {exc.strerror}")
        stack.extend(reversed(subfolders))


def _target(link: Path) -> str:
    with contextlib.suppress(OSError):
        return f" (to {as_text(os.readlink(link))})"
    return ""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a file"


def _inside(path: Path, corpus_abs: Path) -> str | None:
    if path.resolve().is_relative_to(corpus_abs):
        return f"{shown(path)} is already in the corpus folder; add files from elsewhere"
    return None


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, read without following a link at its last step
    and without blocking on a FIFO; refused when over `max_bytes` or empty."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"{shown(path)} is a symbolic link; qa add does not follow links") from None
        raise Refused(f"cannot read {shown(path)}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{shown(path)} is not a regular file ({_kind(info.st_mode)}); add regular files only")
        _check_size(path, info.st_size, max_bytes)
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            _check_size(path, total, max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise Refused(f"cannot read {shown(path)}: {exc.strerror}") from None
    finally:
        os.close(fd)


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise Refused(f"{shown(path)} is {size / 2**20:,.0f} MB, over the {max_bytes / 2**20:,.0f} MB limit; "
                      "split it into smaller files or raise the limit")
    if size == 0:
        raise Refused(f"{shown(path)} is empty; nothing to add")


# --- identities -----------------------------------------------------------------


def _slug(stem: str) -> str:
    ascii_ = unicodedata.normalize("NFKC", as_text(stem)).lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_).strip("_")[:40].strip("_")
    return slug or "doc"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _source_file(path: Path) -> str:
    return unicodedata.normalize("NFC", as_text(path.name))


def _assign_ids(paths: list[Path], records: dict[str, _Record], replace: bool) -> dict[Path, tuple[str | None, str | None]]:
    """(doc_id, note) per input file; a note without a doc_id is an error.

    A file added before from the same path keeps its id. With `replace`, a file
    takes the id of the one document added from a file of the same name. Otherwise
    it is a new document: `<slug>_<hash of name>`, or `<slug>_<hash of path>` when
    that is taken (by another document, or by an earlier file of this call in path
    order), with a note naming the same-named document it did not replace."""
    by_path = {r.meta.get("source_path"): r.doc_id for r in records.values() if r.meta.get("source_path")}
    ids: dict[Path, tuple[str | None, str | None]] = {}
    claimed: set[str] = set()
    for path in paths:
        if as_text(path) in by_path:
            ids[path] = (by_path[as_text(path)], None)
            claimed.add(by_path[as_text(path)])
    for path in sorted((p for p in paths if p not in ids), key=os.fsencode):
        name = _source_file(path)
        namesakes = sorted(r.doc_id for r in records.values()
                           if r.meta.get("source_file") == name and r.doc_id not in claimed)
        note = None
        if replace and len(namesakes) == 1:
            doc_id = namesakes[0]
        elif replace and namesakes:
            ids[path] = (None, f"{shown(path)}: several documents came from files named {name} "
                               f"({', '.join(namesakes)}); `qa remove` the ones to go, then add it again")
            continue
        else:
            doc_id = _new_id(path, records, claimed)
            if namesakes:
                source = records[namesakes[0]].meta.get("source_path") or name
                note = (f"{namesakes[0]} (from {source}) has the same file name and stays; this file is "
                        "a new document (qa add --replace replaces that one instead)")
        ids[path] = (doc_id, note)
        claimed.add(doc_id)
    return ids


def _new_id(path: Path, records: dict[str, _Record], claimed: set[str]) -> str:
    slug = _slug(path.stem)
    candidates = [f"{slug}_{_short_hash(_source_file(path))}", f"{slug}_{_short_hash(as_text(path))}"]
    candidates += [f"{candidates[1]}_{n}" for n in range(2, 1000)]
    return next(c for c in candidates if c not in records and c not in claimed)


def _records(corpus: Path) -> dict[str, _Record]:
    """Documents in the corpus by doc_id (the loader's rule: metadata doc_id, else stem)."""
    out: dict[str, _Record] = {}
    if not corpus.is_dir():
        return out
    for path in sorted(corpus.iterdir()):
        if path.suffix not in TEXT_SUFFIXES or not path.is_file():
            continue
        meta = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            meta = loaded if isinstance(loaded, dict) else {}
        doc_id = meta.get("doc_id") or path.stem
        out.setdefault(doc_id, _Record(doc_id, path, meta))
    return out


# --- one file -------------------------------------------------------------------


def _add_guarded(corpus: Path, path: Path, doc_id: str, note: str | None, records, max_bytes: int) -> AddResult:
    """`_add_one`, with every failure turned into an error result."""
    try:
        result = _add_one(corpus, path, doc_id, records, max_bytes)
        if note and result.status == "added":
            result = dataclasses.replace(result, notes=(note, *result.notes))
        return result
    except Refused as exc:
        message, code = str(exc), 2
    except OSError as exc:
        message, code = f"{shown(path)}: cannot write it into {shown(corpus)}: {exc.strerror or exc}", 1
    except Exception as exc:  # a bug must not stop the other files
        message, code = f"{shown(path)}: unexpected {type(exc).__name__} ({exc}); the file was left out", 1
    if doc_id in records:  # a changed file that is now bad leaves the old version be
        return AddResult(path, doc_id, "error", message + "; the version added before stays in the corpus",
                         exit_code=code)
    return AddResult(path, None, "error", message, exit_code=code)


def _add_one(corpus: Path, path: Path, doc_id: str, records: dict[str, _Record], max_bytes: int) -> AddResult:
    name = as_text(path.name)
    data = _read_regular(path, max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    old = records.get(doc_id)
    same_source = old is not None and old.meta.get("source_path") in (None, as_text(path))
    if same_source and old.meta.get("sha256") == sha and old.text_path.is_file():
        pages = old.meta.get("pages") or 0
        empty = tuple(old.meta.get("empty_pages") or ())
        return AddResult(path, doc_id, "unchanged", f"{name} is already in the corpus unchanged", pages, empty)

    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        doc: Extracted = pdf_document(data, shown(path), as_text(path.stem))
        fmt, out_suffix = "pdf", ".txt"
    else:
        doc = text_document(data, shown(path), as_text(path.stem))
        fmt, out_suffix = ("markdown", ".md") if suffix in MARKDOWN_SUFFIXES else ("text", ".txt")
    del data

    target = corpus / f"{doc_id}{out_suffix}"
    meta = {
        "doc_id": doc_id,
        "title": doc.title,
        "source_file": _source_file(path),
        "source_path": as_text(path),
        "format": fmt,
        "encoding": doc.encoding,
        "pages": doc.pages,
        "sha256": sha,
        "added_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "date": doc.date,
        "empty_pages": doc.empty,
    }
    if doc.notes:
        meta["notes"] = doc.notes
    _write(target, doc.text, meta)
    if old is not None and old.text_path != target:  # e.g. the old version was written as .md
        with contextlib.suppress(FileNotFoundError):
            old.text_path.unlink()
    records[doc_id] = _Record(doc_id, target, meta)
    status = "updated" if old is not None else "added"
    empty_note = f"; without text: {page_list(doc.empty)}" if doc.empty else ""
    replaced = ""
    if old is not None and old.meta.get("source_path") not in (None, as_text(path)):
        replaced = f"; replaces the version from {old.meta['source_path']}"
    return AddResult(path, doc_id, status, f"{name}: {status}, {doc.pages} page(s){empty_note}{replaced}",
                     doc.pages, tuple(doc.empty), tuple(doc.notes))


def _write(target: Path, text: str, meta: dict) -> None:
    """Text file then metadata, each through a temporary file moved into place."""
    meta_path = target.with_suffix(".json")
    tag = f".tmp-{os.getpid()}"
    tmp_text = target.with_name(f".{target.name}{tag}")
    tmp_meta = meta_path.with_name(f".{meta_path.name}{tag}")
    try:
        for tmp, content in ((tmp_text, text), (tmp_meta, json.dumps(meta, ensure_ascii=False, indent=2) + "\n")):
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp_text, target)
        os.replace(tmp_meta, meta_path)
    finally:
        for tmp in (tmp_text, tmp_meta):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


# --- index view and locking -----------------------------------------------------


def _index_view(config: Config) -> tuple[dict[str, str], dict[str, int]]:
    """({doc_id: corpus text sha256} and {doc_id: chunk count}) of the live build."""
    try:
        name = (config.index_dir / "CURRENT").read_text(encoding="utf-8").strip()
        build = config.index_dir / name
        if not name or "/" in name:
            return {}, {}
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
        docs = {d["doc_id"]: d["sha256"] for d in manifest.get("documents", [])}
        counts: dict[str, int] = {}
        with open(build / "chunks.jsonl", encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line).get("doc_id")
                counts[doc] = counts.get(doc, 0) + 1
        return docs, counts
    except (OSError, ValueError, KeyError, TypeError):
        return {}, {}


@contextlib.contextmanager
def _corpus_lock(corpus: Path):
    """Serialise `qa add` / `qa remove` runs on one corpus (a lock on the folder itself)."""
    fd = os.open(corpus, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
