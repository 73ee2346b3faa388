"""The chat page: rendering, access rules, the /ask API and a real browser.

Everything runs on a FakeEmbedder index in a temporary root. The browser tests
(marked `browser`) drive Debian's chromium through Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:.*(no_silent_downcasting|copy keyword)")

from fakes import FakeEmbedder
from qa.config import Config
from qa.errors import InputError
from qa.results import Answer, Passage, Quote
from qa.indexer import build_index
from qa.pipeline import Pipeline
from qa.ui import access, render
from qa.ui.app import ChatPage, serve, start

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
# With the fake embedder these thresholds make out-of-scope questions abstain while
# the deck questions used here are answered.
THRESHOLDS = {"abstain_coverage": 0.6, "abstain_cosine": 0.7}
SATREPS = "SATREPSの実施実績でアジアのプロジェクト数は？"
OUT_OF_SCOPE = "オーストラリアの首都はどこですか？"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """A root with the corpus and a FakeEmbedder index; its config and pipeline."""
    root = tmp_path_factory.mktemp("deck")
    shutil.copytree(ROOT / "corpus", root / "corpus")
    cfg = Config(root=root, home=root / "home").with_(**THRESHOLDS)
    emb = FakeEmbedder()
    build_index(cfg, emb)
    return cfg, Pipeline(cfg, emb)


@pytest.fixture(scope="module")
def server(deck, tmp_path_factory):
    """The real app, launched by `start` on a free loopback port."""
    cfg, pipeline = deck
    feedback_path = tmp_path_factory.mktemp("fb") / "feedback.jsonl"
    mp = pytest.MonkeyPatch()
    mp.delenv("QA_AUTH", raising=False)
    mp.delenv("QA_AUTH_FILE", raising=False)
    port = _free_port()
    demo = start(cfg, "127.0.0.1", port, pipeline=pipeline, feedback_path=feedback_path, quiet=True)
    yield f"http://127.0.0.1:{port}", feedback_path
    demo.close()
    mp.undo()


# --- rendering --------------------------------------------------------------------


def _passage(rank=1, text="前文。研究者の30%以上が外国からの研究者。後文。", slide=13, title="WPI <b>拠点</b>"):
    return Passage(rank, 0.0321, "deck", "corpus/deck.txt", slide, title, text, 0, len(text))


def test_esc_makes_markup_and_markdown_inert():
    out = render.esc('<script>alert(1)</script> <img src=x onerror="f()"> **太字** [リンク](http://x) $x$\x00\x07')
    assert "<" not in out and ">" not in out.replace("<br>", "") and '"' not in out
    assert "*" not in out and "[" not in out and "$" not in out and "\x00" not in out and "\x07" not in out
    assert out.startswith("&#60;script&#62;")
    assert render.esc("一行目\n二行目") == "一行目<br>二行目"


def test_answer_html_marks_the_quoted_piece_in_its_passage():
    quote = Quote("研究者の30%以上が外国からの研究者。", 1, (4, 9), "拠点")
    answer = Answer("q", False, (quote,), (_passage(),), short_answer="30%以上", confidence=0.9)
    out = render.answer_html(answer)
    assert "qa-answer" in out and "qa-abstain" not in out
    assert "前文。<mark>研究者の30%以上が外国からの研究者。</mark>後文。" in out
    assert '<strong class="qa-short">30%以上</strong>' in out
    assert "p.13" in out and "確信度：高" in out and "&#91;1&#93;" in out and "スコア" not in out
    assert "<b>" not in out and "&#60;b&#62;拠点" in out  # the title is escaped too
    assert "\n" not in out  # one raw HTML block for Markdown


def test_abstention_html_is_a_different_state_with_related_passages():
    answer = Answer("q", True, (), (_passage(), _passage(2, slide=7)))
    assert answer.answer == "資料には該当する記載が見つかりませんでした。"
    out = render.answer_html(answer)
    assert "qa-abstain" in out and "qa-answer" not in out
    assert "資料には記載がありません" in out and "関連する箇所" in out and "p.7" in out
    assert "<mark>" not in out


def test_long_question_is_shown_shortened_with_its_length():
    out = render.question_html("あ" * 100_000)
    assert "100,000" in out and len(out) < 2_000 and "入力欄" not in out
    assert "入力欄は 10,000 文字まで" in render.question_html("あ" * 10_000, 10_000)


def test_slide_text_joins_the_slides_chunks_in_order(deck):
    cfg, pipeline = deck
    store = pipeline.store
    chunks = store.doc_chunks(store.documents()[0]["doc_id"])
    slide16 = [c for c in chunks if c.slide == 16]
    assert len(slide16) >= 1
    text = render.slide_text(store, slide16[0].doc_id, 16)
    assert text == "\n".join(c.text for c in slide16)
    assert "106プロジェクト" in text


# --- page logic without a browser ----------------------------------------------------


def test_chat_page_answers_flags_errors_and_logs_ratings(deck, tmp_path):
    import gradio as gr

    cfg, pipeline = deck
    page = ChatPage(pipeline, cfg, tmp_path / "fb.jsonl")
    steps = list(page.submit(SATREPS, [], {}))
    assert len(steps) == 2
    history = steps[0][0]
    assert history[-1]["role"] == "user" and "SATREPS" in history[-1]["content"]
    history, turns, sources, radio, slide, feedback_box = steps[1]
    assert "qa-answer" in history[-1]["content"] and "p.16" in history[-1]["content"]
    assert sources[0]["slide"] == 16 and radio["choices"][0][0].startswith("[1] p.16")
    assert "106プロジェクト" in page.show_slide(radio["choices"][0][1], sources)

    # empty input is ignored; symbols only get a friendly note, not an exception
    for empty in ("", "   ", " \x00\n"):
        (step,) = list(page.submit(empty, history, turns))
        assert all(isinstance(v, dict) and v.get("__type__") == "update" for v in step)
    history2 = list(page.submit("？？？", history, turns))[-1][0]
    assert "qa-hint" in history2[-1]["content"]

    # a rating and a follow-up comment become two JSONL records
    like = gr.LikeData(None, {"index": 1, "value": "…", "liked": True})
    rated, box_update, note = page.rate(like, turns)
    assert rated == {"index": 1, "rating": "up"} and box_update["visible"] is True and note
    assert page.comment("出典が分かりやすい", rated, turns)[0] == ""
    records = [json.loads(line) for line in (tmp_path / "fb.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == ["rating", "comment"]
    assert records[1]["comment"] == "出典が分かりやすい" and records[1]["rating"] == "up"
    assert records[0]["question"] == SATREPS and {"doc_id": sources[0]["doc_id"], "slide": 16} in records[0]["citations"]


def test_unexpected_failure_becomes_an_apology_in_the_chat(deck, tmp_path, caplog):
    cfg, pipeline = deck
    page = ChatPage(pipeline, cfg, tmp_path / "fb.jsonl")

    def broken(question, docs=None):
        raise RuntimeError("boom")

    page.pipeline = type("Broken", (), {"ask": staticmethod(broken), "refresh": lambda self, background: False,
                                        "doc_titles": lambda self: {}})()
    history = list(page.submit("WPIの外国人比率は？", [], {}))[-1][0]
    assert "申し訳ありません" in history[-1]["content"]
    assert "answering failed" in caplog.text
    assert page.api_ask("WPIの外国人比率は？")["error"]


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


# --- access -------------------------------------------------------------------------------


def test_loopback_detection():
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"):
        assert access.is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.10", "example.com"):
        assert not access.is_loopback(host), host


def test_credentials_from_env_and_file(tmp_path):
    assert access.credentials({}) == []
    assert access.credentials({"QA_AUTH": "alice:s3:cret"}) == [("alice", "s3:cret")]
    f = tmp_path / "users"
    f.write_text("# team\nbob:pw1\n\ncarol:pw2\n", encoding="utf-8")
    assert access.credentials({"QA_AUTH_FILE": str(f)}) == [("bob", "pw1"), ("carol", "pw2")]
    with pytest.raises(InputError):
        access.credentials({"QA_AUTH": "no-colon"})
    with pytest.raises(InputError):
        access.credentials({"QA_AUTH_FILE": str(tmp_path / "missing")})


def test_refuses_all_interfaces_without_a_login(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    cfg = Config(root=tmp_path, home=tmp_path / "home")  # no corpus, no index: nothing may load
    port = _free_port()
    with pytest.raises(InputError, match="QA_AUTH"):
        serve(cfg, host="0.0.0.0", port=port)
    assert _port_is_free(port)  # no server was started
    assert not cfg.index_dir.exists()


def test_cli_exits_2_with_a_clean_message(tmp_path, monkeypatch, capsys):
    from qa.cli import main

    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    assert main(["--root", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error:") and "QA_AUTH" in err and "Traceback" not in err


def test_busy_port_is_a_clean_error(deck, tmp_path, monkeypatch):
    from qa.errors import QAError

    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    cfg, pipeline = deck
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(QAError, match="--port"):
            start(cfg, "127.0.0.1", port, pipeline=pipeline, feedback_path=tmp_path / "fb.jsonl", quiet=True)


# --- the API, on a live server -----------------------------------------------------


def test_api_ask_answers_with_cited_slides(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    out = client.predict(SATREPS, api_name="/ask")
    assert out["abstained"] is False and "106プロジェクト" in out["answer"]
    assert 16 in [c["slide"] for c in out["citations"]]
    assert {"rank", "score", "doc_id", "slide", "title", "text"} <= set(out["citations"][0])

    bad = client.predict("？？？", api_name="/ask")
    assert bad["abstained"] is True and bad["citations"] == [] and "words" in bad["error"]


def test_login_is_required_when_configured(deck, monkeypatch, tmp_path):
    from gradio_client import Client

    cfg, pipeline = deck
    monkeypatch.setenv("QA_AUTH", "tester:pa55word")
    port = _free_port()
    demo = start(cfg, "127.0.0.1", port, pipeline=pipeline, feedback_path=tmp_path / "fb.jsonl", quiet=True)
    try:
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(Exception):
            Client(url, verbose=False)
        out = Client(url, auth=("tester", "pa55word"), verbose=False).predict(SATREPS, api_name="/ask")
        assert 16 in [c["slide"] for c in out["citations"]]
    finally:
        demo.close()


# --- a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or deselect with -m 'not browser')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    url, _ = server
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.outside = []  # requests that left this machine
    pg.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else pg.outside.append(r.url))
    pg.goto(url)
    pg.locator("#qa-input textarea").wait_for()
    yield pg
    context.close()


@pytest.fixture(autouse=True, scope="module")
def _expect_timeout():
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


def _ask(page, question: str) -> None:
    box = page.locator("#qa-input textarea")
    box.fill(question)
    box.press("Enter")


@pytest.mark.browser
def test_browser_answer_sources_slide_and_rating(page, server):
    from playwright.sync_api import expect

    _, feedback_path = server
    _ask(page, SATREPS)
    answer = page.locator("#qa-chat .qa-answer").last
    expect(answer.locator(".qa-quote").first).to_contain_text("106プロジェクト")
    expect(answer.locator(".qa-quote").first).to_contain_text("[1]")
    source = answer.locator(".qa-src").first
    expect(source.locator(".qa-page")).to_have_text("p.16")
    expect(source.locator("mark").first).to_contain_text("106プロジェクト")
    expect(page.locator(".qa-confidence").last).to_contain_text("確信度")

    page.locator("#qa-source-choice label", has_text="p.16").first.click()
    expect(page.locator("#qa-slide .qa-slide-head")).to_contain_text("p.16")
    expect(page.locator("#qa-slide .qa-slide-text")).to_contain_text("アフリカ")  # beyond the cited passage
    expect(page.locator("#qa-slide mark").first).to_contain_text("106プロジェクト")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)

    page.locator("#qa-chat .bot-row").last.get_by_role("button", name="いいね", exact=True).click()
    expect(page.locator("#qa-feedback-note")).to_contain_text("ありがとうございます")
    deadline = time.monotonic() + 10
    while not feedback_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    record = json.loads(feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert record["rating"] == "up" and record["question"] == SATREPS
    assert page.outside == []  # no fonts, analytics or CDNs


@pytest.mark.browser
def test_browser_abstention_state(page):
    from playwright.sync_api import expect

    _ask(page, OUT_OF_SCOPE)
    state = page.locator("#qa-chat .qa-abstain").last
    expect(state.locator(".qa-abstain-head")).to_have_text("資料には記載がありません")
    expect(state).to_contain_text("関連する箇所")
    expect(state.locator(".qa-src").first).to_be_visible()
    assert page.locator("#qa-chat .qa-answer").count() == 0


@pytest.mark.browser
def test_browser_shows_markup_as_text_and_runs_no_script(page):
    from playwright.sync_api import expect

    question = '<script>window.__xss=1</script> <img src=x onerror="window.__xss2=1"> **太字** WPIの比率は？'
    _ask(page, question)
    user = page.locator("#qa-chat .qa-q").last
    expect(user).to_have_text(question)  # shown as typed: tags and asterisks included
    expect(page.locator("#qa-chat .bot-row").last.locator(".qa-msg")).to_be_visible()
    assert page.locator("#qa-chat img[src='x'], #qa-chat script, #qa-chat strong").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__xss2") is None


@pytest.mark.browser
def test_browser_bad_input_is_handled_in_the_chat(page):
    from playwright.sync_api import expect

    page.locator("#qa-input textarea").press("Enter")  # empty: ignored
    _ask(page, "？？？！！！")
    expect(page.locator("#qa-chat .qa-hint").last).to_contain_text("言葉で質問を入力してください")
    _ask(page, "\u0001\u0002SATREPS\u0007の実施実績でアジアのプロジェクト数は？\ufffe")
    expect(page.locator("#qa-chat .qa-answer").last).to_contain_text("106プロジェクト")
    assert page.locator("#qa-chat .user-row").count() == 2  # the empty message added nothing
    assert page.locator(".toast-body").count() == 0  # no error pop-up


@pytest.mark.browser
def test_browser_huge_paste_is_refused_quickly_with_the_limit(page):
    from playwright.sync_api import expect

    text = (SATREPS + " ") * (100_000 // (len(SATREPS) + 1) + 1)
    text = text[:100_000]
    started = time.monotonic()
    page.locator("#qa-input textarea").fill(text)
    page.locator("#qa-send").click()
    expect(page.locator("#qa-chat .qa-hint").last).to_contain_text("2,000 文字以内", timeout=20_000)
    assert time.monotonic() - started < 20
    expect(page.locator("#qa-chat .qa-q").last).to_contain_text("10,000 文字まで")  # the input's own limit
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0  # the long text wraps instead of widening the page
    expect(page.locator("#qa-input textarea")).to_have_value("")


@pytest.mark.browser
def test_browser_clear_empties_the_chat(page):
    from playwright.sync_api import expect

    _ask(page, SATREPS)
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(1)
    page.locator("#qa-clear").click()
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(0)
    expect(page.locator("#qa-slide")).to_contain_text("出典を選ぶと")


@pytest.mark.browser
def test_browser_example_button_and_overlapping_questions(page):
    from playwright.sync_api import expect

    _ask(page, SATREPS)  # and at once, before it is answered, an example
    page.get_by_role("button", name="WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？").click()
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(2)
    expect(page.locator("#qa-chat .user-row")).to_have_count(2)
    expect(page.locator("#qa-chat .qa-q").last).to_contain_text("WPIでは研究者の何%以上")
    expect(page.locator("#qa-chat .qa-answer").first).to_contain_text("106プロジェクト")
    expect(page.locator("#qa-chat .qa-answer").last).to_contain_text("30%以上")
    expect(page.locator("#qa-input textarea")).to_have_value("")


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
    history, *_ = page.answer("SATREPSの説明会はどこで開催しますか", [], {}, ["memo"])
    assert '<span class="qa-doc">連絡メモ</span>' in history[-1]["content"]
