"""Reading comprehension: the reader given a whole paragraph, and JaQuAD-style EM/F1.

    python scripts/train_reader.py --eval-rc    # all of JaQuAD dev, about 9 minutes
    qa eval --rc JaQuAD/data/dev                # the same, beside the published baseline

`read_paragraph` reads a paragraph sentence by sentence (or in windows of whole
sentences) and returns the best span; `eval_rc` scores it against JaQuAD's answers with
the gold paragraph given. The metrics compare characters after NFKC, without white
space, punctuation or symbols.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections import Counter
from pathlib import Path

from qa.reader import PARA_LEN, Reader, clip_question, pick_sentence, second_segment, split_sentences


# How read_paragraph picks, JaQuAD dev RC F1: by sentence "span" (qa.reader.pick_sentence, as
# answering picks within a piece), "score" (answerability alone; .697 with the step-2,400 file),
# or "whole" (windows; see the model card)
SELECT = "span"


def read_paragraph(
    question: str, context: str, paragraph: str, reader: Reader | None = None, select: str | None = None
) -> tuple[str, float]:
    """The best span of `paragraph` and the answerability score of what it was read in.

    select "span" or "score" reads sentence by sentence and picks the sentence as
    qa.reader.pick_sentence does or by answerability alone;
    "whole" reads windows of whole sentences of up to PARA_LEN tokens and picks by span
    score."""
    reader = reader or _default_reader()
    select = select or SELECT
    if select == "whole":
        spans = paragraph_windows(reader, question, context, paragraph)
        readings = reader.read(question, [(context, paragraph[a:b]) for a, b in spans], max_len=PARA_LEN)
        return _pick(question, paragraph, spans, readings, "span")
    spans, readings = _read_sentences(question, context, paragraph, reader)
    return _pick(question, paragraph, spans, readings, select)


def paragraph_windows(reader: Reader, question: str, context: str, paragraph: str) -> list[tuple[int, int]]:
    """Char spans of runs of whole sentences that fit PARA_LEN tokens beside the question;
    each window after the first starts with the previous one's last sentence."""
    spans = _sentences(paragraph)
    tok = reader.tokenizer_for(None)
    head = len(tok.encode(clip_question(tok, question or ""), second_segment(context, "")[0]).ids)
    room = PARA_LEN - head - 1
    sizes = [len(e.ids) for e in tok.encode_batch([paragraph[a:b] for a, b in spans], add_special_tokens=False)]
    windows, i = [], 0
    while i < len(spans):
        j, used = i, sizes[i]
        while j + 1 < len(spans) and used + sizes[j + 1] <= room:
            j += 1
            used += sizes[j]
        windows.append((spans[i][0], spans[j][1]))
        if j + 1 >= len(spans):
            break
        i = j if j > i else j + 1
    return windows


def _sentences(paragraph: str) -> list[tuple[int, int]]:
    return split_sentences(paragraph) or [(0, len(paragraph))]


def _read_sentences(question, context, paragraph, reader):
    spans = _sentences(paragraph)
    return spans, reader.read(question, [(context, paragraph[a:b]) for a, b in spans])


def _pick(question, paragraph, spans, readings, select: str) -> tuple[str, float]:
    if select == "score":
        best = max(range(len(spans)), key=lambda i: (readings[i].span is not None, readings[i].score))
    else:
        best = pick_sentence(question, paragraph, spans, readings)
    r = readings[best]
    if r.span is None:
        return "", r.score
    a = spans[best][0]
    return paragraph[a + r.span[0] : a + r.span[1]], r.score


_READER: Reader | None = None


def _default_reader() -> Reader:
    global _READER
    if _READER is None:
        _READER = Reader.load()
    return _READER


_PUNCT_CATS = ("P", "S", "Z")


def normalize_answer(text: str) -> str:
    """Characters compared for Japanese EM/F1: NFKC, no whitespace, punctuation or symbols."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in _PUNCT_CATS)


def char_f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred), normalize_answer(gold)
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred: str, gold: str) -> float:
    return float(normalize_answer(pred) == normalize_answer(gold))


def eval_rc(
    data_dir: str | Path, reader: Reader | None = None, limit: int | None = None, progress: bool = True, select: str | None = None
) -> dict:
    """Reading comprehension on JaQuAD dev: gold paragraph given, EM/F1 (max over gold answers)."""
    reader = reader or _default_reader()
    files = sorted(Path(data_dir).glob("*.json"))
    items = []
    for f in files:
        for art in json.loads(f.read_text(encoding="utf-8"))["data"]:
            for para in art["paragraphs"]:
                for qa in para["qas"]:
                    items.append((art["title"], para["context"], qa["question"], [a["text"] for a in qa["answers"]]))
    if limit:
        items = items[:limit]
    it = items
    if progress:
        from tqdm import tqdm

        it = tqdm(items, desc="rc eval", mininterval=10)
    select = select or SELECT
    em = f1 = 0.0
    t0 = time.perf_counter()
    for title, para, q, golds in it:
        pred, _ = read_paragraph(q, title, para, reader, select)
        em += max(exact_match(pred, g) for g in golds)
        f1 += max(char_f1(pred, g) for g in golds)
    n = max(1, len(items))
    return {"n": len(items), "em": em / n, "f1": f1 / n, "select": select, "seconds": time.perf_counter() - t0}
