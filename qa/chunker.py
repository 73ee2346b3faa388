"""Slides -> chunks within a token budget, cut on Japanese token boundaries.

Units are packed in order; a chunk never crosses a slide, starts afresh at a
section heading, and ends at a unit boundary (a sentence, bullet or table row).
A unit too long for the budget falls back to its parts (a row's cells, a cell's list
items), then to its sentences (。), then to runs of fugashi tokens.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from .corpus import Document, Unit, clean_inline, split_slides
from .tokens import count_tokens, tokenize

_SENTENCE_END = re.compile(r"(?<=[。．！？!?])")


@dataclass(frozen=True)
class Piece:
    """An answerable span inside a chunk: a sentence, bullet, heading or table row."""

    start: int
    end: int
    text: str
    kind: str


@dataclass(frozen=True)
class Chunk:
    id: str
    doc_id: str
    source: str
    slide: int
    title: str
    context: str  # slide title and sub-heading path, embedded with the text
    start: int
    end: int
    text: str
    pieces: tuple[Piece, ...]

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"


def chunk_document(doc: Document, max_tokens: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    for slide in split_slides(doc.text):
        leaves = [leaf for unit in slide.units for leaf in _fit(doc.text, unit, max_tokens)]
        group: list[tuple[Unit, int]] = []
        size = 0
        for leaf in leaves:
            n = count_tokens(leaf.text)
            section = leaf.kind == "heading" and not leaf.path
            if group and (size + n > max_tokens or (section and any(u.kind != "heading" for u, _ in group))):
                chunks.append(_make_chunk(doc, slide.number, slide.title, group))
                group, size = [], 0
            group.append((leaf, n))
            size += n
        if group:
            chunks.append(_make_chunk(doc, slide.number, slide.title, group))
    return _unique_ids(chunks)


def _unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """Identical chunks in different places get distinct ids (content hash plus the
    occurrence number), so results keyed by id never merge them."""
    seen: dict[str, int] = {}
    out = []
    for c in chunks:
        n = seen.get(c.id, 0)
        seen[c.id] = n + 1
        out.append(c if n == 0 else replace(c, id=hashlib.sha256(f"{c.id}#{n}".encode()).hexdigest()[:16]))
    return out


def _make_chunk(doc: Document, slide: int, title: str, group) -> Chunk:
    units = [u for u, _ in group]
    path = next((u.path for u in units if u.kind != "heading"), units[0].path)
    context = " / ".join([title, *path])
    text = "\n".join(u.text for u in units)
    pieces = tuple(Piece(u.start, u.end, u.text, u.kind) for u in units)
    digest = hashlib.sha256(f"{doc.doc_id}\0{context}\0{text}".encode()).hexdigest()[:16]
    return Chunk(digest, doc.doc_id, doc.source, slide, title, context, units[0].start, units[-1].end, text, pieces)


def _fit(text: str, unit: Unit, max_tokens: int) -> list[Unit]:
    """The unit itself if it fits, else finer units that do."""
    if count_tokens(unit.text) <= max_tokens:
        return [unit]
    if unit.parts:
        return [leaf for part in unit.parts for leaf in _fit(text, part, max_tokens)]
    return _split(text, unit, max_tokens)


def _token_windows(text: str, a: int, b: int, budget: int) -> list[tuple[int, int]]:
    """Contiguous spans of at most `budget` tokens each. MeCab may cut a span on its
    own differently than in context, so each window is re-counted and shrunk."""
    tokens = tokenize(text[a:b])
    spans, i = [], 0
    while i < len(tokens):
        start = a + tokens[i].start if i else a
        j = min(len(tokens), i + budget)
        while True:
            end = b if j == len(tokens) else a + tokens[j].start
            if j - i <= 1 or count_tokens(text[start:end]) <= budget:
                break
            j -= 1
        spans.append((start, end))
        i = j
    return spans


def _split(text: str, unit: Unit, max_tokens: int) -> list[Unit]:
    """Cut a long unit at sentence ends, then at token boundaries, packing greedily."""
    budget = max(8, max_tokens - count_tokens(unit.prefix))
    spans: list[tuple[int, int]] = []
    pos = unit.start
    for sentence in _SENTENCE_END.split(text[unit.start : unit.end]):
        if sentence:
            spans.append((pos, pos + len(sentence)))
            pos += len(sentence)
    pieces: list[tuple[int, int]] = []
    for a, b in spans:
        if count_tokens(text[a:b]) <= budget:
            pieces.append((a, b))
            continue
        pieces.extend(_token_windows(text, a, b, budget))
    merged: list[list[int]] = []
    for a, b in pieces:
        if merged and count_tokens(text[merged[-1][0] : b]) <= budget:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        body = clean_inline(text[a:b])
        if any(ch.isalnum() for ch in body):  # markup alone (a closing </ul>, a stray >) is no piece
            out.append(Unit(a, b, unit.prefix + body, unit.kind, unit.path, unit.prefix))
    return out
