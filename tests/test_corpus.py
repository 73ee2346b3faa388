import json

import pytest

from conftest import DECK
from qa.corpus import clean_inline, load_corpus, read_document, split_slides
from qa.errors import CorpusError

TEXT = DECK.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def slides():
    return split_slides(TEXT)


def test_deck_has_34_slides_with_their_titles(slides):
    assert len(slides) == 34
    assert [s.number for s in slides] == list(range(1, 35))
    assert slides[0].title == "グローバル戦略の在り方について"
    assert slides[12].title == "国際頭脳循環への参画(インバウンド)"
    assert slides[19].title == "G7 科学技術大臣会合"
    assert slides[33].title == "OECDの認識と日本への提言"


def test_title_slide_keeps_front_matter(slides):
    body = slides[0].body
    assert "基本計画専門調査会（第6回）" in body and "2025年5月22日" in body


def test_every_unit_span_lies_in_its_slide(slides):
    for s in slides:
        for u in s.units:
            assert s.start <= u.start < u.end <= s.end
            for part in u.parts:
                assert u.start <= part.start < part.end <= u.end


def test_table_rows_keep_row_and_column_labels(slides):
    rows = [u.text for u in slides[6].units if u.kind == "row"]
    chem = next(r for r in rows if r.startswith("化学"))
    assert "【1位】中国 35.3%" in chem and "【2位】ドイツ 9.7%" in chem and "【10位】スペイン 4.2%" in chem
    satreps = [u.text for u in slides[15].units if u.kind == "row"]
    assert "【地域名】アジア 【実施国数】14か国 【プロジェクト数】106プロジェクト" in satreps


def test_html_cells_become_readable_text(slides):
    us = next(u for u in slides[7].units if u.text.startswith("米国"))
    assert "<" not in us.text and "●CHIPS・科学法" in us.text and "NSPM-33" in us.text
    assert len(us.parts) == 3  # one per cell, used when the row is too long


def test_sources_are_collected(slides):
    assert any("科学研究のベンチマーキング2023" in s for s in slides[6].sources)


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("- **量子科学技術における協力を強化**する。", "量子科学技術における協力を強化する。"),
        ("<b>研究者の30%以上が外国からの研究者</b>", "研究者の30%以上が外国からの研究者"),
        ("<ul><li>● A</li><li>B</li></ul>", "● A ・B"),
        ("10\\_科学技術", "10_科学技術"),
        ("<b>Economy&amp;Trade</b> 分析", "Economy&Trade 分析"),
    ],
)
def test_clean_inline(raw, shown):
    assert clean_inline(raw) == shown


def test_small_markdown_document(tmp_path):
    text = "前書き\n# 題名\n本文。\n# 二枚目\n## 小見出し\n- 箇条書き\n"
    slides = split_slides(text)
    assert [(s.number, s.title) for s in slides] == [(1, "題名"), (2, "二枚目")]
    assert slides[1].units[-1].path == ("小見出し",)
    assert text[slides[1].units[-1].start : slides[1].units[-1].end] == "- 箇条書き"


def test_metadata_beside_the_file(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("# T\nx", encoding="utf-8")
    (tmp_path / "corpus" / "a.json").write_text(json.dumps({"doc_id": "deck-a", "title": "資料A"}), encoding="utf-8")
    doc = load_corpus(tmp_path / "corpus", tmp_path)[0]
    assert (doc.doc_id, doc.title, doc.source) == ("deck-a", "資料A", "corpus/a.txt")


@pytest.mark.parametrize(
    "name, data, message",
    [("bad.txt", b"\xff\xfe\x00binary", "not UTF-8"), ("ok.txt", None, "no corpus folder")],
)
def test_bad_corpus_files_are_named(tmp_path, name, data, message):
    if data is not None:
        (tmp_path / "corpus").mkdir()
        (tmp_path / "corpus" / name).write_bytes(data)
    with pytest.raises(CorpusError, match=message):
        load_corpus(tmp_path / "corpus", tmp_path)


def test_read_document_outside_root(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("# a", encoding="utf-8")
    assert read_document(p, tmp_path / "elsewhere").source == p.as_posix()
