"""Bring files into `corpus/`: PDF, markdown and plain text.

Every added document becomes a UTF-8 text file in `corpus/` that the corpus loader
reads as it is, plus a JSON metadata record beside it, so citations (slide or page
numbers, character offsets) refer to that text file.

- PDF: one page is one slide. The text file holds, for page n, a line
  `# <title> p.<n>` and then the page's text as pypdf extracts it (line endings
  normalised, nothing else changed except that a text line starting with `#` gets a
  leading space so it cannot open a slide). A page without extractable text keeps
  its heading and a placeholder line, and is reported in `empty_pages`.
- Markdown and plain text: decoded (UTF-8 with or without BOM, else CP932 /
  Shift_JIS) and written as UTF-8 with `\\n` line endings; `# ` headings split slides.

A document's identity is its source file name: adding a file whose bytes are
unchanged does nothing, a changed file replaces the old version under the same
doc_id (so the chunks of unchanged pages keep their ids and embeddings). A bad file
is reported with status "error" and never stops the others; each document is
written to temporary files in `corpus/` and moved into place (text, then JSON).
The index is not touched here: run `qa index` afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .config import Config
from .corpus import TEXT_SUFFIXES, clean_inline, split_slides
from .errors import InputError

MAX_BYTES = 50 * 1024 * 1024
PDF_SUFFIXES = (".pdf",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
PLAIN_SUFFIXES = (".txt",)
SUPPORTED = PDF_SUFFIXES + MARKDOWN_SUFFIXES + PLAIN_SUFFIXES
EMPTY_PAGE = "（このページには抽出できるテキストがありません）"

_JUNK_TITLES = {"untitled", "unknown", "anonymous", "none", "title", "no title", "無題"}
_FILE_NAME = re.compile(r"\.(pdf|docx?|pptx?|xlsx?|txt|md|rtf|odt|key|pages)$", re.I)
_APP_PREFIX = re.compile(r"^(microsoft\s+\w+|powerpoint|word)\s+-\s+", re.I)
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class AddResult:
    """What happened to one input file."""

    path: Path
    doc_id: str | None
    status: str  # added | updated | unchanged | error
    message: str
    pages: int = 0
    empty_pages: tuple[int, ...] = ()

    def to_dict(self) -> dict:
        return {"path": str(self.path), "doc_id": self.doc_id, "status": self.status,
                "message": self.message, "pages": self.pages, "empty_pages": list(self.empty_pages)}


class _Refused(Exception):
    """A file that cannot be added; the message says why and what to do."""


@dataclass
class _Record:
    """A document already in the corpus."""

    doc_id: str
    text_path: Path
    meta: dict


# --- public verbs ---------------------------------------------------------------


def add(config: Config, paths, max_bytes: int = MAX_BYTES) -> list[AddResult]:
    """Add files and folders (searched recursively for .pdf .md .markdown .txt) to
    the corpus; one result per file, in input order. Run `qa index` afterwards."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    corpus = config.corpus_dir
    corpus.mkdir(parents=True, exist_ok=True)
    files = _expand(paths, corpus)
    results: list[AddResult] = []
    with _corpus_lock(corpus):
        records = _records(corpus)
        ids = _assign_ids([f for f, err in files if err is None], records)
        for path, error in files:
            if error is not None:
                results.append(AddResult(path, None, "error", error))
                continue
            doc_id = ids[path]
            try:
                results.append(_add_one(corpus, path, doc_id, records, max_bytes))
                continue
            except _Refused as exc:
                message = str(exc)
            except OSError as exc:
                message = f"cannot read or write {path.name}: {exc}"
            if doc_id in records:  # a changed file that is now bad leaves the old version be
                results.append(AddResult(path, doc_id, "error", message + "; the version added before stays in the corpus"))
            else:
                results.append(AddResult(path, None, "error", message))
    return results


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


# --- inputs and identities ------------------------------------------------------


def _expand(paths, corpus: Path) -> list[tuple[Path, str | None]]:
    """Input files as (absolute path, error or None), folders expanded, duplicates dropped."""
    files: list[tuple[Path, str | None]] = []
    seen: set[Path] = set()
    corpus_abs = corpus.resolve()

    def take(path: Path, error: str | None = None):
        if path not in seen:
            seen.add(path)
            files.append((path, error))

    for given in paths:
        path = Path(os.path.abspath(given))
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in SUPPORTED
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                take(path, f"no .pdf, .md, .markdown or .txt files in folder {path}")
            for p in found:
                take(p, _inside(p, corpus_abs))
        elif not path.exists():
            take(path, f"{path} does not exist; check the path")
        elif path.suffix.lower() not in SUPPORTED:
            take(path, f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; "
                       "add .pdf, .md, .markdown or .txt files (convert other formats to PDF or text first)")
        else:
            take(path, _inside(path, corpus_abs))
    return files


def _inside(path: Path, corpus_abs: Path) -> str | None:
    if path.resolve().is_relative_to(corpus_abs):
        return f"{path.name} is already in the corpus folder; add files from elsewhere"
    return None


def _slug(stem: str) -> str:
    ascii_ = unicodedata.normalize("NFKC", stem).lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_).strip("_")[:40].strip("_")
    return slug or "doc"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _assign_ids(paths: list[Path], records: dict[str, _Record]) -> dict[Path, str]:
    """doc_id per input file. A file added before from the same path keeps its id;
    otherwise the id is `<slug of stem>_<hash of file name>`, so the same file name
    added again replaces the old version. When several files of one call share a
    name (or the id belongs to another document), all but the first (in path order)
    get `<slug>_<hash of absolute path>` instead."""
    by_path = {r.meta.get("source_path"): r.doc_id for r in records.values() if r.meta.get("source_path")}
    ids: dict[Path, str] = {}
    claimed: set[str] = set()
    for path in paths:
        if str(path) in by_path:
            ids[path] = by_path[str(path)]
            claimed.add(ids[path])
    for path in sorted(p for p in paths if p not in ids):
        name = unicodedata.normalize("NFC", path.name)
        base = f"{_slug(path.stem)}_{_short_hash(name)}"
        owner = records.get(base)
        if base not in claimed and (owner is None or owner.meta.get("source_file") == name):
            ids[path] = base
        else:
            ids[path] = f"{_slug(path.stem)}_{_short_hash(str(path))}"
        claimed.add(ids[path])
    return ids


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


def _add_one(corpus: Path, path: Path, doc_id: str, records: dict[str, _Record], max_bytes: int) -> AddResult:
    size = path.stat().st_size
    if size > max_bytes:
        raise _Refused(f"{path.name} is {size / 2**20:,.0f} MB, over the {max_bytes / 2**20:,.0f} MB limit; "
                       "split it into smaller files or raise the limit")
    if size == 0:
        raise _Refused(f"{path.name} is empty; nothing to add")
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    old = records.get(doc_id)
    if old is not None and old.meta.get("sha256") == sha and old.text_path.is_file():
        pages = old.meta.get("pages") or 0
        empty = tuple(old.meta.get("empty_pages") or ())
        return AddResult(path, doc_id, "unchanged", f"{path.name} is already in the corpus unchanged", pages, empty)

    suffix = path.suffix.lower()
    if suffix in PDF_SUFFIXES:
        text, title, date, pages, empty = _pdf(data, path)
        fmt, encoding, out_suffix = "pdf", None, ".txt"
    else:
        encoding, text = _decode(data, path.name)
        pages, empty, date = len(split_slides(text)), [], None
        title = _text_title(text, path.stem)
        fmt, out_suffix = ("markdown", ".md") if suffix in MARKDOWN_SUFFIXES else ("text", ".txt")

    target = corpus / f"{doc_id}{out_suffix}"
    meta = {
        "doc_id": doc_id,
        "title": title,
        "source_file": unicodedata.normalize("NFC", path.name),
        "source_path": str(path),
        "format": fmt,
        "encoding": encoding,
        "pages": pages,
        "sha256": sha,
        "added_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "date": date,
        "empty_pages": empty,
    }
    _write(target, text, meta)
    if old is not None and old.text_path != target:  # e.g. the old version was written as .md
        with contextlib.suppress(FileNotFoundError):
            old.text_path.unlink()
    records[doc_id] = _Record(doc_id, target, meta)
    status = "updated" if old is not None else "added"
    note = f"; pages without text: {', '.join(map(str, empty))}" if empty else ""
    return AddResult(path, doc_id, status, f"{path.name}: {status}, {pages} page(s){note}", pages, tuple(empty))


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


def _normalise_lines(text: str) -> str:
    """Every line break the loader recognises (CRLF, CR, form feed, U+2028 ...) as `\\n`."""
    lines = text.splitlines()
    return "\n".join(lines) + ("\n" if lines else "")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """(encoding, text) of a text file: UTF-8 (BOM or not), else CP932, else refused."""
    if b"\x00" in data:
        raise _Refused(f"{name} holds NUL bytes, so it is not a text file; add text, markdown or PDF files only")
    if data.startswith(b"\xef\xbb\xbf"):
        encoding, body = "utf-8-sig", data[3:]
    else:
        encoding, body = "utf-8", data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        if encoding == "utf-8-sig":
            raise _Refused(f"{name} starts with a UTF-8 mark but is not valid UTF-8; re-save it as UTF-8") from None
        try:
            encoding, text = "cp932", data.decode("cp932")
        except UnicodeDecodeError:
            raise _Refused(f"{name} is neither UTF-8 nor Shift_JIS (CP932) text; re-save it as UTF-8") from None
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    if controls > max(2, len(text) // 100):
        raise _Refused(f"{name} looks binary ({controls} control characters); add text, markdown or PDF files only")
    text = _normalise_lines(text)
    if not text.strip():
        raise _Refused(f"{name} has no text in it (only blank lines); nothing to add")
    return encoding, text


def _text_title(text: str, stem: str) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    heading = next((clean_inline(ln[2:]) for ln in lines if ln.startswith("# ")), "")
    return _shorten(heading or (clean_inline(lines[0].lstrip("#")) if lines else "") or stem)


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- PDF ------------------------------------------------------------------------


def _pdf(data: bytes, path: Path) -> tuple[str, str, str | None, int, list[int]]:
    """(text file contents, title, date, page count, pages without text) of a PDF."""
    from pypdf import PdfReader

    name = path.name
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # e.g. AES needs the `cryptography` package
                raise _Refused(f"{name} is encrypted and cannot be opened ({exc}); decrypt it first "
                               "(e.g. `qpdf --decrypt in.pdf out.pdf`) and add the decrypted file") from None
            if not opened:
                raise _Refused(f"{name} is encrypted with a password; decrypt it first "
                               "(e.g. `qpdf --password=... --decrypt in.pdf out.pdf`) and add the decrypted file")
        pages = list(reader.pages)
    except _Refused:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise _Refused(f"{name} cannot be read as a PDF ({type(exc).__name__}: {exc}); "
                       "the file may be damaged; re-export or re-download it") from None
    if not pages:
        raise _Refused(f"{name} has no pages; nothing to add")
    texts = []
    for page in pages:
        try:
            texts.append(_normalise_lines(page.extract_text() or "").strip("\n"))
        except Exception:  # one unreadable page is reported like an empty one
            texts.append("")
    info = _pdf_info(reader)
    title = _pdf_title(info.get("/Title"), texts, path.stem)
    empty = [n for n, t in enumerate(texts, start=1) if not t.strip()]
    parts = []
    for n, body in enumerate(texts, start=1):
        body = EMPTY_PAGE if n in empty else "\n".join(" " + ln if ln.startswith("#") else ln for ln in body.split("\n"))
        parts.append(f"# {title} p.{n}\n{body}\n")
    return "\n".join(parts), title, _pdf_date(info.get("/CreationDate")), len(pages), empty


def _pdf_info(reader) -> dict:
    try:
        info = reader.metadata or {}
        return {k: str(info[k]) for k in ("/Title", "/CreationDate") if info.get(k) is not None}
    except Exception:  # a damaged info dictionary only costs the title and date
        return {}


def _pdf_title(meta_title: str | None, texts: list[str], stem: str) -> str:
    title = " ".join((meta_title or "").split())
    title = _APP_PREFIX.sub("", title)
    sensible = (
        title and title.lower() not in _JUNK_TITLES and not _FILE_NAME.search(title)
        and any(unicodedata.category(ch)[0] in "LN" for ch in title)
        and not any(unicodedata.category(ch) in ("Cc", "Co", "Cs") or ch == "\ufffd" for ch in title)
    )
    if sensible:
        return _shorten(title)
    first = next((ln.strip() for ln in texts[0].split("\n") if ln.strip()), "") if texts else ""
    return _shorten(first.lstrip("#").strip() or stem)


def _pdf_date(raw: str | None) -> str | None:
    match = _PDF_DATE.match((raw or "").strip())
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups())).isoformat()
    except ValueError:
        return None


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
