"""What the chat page's events do (qa.ui.chat.ChatPage), without a server or browser."""

from __future__ import annotations

import json
import shutil

import pytest

from fakes import FakeEmbedder
from qa.config import Config
from qa.indexer import build_index
from qa.pipeline import Pipeline
from qa.ui.chat import INPUT_LIMIT, ChatPage
from ui_kit import FOLLOW_UP, OUT_OF_SCOPE, ROOT, SATREPS, deck  # noqa: F401 - deck is a fixture

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Spy:
    """A pipeline that records what it is asked and must not be asked."""

    def __init__(self):
        self.calls = []

    def ask(self, question, docs=None):
        self.calls.append(question)
        raise AssertionError("the pipeline was asked")

    def refresh(self, background=False):
        self.calls.append("refresh")
        return False

    def doc_titles(self):
        return {"deck": "資料"}


@pytest.fixture
def page(deck, tmp_path):
    cfg, pipeline = deck
    return ChatPage(pipeline, cfg, tmp_path / "fb.jsonl")


def _is_skip(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1


def test_a_question_shows_at_once_then_its_answer_is_kept_in_the_conversation(page):
    steps = list(page.submit(SATREPS, [], None))
    assert len(steps) == 2
    pending = steps[0][0]
    assert pending[-1]["role"] == "user" and "SATREPS" in pending[-1]["content"] and all(_is_skip(v) for v in steps[0][1:])
    chat, saved, slide, feedback_box = steps[1]
    assert len(chat) == 2 and "qa-answer qa-turn-0" in chat[1]["content"] and "p.16" in chat[1]["content"]
    assert saved[0]["question"] == SATREPS and 16 in [c["slide"] for c in saved[0]["answer"]["citations"]]
    assert "出典" in slide and feedback_box["visible"] is False

    # the next answer goes after it, with its own turn number
    chat, saved, *_ = list(page.submit(OUT_OF_SCOPE, saved, None))[-1]
    assert len(chat) == 4 and "qa-abstain qa-turn-1" in chat[3]["content"] and len(saved) == 2


def test_a_follow_up_is_read_with_the_previous_subject_and_says_so(page):
    alone = page.ask(FOLLOW_UP)
    assert alone.abstained  # on its own the question has nothing to go on
    *_, (chat, saved, _, _) = page.submit(SATREPS, [], None)
    *_, (chat, saved, _, _) = page.submit(FOLLOW_UP, saved, None)
    answer = saved[-1]["answer"]
    assert saved[-1]["question"] == FOLLOW_UP and answer["question"] == FOLLOW_UP
    assert answer["reading"] == "SATREPSはいつからですか？"
    assert answer["notice"] == "前の質問を踏まえて：SATREPSはいつからですか？"
    assert not answer["abstained"] and 16 in [c["slide"] for c in answer["citations"]]  # SATREPSの実施実績（2008年～）
    assert "前の質問を踏まえて：SATREPSはいつからですか？" in chat[-1]["content"]


def test_symbols_and_empty_input(page):
    for empty in ("", "   ", " \x00\n", None):
        (step,) = list(page.submit(empty, [], None))
        assert all(_is_skip(v) for v in step)
    chat, saved, *_ = list(page.submit("？？？", [], None))[-1]
    assert "qa-hint" in chat[-1]["content"] and saved[-1]["kind"] == "input"


def test_an_over_long_question_is_refused_before_any_work(deck, tmp_path):
    cfg, _ = deck
    spy = Spy()
    page = ChatPage(spy, cfg, tmp_path / "fb.jsonl")
    text = "あ" * INPUT_LIMIT  # the box stopped taking more here
    chat, saved, *_ = list(page.submit(text, [], None))[-1]
    assert spy.calls == []
    assert "質問が長すぎます（10,000 文字以上）" in chat[-1]["content"] and "2,000 文字以内" in chat[-1]["content"]
    assert "10,000 文字以上" in chat[-2]["content"]  # the question preview says so too
    assert len(saved[-1]["question"]) == 600 and saved[-1]["chars"] == INPUT_LIMIT  # a preview is kept, not the paste
    out = page.api_ask("い" * 10_000_000)
    assert spy.calls == [] and out["abstained"] and "the limit is 2,000" in out["error"]
    assert len(out["question"]) < 300  # never echoed back whole
    assert "limit is 2,000" in page.api_ask("SATREPSは？", previous="う" * 2001)["error"]
    assert spy.calls == []


def test_restore_draws_the_kept_conversation_and_drops_what_does_not_parse(page):
    *_, (chat, saved, _, _) = page.submit(SATREPS, [], None)
    assert page.restore(saved + [{"question": "x", "answer": "junk"}, 42]) == chat
    assert _is_skip(page.restore(None)) and _is_skip(page.restore([]))


def test_open_source_shows_the_whole_slide_with_the_quote_marked(page):
    *_, (chat, saved, _, _) = page.submit(SATREPS, [], None)
    html = page.open_source("0:1", saved)
    assert "p.16" in html and "アフリカ" in html and "<mark>" in html  # beyond the cited passage
    for bad in ("", "9:1", "0:99", "x:y", "0:1:2"):
        assert "qa-slide-empty" in page.open_source(bad, saved)


def test_export_is_markdown_with_the_citations(page):
    *_, (chat, saved, _, _) = page.submit(SATREPS, [], None)
    md = page.export(saved)
    assert md.startswith("# 資料QA 会話の記録") and "## 質問 1" in md and "p.16" in md and "106プロジェクト" in md


def test_ratings_and_comments_go_to_the_feedback_log(page, tmp_path):
    import gradio as gr

    *_, (chat, saved, _, _) = page.submit(SATREPS, [], None)
    like = gr.LikeData(None, {"index": 1, "value": "…", "liked": True})
    rated, box_update, note = page.rate(like, saved)
    assert rated == {"index": 1, "rating": "up"} and box_update["visible"] is True and note
    assert page.comment("出典が分かりやすい", rated, saved)[0] == ""
    records = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == ["rating", "comment"]
    assert records[1]["comment"] == "出典が分かりやすい" and records[1]["rating"] == "up"
    assert records[0]["question"] == SATREPS and 16 in [c["slide"] for c in records[0]["citations"]]
    # a rating on a question (index 0), or past the end, records nothing
    for index in (0, 7):
        assert page.rate(gr.LikeData(None, {"index": index, "value": "", "liked": True}), saved)[0] is None


def test_unexpected_failure_becomes_an_apology_in_the_chat(deck, tmp_path, caplog):
    cfg, pipeline = deck
    page = ChatPage(pipeline, cfg, tmp_path / "fb.jsonl")

    def broken(question, docs=None):
        raise RuntimeError("boom")

    page.pipeline = type("Broken", (), {"ask": staticmethod(broken), "refresh": lambda self, background: False,
                                        "doc_titles": lambda self: {}})()
    chat, saved, *_ = list(page.submit("WPIの外国人比率は？", [], None))[-1]
    assert "申し訳ありません" in chat[-1]["content"] and saved[-1]["kind"] == "failure"
    assert "answering failed" in caplog.text
    assert page.api_ask("WPIの外国人比率は？")["error"] == "internal error; see the server log"


def test_api_ask_takes_a_previous_question(page):
    out = page.api_ask(FOLLOW_UP, previous=SATREPS)
    assert out["question"] == FOLLOW_UP and out["reading"] == "SATREPSはいつからですか？"
    assert out["notice"].startswith("前の質問を踏まえて") and 16 in [c["slide"] for c in out["citations"]]
    plain = page.api_ask(SATREPS)
    assert plain["reading"] == "" and plain["notice"] == "" and not plain["abstained"]
    assert "words" in page.api_ask("？？？")["error"]
    assert page.api_ask(None)["error"] == "the question must be text"


def test_several_documents_name_their_document_and_can_be_filtered(tmp_path):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    (tmp_path / "corpus" / "memo.txt").write_text("# 連絡メモ\nSATREPSの説明会は札幌で開催する。\n", encoding="utf-8")
    (tmp_path / "corpus" / "memo.json").write_text(json.dumps({"doc_id": "memo", "title": "連絡メモ"}), encoding="utf-8")
    cfg = Config(root=tmp_path)
    emb = FakeEmbedder()
    build_index(cfg, emb)
    page = ChatPage(Pipeline(cfg, emb), cfg, tmp_path / "fb.jsonl")
    assert page.doc_titles["memo"] == "連絡メモ" and len(page.doc_titles) == 2
    deck_id = next(d for d in page.doc_titles if d != "memo")
    only_memo = page.ask("SATREPSの説明会はどこで開催しますか", docs=["memo"])
    assert {c.doc_id for c in only_memo.citations} == {"memo"}
    only_deck = page.ask("SATREPSの説明会はどこで開催しますか", docs=[deck_id])
    assert "memo" not in {c.doc_id for c in only_deck.citations}
    chat, *_ = list(page.submit("SATREPSの説明会はどこで開催しますか", [], ["memo"]))[-1]
    assert '<span class="qa-doc">連絡メモ</span>' in chat[-1]["content"]
    assert "連絡メモ" in page.export(list(page.submit("SATREPSの説明会はどこで開催しますか", [], ["memo"]))[-1][1])


def test_missing_index_is_built_before_loading(tmp_path, caplog):
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    cfg = Config(root=tmp_path, home=tmp_path / "home")
    assert not (cfg.index_dir / "CURRENT").exists()
    pipeline = Pipeline.load(cfg, FakeEmbedder(), build_missing=True)
    assert (cfg.index_dir / "CURRENT").exists()
    assert "there is none yet" in caplog.text
    assert pipeline.ask(SATREPS).citations
    deck = next(cfg.corpus_dir.glob("*.txt"))
    deck.write_text(deck.read_text(encoding="utf-8") + "\n# 追加の頁\n新しい事実。\n", encoding="utf-8")
    pipeline = Pipeline.load(cfg, FakeEmbedder(), build_missing=True)  # a stale index is rebuilt, not refused
    assert "it cannot be used" in caplog.text and "changed after the index was built" in caplog.text
    store = pipeline.store
    assert any(c.title == "追加の頁" for c in store.doc_chunks(store.documents()[0]["doc_id"]))


def test_the_page_says_when_the_corpus_is_ahead_of_the_index(tmp_path):
    from qa.ui.chat import STALE_NOTICE

    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    cfg = Config(root=tmp_path)
    emb = FakeEmbedder()
    build_index(cfg, emb)
    page = ChatPage(Pipeline(cfg, emb), cfg, tmp_path / "fb.jsonl")
    assert STALE_NOTICE not in page.ask(SATREPS).notice
    deck_file = next(cfg.corpus_dir.glob("*.txt"))
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace("約300名", "約999名"), encoding="utf-8")
    assert STALE_NOTICE in page.ask(SATREPS).notice  # edited, not yet indexed
    build_index(cfg, emb)
    page.pipeline.refresh()
    assert STALE_NOTICE not in page.ask(SATREPS).notice
