"""Corpus files -> documents -> slides -> units.

A document is a text file in `corpus/` with an optional JSON metadata file beside
it. A slide starts at every top-level markdown heading (`# `); text before the
second one belongs to slide 1, the title slide. A slide's body is cut into units:
headings, bullets and paragraphs, table rows and source (出典) lines. Every unit
keeps the exact character span of the raw text it was made from and the cleaned
text people see; a table row also keeps finer parts (its cells, and the list items
inside a cell) so the chunker can fall back to them when a whole row is too long.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CorpusError

TEXT_SUFFIXES = (".txt", ".md")

_TAG = re.compile(r"<[^>]+>")
_LI = re.compile(r"<li\b[^>]*>", re.I)
_BULLET = re.compile(r"^\s*(?:[-*+]\s+)+")
_SPACES = re.compile(r"[ \t\u3000]+")
_BULLET_CHARS = "●◆・✓■□○◎▶►"


@dataclass(frozen=True)
class Unit:
    """A span of raw text and the clean text shown for it."""

    start: int
    end: int
    text: str
    kind: str  # heading | text | row | source
    path: tuple[str, ...] = ()  # sub-headings above this unit within its slide
    prefix: str = ""  # labels repeated before the text (table row and column)
    parts: tuple["Unit", ...] = ()  # finer pieces, used when the unit is too long


@dataclass(frozen=True)
class Slide:
    number: int
    title: str
    start: int
    end: int
    units: tuple[Unit, ...]

    @property
    def body(self) -> str:
        return "\n".join(u.text for u in self.units)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(u.text for u in self.units if u.kind == "source")


@dataclass(frozen=True)
class Document:
    doc_id: str
    source: str  # path relative to the project root
    text: str
    meta: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def title(self) -> str:
        return self.meta.get("title") or self.doc_id

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def clean_inline(raw: str) -> str:
    """Markup-free text of one line or cell: tags, `**`, escapes and bullets removed."""
    text = raw.replace("**", "").replace("\\_", "_").replace("\\*", "*")
    if "<" in text:
        items = _LI.split(text)
        cleaned = [html.unescape(_TAG.sub(" ", item)) for item in items]
        cleaned = [_SPACES.sub(" ", c).strip() for c in cleaned]
        head, rest = cleaned[0], [c for c in cleaned[1:] if c]
        rest = [c if c[0] in _BULLET_CHARS else "・" + c for c in rest]
        text = " ".join([head] + rest) if head else " ".join(rest)
    text = _BULLET.sub("", text)
    return _SPACES.sub(" ", text).strip()


def read_document(path: Path, root: Path) -> Document:
    """Read one corpus file (UTF-8) and the metadata JSON beside it, if any."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read corpus file {path}: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"{path} is not UTF-8 text (byte {exc.start}); convert it to UTF-8 "
            "or remove it from corpus/"
        ) from exc
    meta = {}
    meta_path = path.with_suffix(".json")
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorpusError(f"cannot read metadata {meta_path}: {exc}; fix or delete it") from exc
    try:
        source = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        source = path.as_posix()
    return Document(doc_id=meta.get("doc_id") or path.stem, source=source, text=text, meta=meta)


def load_corpus(corpus_dir: Path, root: Path) -> list[Document]:
    """Every text document in `corpus_dir`, in file-name order."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"no corpus folder at {corpus_dir}; create it and put documents in it")
    paths = sorted(p for p in corpus_dir.iterdir() if p.suffix in TEXT_SUFFIXES and p.is_file())
    if not paths:
        raise CorpusError(f"no .txt or .md documents in {corpus_dir}; add one first")
    docs = [read_document(p, root) for p in paths]
    seen: dict[str, str] = {}
    for doc in docs:
        if doc.doc_id in seen:
            raise CorpusError(f"two corpus files share doc_id {doc.doc_id!r}: {seen[doc.doc_id]}, {doc.source}")
        seen[doc.doc_id] = doc.source
    return docs


def corpus_sha256(docs: list[Document]) -> str:
    digest = hashlib.sha256()
    for doc in docs:
        digest.update(f"{doc.doc_id}\0{doc.source}\0{doc.sha256}\n".encode())
    return digest.hexdigest()


# --- slides ---------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, end excluding the newline."""
    spans, pos = [], 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        spans.append((pos, pos + len(body)))
        pos += len(line)
    return spans


def split_slides(text: str) -> list[Slide]:
    """Slides of a document: one per top-level heading, the title slide first."""
    lines = _lines(text)
    heads = [i for i, (s, e) in enumerate(lines) if text.startswith("# ", s)]
    if len(heads) < 2:
        bounds = [(0, len(lines))]
    else:
        cuts = [0] + heads[1:] + [len(lines)]
        bounds = list(zip(cuts[:-1], cuts[1:]))
    slides = []
    for number, (a, b) in enumerate(bounds, start=1):
        span = lines[a:b]
        if not span:
            continue
        units = tuple(_units(text, span))
        title = next((u.text for u in units if u.kind == "heading" and not u.path), "")
        start, end = span[0][0], span[-1][1]
        slides.append(Slide(number, title or f"p.{number}", start, end, units))
    return slides


def _is_row(line: str) -> bool:
    return "\t" in line


def _is_pipe(line: str) -> bool:
    return _BULLET.sub("", line).lstrip().startswith("|")


def _units(text: str, lines: list[tuple[int, int]]):
    path: list[tuple[int, str]] = []  # (level, heading) of open sub-headings
    title_seen = False
    i = 0
    while i < len(lines):
        s, e = lines[i]
        line = text[s:e]
        stripped = line.strip()
        if not stripped or set(stripped) <= {"-", "=", "*", "_"}:
            i += 1
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            heading = clean_inline(line.lstrip("#"))
            if heading and level == 1 and not title_seen:
                title_seen, path = True, []
                yield Unit(s, e, heading, "heading")
            elif heading:
                path = [(lv, h) for lv, h in path if lv < level]
                yield Unit(s, e, heading, "heading", tuple(h for _, h in path))
                path.append((level, heading))
            i += 1
            continue
        context = tuple(h for _, h in path)
        if _is_row(line):
            j = i
            while j < len(lines) and _is_row(text[lines[j][0] : lines[j][1]]):
                j += 1
            yield from _table(text, lines[i:j], context)
            i = j
            continue
        if _is_pipe(line):
            cells = [c.strip() for c in _BULLET.sub("", line).strip().strip("|").split("|")]
            cells = [clean_inline(c) for c in cells if c.strip() and set(c.strip()) - {"-", ":"}]
            if cells:
                yield Unit(s, e, " ／ ".join(cells), "text", context)
            i += 1
            continue
        # A paragraph: this line plus the lines joined to it by markdown hard breaks.
        j = i
        while (
            text[lines[j][0] : lines[j][1]].endswith("  ")
            and j + 1 < len(lines)
            and _continues(text[lines[j + 1][0] : lines[j + 1][1]])
        ):
            j += 1
        end = lines[j][1]
        clean = " ".join(clean_inline(text[a:b]) for a, b in lines[i : j + 1])
        clean = _SPACES.sub(" ", clean).strip()
        if clean:
            kind = "source" if clean.startswith("出典") else "text"
            yield Unit(s, end, clean, kind, context)
        i = j + 1


def _continues(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not (
        line.startswith("#") or _BULLET.match(line) or _is_row(line) or _is_pipe(line)
    )


def _cells(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    s, e = span
    cells, pos = [], s
    for part in text[s:e].split("\t"):
        cells.append((pos, pos + len(part)))
        pos += len(part) + 1
    return cells


def _table(text: str, rows: list[tuple[int, int]], context: tuple[str, ...]):
    """Units for a block of tab-separated rows, each row labelled by its headers."""
    grid = [_cells(text, r) for r in rows]
    first = [clean_inline(text[a:b]) for a, b in grid[0]]
    corner = not first[0]
    has_header = len(rows) > 1 and sum(1 for c in first if c) >= 2 and (
        corner or (len(first) >= 3 and all(len(c) <= 16 for c in first))
    )
    headers = first if has_header else []
    body = grid[1:] if has_header else grid
    if has_header:
        yield Unit(rows[0][0], rows[0][1], " ".join(c for c in first if c), "heading", context)
    for row_span, cells in zip(rows[1:] if has_header else rows, body):
        if any(clean_inline(text[a:b]) for a, b in cells):  # a blank line in a table is no row
            yield _row(text, row_span, cells, headers, corner or not has_header, context)


def _row(text, row_span, cells, headers, labelled, context) -> Unit:
    label = _short(clean_inline(text[cells[0][0] : cells[0][1]])) if labelled else ""
    lead = (label if label.endswith((":", "：")) else label + "：") if label else ""
    parts, shown = [], []
    for col, (a, b) in enumerate(cells):
        if labelled and col == 0:
            continue
        value = clean_inline(text[a:b])
        if not value:
            continue
        header = _short(headers[col]) if col < len(headers) else ""
        tag = f"【{header}】" if header else ""
        shown.append(tag + value)
        prefix = lead + tag
        items = _li_spans(text, a, b)
        sub = tuple(
            Unit(x, y, prefix + clean_inline(text[x:y]), "row", context, prefix)
            for x, y in items
            if clean_inline(text[x:y])
        )
        parts.append(Unit(a, b, prefix + value, "row", context, prefix, sub if len(sub) > 1 else ()))
    return Unit(row_span[0], row_span[1], lead + " ".join(shown), "row", context, "", tuple(parts))


def _short(label: str, limit: int = 24) -> str:
    """Labels repeated before every piece of a row stay short."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _li_spans(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Spans of the list items inside a cell, each from its <li> to the next one."""
    starts = [m.start() for m in _LI.finditer(text, a, b)]
    if not starts:
        return [(a, b)]
    if clean_inline(text[a : starts[0]]):  # text before the list is a piece of its own
        starts.insert(0, a)
    bounds = starts + [b]
    return [(x, y) for x, y in zip(bounds[:-1], bounds[1:])]
