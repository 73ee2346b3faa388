import pytest

from conftest import DECK
from qa.chunker import chunk_document
from qa.corpus import Document, split_slides
from qa.tokens import count_tokens

DECK_DOC = Document("deck", "corpus/deck.txt", DECK.read_text(encoding="utf-8"))


def doc(text: str) -> Document:
    return Document("t", "corpus/t.txt", text)


@pytest.mark.parametrize(
    "text, budget, expected",
    [
        # short slides stay whole, one chunk each
        ("# 題\n一文目。\n# 次\n二文目。", 50, [["題", "一文目。"], ["次", "二文目。"]]),
        # a section heading starts a new chunk
        ("# 題\n前文。\n## 節\n本文。", 50, [["題", "前文。"], ["節", "本文。"]]),
        # a long line is cut at sentence ends
        ("# 題\n" + "これは文です。" * 6, 12, [["題", "これは文です。これは文です。"]] + [["これは文です。これは文です。"]] * 2),
        # a table row that fits stays one piece with its labels
        ("# 題\n\tA\tB\n行\t1\t2", 50, [["題", "A B", "行：【A】1 【B】2"]]),
        # a row too long for the budget falls back to labelled cells
        ("# 題\n\tA\tB\n行\t" + "長い" * 20 + "\t短い", 25, [["題", "A B"], ["行：【A】" + "長い" * 20], ["行：【B】短い"]]),
    ],
)
def test_chunk_table(text, budget, expected):
    chunks = chunk_document(doc(text), budget)
    assert [[p.text for p in c.pieces] for c in chunks] == expected


@pytest.mark.parametrize("budget", [40, 150, 300])
def test_deck_chunks_respect_budget_spans_and_slides(budget):
    chunks = chunk_document(DECK_DOC, budget)
    slides = {s.number: s for s in split_slides(DECK_DOC.text)}
    for c in chunks:
        s = slides[c.slide]
        assert s.start <= c.start < c.end <= s.end  # never crosses a slide
        assert count_tokens(c.text) <= budget + 2 * len(c.pieces)  # pieces join with newlines
        for p in c.pieces:
            assert count_tokens(p.text) <= budget or p.kind == "heading"
            assert c.start <= p.start < p.end <= c.end
            raw = DECK_DOC.text[p.start : p.end]
            assert raw.strip(), "a piece maps to real text"
    assert len({c.id for c in chunks}) == len(chunks)


def test_table_rows_are_never_split_when_they_fit():
    chunks = chunk_document(DECK_DOC, 150)
    rows = [p for c in chunks for p in c.pieces if p.kind == "row" and p.text.startswith("化学：")]
    assert len(rows) == 1
    assert "【1位】中国 35.3%" in rows[0].text and "【10位】スペイン 4.2%" in rows[0].text
    assert DECK_DOC.text[rows[0].start : rows[0].end].startswith("化学\t中国 35.3%")


def test_chunk_ids_depend_on_content_only():
    a = chunk_document(doc("# 題\n一。\n# 次\n二。"), 50)
    b = chunk_document(doc("# 題\n一。\n# 次\n二が変わった。"), 50)
    assert a[0].id == b[0].id and a[1].id != b[1].id


def test_context_carries_title_and_heading_path():
    chunks = chunk_document(doc("# 題\n前文。\n## 節\n### 小節\n本文。"), 50)
    assert chunks[-1].context == "題 / 節 / 小節"
    assert chunks[-1].embed_text.startswith("題 / 節 / 小節\n")
