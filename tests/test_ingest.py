"""Bringing PDF, markdown and text files into corpus/ (qa.ingest)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import pytest

from fakes import FakeEmbedder

from qa import ingest
from qa.config import Config
from qa.corpus import split_slides
from qa.errors import InputError
from qa.indexer import build_index
from qa.pipeline import Pipeline
from qa.store import FileStore

FONT = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")  # Debian: fonts-ipafont-gothic
FACT = "第3ページの事実：予算は42億円"


# --- helpers --------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Config:
    (tmp_path / "corpus").mkdir()
    return Config(root=tmp_path)


@pytest.fixture
def src(tmp_path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    """A PDF with one page per list of lines, in the embedded IPAGothic font."""
    # `make test` installs both; a missing one is a set-up failure, not a reason to skip.
    assert FONT.is_file(), f"{FONT} missing: run `make system-deps` (apt-get install fonts-ipafont-gothic)"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "IPAGothic" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("IPAGothic", str(FONT)))
    c = canvas.Canvas(str(path))
    if title:
        c.setTitle(title)
    for lines in pages:
        c.setFont("IPAGothic", 11)
        for i, line in enumerate(lines):
            c.drawString(50, 780 - 16 * i, line)
        c.showPage()
    c.save()
    return path


def corpus_text(config: Config, doc_id: str) -> str:
    files = [p for p in config.corpus_dir.iterdir() if p.stem == doc_id and p.suffix in (".txt", ".md")]
    assert len(files) == 1, files
    return files[0].read_text(encoding="utf-8")


def meta(config: Config, doc_id: str) -> dict:
    return json.loads((config.corpus_dir / f"{doc_id}.json").read_text(encoding="utf-8"))


def bm25(config: Config, emb, query: str, k: int = 1):
    return Pipeline(config, emb).search(query, k=k, mode="bm25")


DECK = """# 地域産業振興計画
令和7年度 版

# 背景
・地域の人口は減少傾向にある。
・若年層の流出が課題である。

# 施策の柱
・観光資源の磨き上げを進める。
・地場産業のデジタル化を支援する。

# 目標
・2030年までに観光客数を1.5倍にする。
"""


# --- PDF ------------------------------------------------------------------------


def test_pdf_pages_become_slides_and_are_searchable(project, src):
    pages = [
        ["科学技術政策の年次報告", "はじめに：本報告の目的を述べる。"],
        ["第2章 研究人材", "# 行頭がシャープの行は見出しにならない", "博士課程の学生支援を拡充する。"],
        ["第3章 財源", FACT + "。", "内訳は後述する。"],
        ["第4章 国際連携", "欧州との共同研究を推進する。"],
        ["第5章 まとめ", "次年度に向けた課題を整理する。"],
    ]
    pdf = make_pdf(src / "annual_report.pdf", pages, title="科学技術政策の年次報告 2025")
    [res] = ingest.add(project, [pdf])
    assert res.status == "added", res.message
    assert res.pages == 5 and res.empty_pages == ()

    text = corpus_text(project, res.doc_id)
    assert text.startswith("# 科学技術政策の年次報告 2025 p.1\n")
    slides = split_slides(text)
    assert [s.number for s in slides] == [1, 2, 3, 4, 5]
    assert [s.title for s in slides] == [f"科学技術政策の年次報告 2025 p.{n}" for n in range(1, 6)]
    assert FACT in slides[2].body and all(FACT not in s.body for i, s in enumerate(slides) if i != 2)
    assert "\n # 行頭がシャープの行" in text  # escaped, so it stays inside page 2
    assert "博士課程" in slides[1].body

    m = meta(project, res.doc_id)
    assert m["format"] == "pdf" and m["pages"] == 5 and m["empty_pages"] == []
    assert m["sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert m["source_file"] == "annual_report.pdf" and m["source_path"] == str(pdf)
    assert m["date"] and len(m["date"]) == 10  # from /CreationDate
    assert res.doc_id.startswith("annual_report_")

    emb = FakeEmbedder()
    build_index(project, emb)
    [hit] = bm25(project, emb, "予算は42億円")
    assert (hit.doc_id, hit.slide) == (res.doc_id, 3)
    assert FACT in text[hit.start : hit.end]


def test_pdf_blank_page_is_kept_and_reported(project, src):
    pdf = make_pdf(src / "memo.pdf", [["会議メモ", "議題は三つ。"], [], ["決定事項：次回は六月。"]])
    [res] = ingest.add(project, [pdf])
    assert res.status == "added" and res.empty_pages == (2,) and res.pages == 3
    assert "2" in res.message
    slides = split_slides(corpus_text(project, res.doc_id))
    assert len(slides) == 3
    assert ingest.EMPTY_PAGE in slides[1].body and "決定事項" in slides[2].body
    assert meta(project, res.doc_id)["title"] == "会議メモ"  # no /Title: first line of page 1
    assert meta(project, res.doc_id)["empty_pages"] == [2]


# --- text and markdown ----------------------------------------------------------


def test_markdown_and_shift_jis_round_trip_and_readd_is_noop(project, src):
    md = src / "plan.md"
    md.write_text(DECK, encoding="utf-8")
    sjis_text = "東京都の補助金について\n申請期限は九月末日です。\n窓口：産業労働局（〒163-8001）\n"
    sjis = src / "補助金案内.txt"
    sjis.write_bytes(sjis_text.encode("cp932"))
    bom = src / "bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + "# 見出し\n本文です。\r\n二行目。\r\n".encode())

    results = ingest.add(project, [src])
    assert [r.status for r in results] == ["added"] * 3, [r.message for r in results]
    by_name = {r.path.name: r for r in results}
    assert corpus_text(project, by_name["plan.md"].doc_id) == DECK
    assert corpus_text(project, by_name["補助金案内.txt"].doc_id) == sjis_text
    assert corpus_text(project, by_name["bom.txt"].doc_id) == "# 見出し\n本文です。\n二行目。\n"
    assert (project.corpus_dir / f"{by_name['plan.md'].doc_id}.md").is_file()
    assert by_name["plan.md"].pages == 4 and by_name["補助金案内.txt"].pages == 1
    m = meta(project, by_name["補助金案内.txt"].doc_id)
    assert (m["encoding"], m["format"], m["title"]) == ("cp932", "text", "東京都の補助金について")
    assert meta(project, by_name["plan.md"].doc_id)["title"] == "地域産業振興計画"
    assert meta(project, by_name["bom.txt"].doc_id)["encoding"] == "utf-8-sig"

    before = {p.name: p.stat().st_mtime_ns for p in project.corpus_dir.iterdir()}
    again = ingest.add(project, [md, sjis, bom])
    assert [r.status for r in again] == ["unchanged"] * 3
    assert [r.doc_id for r in again] == [by_name[n].doc_id for n in ("plan.md", "補助金案内.txt", "bom.txt")]
    assert {p.name: p.stat().st_mtime_ns for p in project.corpus_dir.iterdir()} == before


def test_update_reuses_unchanged_chunks_and_remove_drops_doc(project, src):
    md = src / "plan.md"
    md.write_text(DECK, encoding="utf-8")
    other = src / "other.txt"
    other.write_text("# 別資料\n防災計画の概要を示す。\n", encoding="utf-8")
    first = {r.path.name: r for r in ingest.add(project, [md, other])}
    doc_id = first["plan.md"].doc_id

    assert all(d["index_state"] == "missing" and not d["indexed"] for d in ingest.list_docs(project))
    emb = FakeEmbedder()
    build_index(project, emb)
    full = emb.documents_embedded
    docs = {d["doc_id"]: d for d in ingest.list_docs(project)}
    assert docs[doc_id]["indexed"] and docs[doc_id]["chunks"] >= 4 and docs[doc_id]["pages"] == 4

    md.write_text(DECK.replace("1.5倍", "2倍"), encoding="utf-8")
    [res] = ingest.add(project, [md])
    assert (res.status, res.doc_id) == ("updated", doc_id)
    docs = {d["doc_id"]: d for d in ingest.list_docs(project)}
    assert docs[doc_id]["index_state"] == "stale" and docs[first["other.txt"].doc_id]["indexed"]

    build = build_index(project, emb)
    stats = json.loads((build / "manifest.json").read_text(encoding="utf-8"))["build_stats"]
    assert 0 < emb.documents_embedded - full == stats["embedded"] < full / 3
    assert stats["reused"] > stats["embedded"]
    [hit] = bm25(project, emb, "観光客数を2倍")
    assert (hit.doc_id, hit.slide) == (doc_id, 4)

    removed = ingest.remove(project, doc_id)
    assert not removed.exists() and not (project.corpus_dir / f"{doc_id}.json").exists()
    build_index(project, emb)
    assert all(h.doc_id != doc_id for h in bm25(project, emb, "観光客数を2倍 地場産業のデジタル化", k=10))
    assert {d["doc_id"] for d in FileStore.load(project).documents()} == {first["other.txt"].doc_id}
    with pytest.raises(InputError, match="qa docs"):
        ingest.remove(project, doc_id)


def test_same_name_in_two_folders_gets_two_stable_ids(project, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "report.md").write_text("# A\n甲の報告。\n", encoding="utf-8")
    (b / "report.md").write_text("# B\n乙の報告。\n", encoding="utf-8")
    first = ingest.add(project, [b / "report.md", a / "report.md"])
    assert [r.status for r in first] == ["added", "added"]
    assert first[0].doc_id != first[1].doc_id and all(r.doc_id.startswith("report_") for r in first)
    again = ingest.add(project, [a / "report.md", b / "report.md"])
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    assert [r.doc_id for r in again] == [first[1].doc_id, first[0].doc_id]


# --- a larger corpus ------------------------------------------------------------

PLACES = (
    "北海道 青森 岩手 宮城 秋田 山形 福島 茨城 栃木 群馬 埼玉 千葉 東京 神奈川 新潟 富山 石川 福井 山梨 長野 "
    "岐阜 静岡 愛知 三重 滋賀 京都 大阪 兵庫 奈良 和歌山 鳥取 島根 岡山 広島 山口 徳島 香川 愛媛 高知 福岡 "
    "佐賀 長崎 熊本 大分 宮崎 鹿児島 沖縄 札幌 仙台 横浜"
).split()
GOODS = "りんご みかん ぶどう もも なし いちご メロン すいか さくらんぼ かき".split()
FILLER = [
    "本資料は有識者会議での議論を整理したものである。",
    "研究開発投資の対GDP比は主要国と比べて低い水準にとどまる。",
    "デジタル人材の育成には産学官の連携が欠かせない。",
    "脱炭素社会の実現に向けて再生可能エネルギーの導入を加速する。",
    "若手研究者が安定した環境で挑戦できる制度を整える。",
    "地方の大学と企業の共同研究を後押しする仕組みが求められる。",
    "国際頭脳循環の観点から海外との人材交流を拡大する。",
    "スタートアップへの資金供給を多様化する必要がある。",
]


def test_fifty_documents_index_and_cite_the_right_doc(project, src):
    rng = random.Random(7)
    facts = {}
    for i, place in enumerate(PLACES):
        fact = f"{place}の特産品は{GOODS[i % len(GOODS)]}で、年間出荷量は{100 + 37 * i}トンです。"
        body = rng.sample(FILLER, 4)
        body.insert(rng.randrange(5), fact)
        name = f"doc{i:02d}.md" if i % 2 else f"資料{i:02d}.txt"
        (src / name).write_text(f"# {place}の産業資料\n" + "\n".join(body) + "\n", encoding="utf-8")
        facts[name] = fact
    results = ingest.add(project, [src])
    assert len(results) == 50 and {r.status for r in results} == {"added"}
    assert len({r.doc_id for r in results}) == 50
    ids = {r.path.name: r.doc_id for r in results}

    emb = FakeEmbedder()
    build_index(project, emb)
    for name in ("doc01.md", "資料10.txt", "doc37.md", "資料48.txt"):
        place = facts[name].split("の特産品")[0]
        [hit] = bm25(project, emb, f"{place}の特産品の年間出荷量は？")
        assert hit.doc_id == ids[name], (name, hit)
    listed = ingest.list_docs(project)
    assert len(listed) == 50 and all(d["indexed"] and d["chunks"] >= 1 for d in listed)
    # answers cite the right document, and a document filter keeps the others out
    answerer = Pipeline(project.with_(abstain_kind_missing=False), emb)
    name = "doc37.md"
    question = f"{facts[name].split('の特産品')[0]}の特産品の年間出荷量は何トンですか？"
    answer = answerer.ask(question, mode="bm25")
    assert answer.citations[0].doc_id == ids[name] and facts[name].split("、")[1][:8] in answer.answer
    others = [ids["doc01.md"], ids["資料10.txt"]]
    assert {c.doc_id for c in answerer.ask(question, mode="bm25", docs=others).citations} <= set(others)


# --- bad files ------------------------------------------------------------------


def test_bad_files_are_refused_and_good_ones_still_added(project, src):
    from pypdf import PdfReader, PdfWriter

    good_pdf = make_pdf(src / "good.pdf", [["良い資料", "本文。"], ["二頁目。"]])
    good_md = src / "good.md"
    good_md.write_text(DECK, encoding="utf-8")
    rng = random.Random(3)
    (src / "corrupt.pdf").write_bytes(b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(4000)))
    writer = PdfWriter(clone_from=PdfReader(good_pdf))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    with open(src / "locked.pdf", "wb") as fh:
        writer.write(fh)
    owner_only = PdfWriter(clone_from=PdfReader(good_pdf))  # opens with the empty password
    owner_only.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    with open(src / "owner_only.pdf", "wb") as fh:
        owner_only.write(fh)
    (src / "empty.txt").write_bytes(b"")
    (src / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (src / "noise.txt").write_bytes(bytes(rng.randrange(128, 256) for _ in range(4000)))
    with open(src / "huge.txt", "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: no disk used, nothing read
    (src / "slides.pptx").write_bytes(b"PK\x03\x04")
    explicit = src / "slides.pptx"

    started = time.perf_counter()
    results = {r.path.name: r for r in ingest.add(project, [src, explicit, src / "missing.md"])}
    assert time.perf_counter() - started < 10

    expect_error = {
        "corrupt.pdf": "cannot be read as a PDF",
        "locked.pdf": "decrypt it first",
        "empty.txt": "empty",
        "binary.txt": "NUL",
        "noise.txt": "UTF-8",
        "huge.txt": "over the 50 MB limit",
        "slides.pptx": "unsupported file type",
        "missing.md": "does not exist",
    }
    for name, words in expect_error.items():
        assert results[name].status == "error" and words in results[name].message, results[name]
    for name in ("good.pdf", "good.md", "owner_only.pdf"):
        assert results[name].status == "added", results[name]
    added = {results[n].doc_id for n in ("good.pdf", "good.md", "owner_only.pdf")}
    expected = {f"{results['good.md'].doc_id}.md", f"{results['good.pdf'].doc_id}.txt",
                f"{results['owner_only.pdf'].doc_id}.txt"} | {f"{d}.json" for d in added}
    assert {p.name for p in project.corpus_dir.iterdir()} == expected  # no temp or partial files
    assert {d["doc_id"] for d in ingest.list_docs(project)} == added


def test_size_limit_is_configurable(project, src):
    f = src / "note.txt"
    f.write_text("短いメモ。\n" * 100, encoding="utf-8")
    [res] = ingest.add(project, [f], max_bytes=100)
    assert res.status == "error" and "limit" in res.message
    assert list(project.corpus_dir.iterdir()) == []


def test_adding_from_the_corpus_folder_is_refused(project):
    inside = project.corpus_dir / "x.txt"
    inside.write_text("本文\n", encoding="utf-8")
    [res] = ingest.add(project, [inside])
    assert res.status == "error" and "already in the corpus" in res.message


def test_a_changed_file_that_turns_bad_keeps_the_old_version(project, src):
    f = src / "note.txt"
    f.write_text("# メモ\n最初の版。\n", encoding="utf-8")
    [first] = ingest.add(project, [f])
    f.write_bytes(b"\x00\x01\x02binary")
    [res] = ingest.add(project, [f])
    assert res.status == "error" and res.doc_id == first.doc_id and "stays in the corpus" in res.message
    assert corpus_text(project, first.doc_id) == "# メモ\n最初の版。\n"
