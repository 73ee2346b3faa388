"""The chat page in a real browser: Debian's chromium driven by Playwright, against a
live server over the fake-embedder deck. Each test opens a fresh browser context, so
its own empty localStorage."""

from __future__ import annotations

import json
import re
import time

import pytest

from ui_kit import (  # noqa: F401 - deck, server and browser are fixtures
    ARTIFACTS, FOLLOW_UP, OUT_OF_SCOPE, SATREPS, WPI, ask, browser, deck, open_page, running, server,
)

G7 = "2024年のG7科学技術大臣会合はどこで開催されましたか？"
HORIZON = "Horizon Europeの予算規模は？"

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture
def page(browser, server):
    pg = open_page(browser, server[0])
    pg.locator("#qa-input textarea").wait_for()
    yield pg
    pg.context.close()


def _expect():
    from playwright.sync_api import expect

    return expect


def _start_in_view(page, selector: str) -> bool:
    """Whether the first `selector` in the latest message starts inside the chat's
    scroll box and the window, with its first lines (or all of it) visible."""
    return page.evaluate(
        """(sel) => {
          const el = [...document.querySelectorAll('#qa-chat .qa-msg')].pop().querySelector(sel);
          if (!el) return false;
          const box = document.querySelector('#qa-chat [role="log"]').getBoundingClientRect();
          const r = el.getBoundingClientRect();
          const end = r.top + Math.min(r.height, 60);
          return r.height > 0 && r.top >= box.top - 1 && end <= box.bottom + 1 && r.top >= 0 && end <= innerHeight;
        }""",
        selector,
    )


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0


# --- 1. the answer first -------------------------------------------------------------------------


@pytest.mark.parametrize("width, height", [(1366, 768), (390, 844)])
def test_browser_each_new_answer_starts_in_view(browser, server, width, height):
    """The G7 answer is taller than the chat on a phone: scrolled to the bottom, its
    start would be out of sight. (The issue counted 8 answers: first quote in view once.)"""
    expect = _expect()
    pg = open_page(browser, server[0], width, height)
    try:
        for n, question in enumerate((SATREPS, G7, OUT_OF_SCOPE, HORIZON, WPI, G7), start=1):
            ask(pg, question)
            expect(pg.locator("#qa-chat .qa-msg")).to_have_count(n)
            pg.wait_for_timeout(200)  # the page script scrolls on the next frame
            abstained = "qa-abstain" in pg.locator("#qa-chat .qa-msg").last.get_attribute("class")
            for first in ((".qa-abstain-head",) if abstained else (".qa-answer-head", ".qa-quote")):
                assert _start_in_view(pg, first), (n, question, first)
    finally:
        pg.context.close()


def test_browser_sources_are_one_line_and_open_in_place(page):
    expect = _expect()
    for n, question in enumerate((SATREPS, WPI), start=1):
        ask(page, question)
        expect(page.locator("#qa-chat .qa-answer")).to_have_count(n)
    # sources: one line each, closed, below the answer
    last = page.locator("#qa-chat .qa-answer").last
    cards = last.locator("details.qa-src")
    assert cards.count() >= 1 and last.locator("details.qa-src[open]").count() == 0
    lines = cards.first.locator("summary").evaluate(
        "e => { const s = getComputedStyle(e); return (e.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom))"
        " / parseFloat(getComputedStyle(e.querySelector('.qa-title')).lineHeight); }")
    assert 0.9 < lines < 1.5  # one line
    # a [n] in the answer opens that source in place and its slide in the panel
    last.locator(".qa-quote .qa-ref").first.click()
    expect(last.locator("details.qa-src.qa-n-1")).to_have_attribute("open", "")
    expect(page.locator("#qa-slide .qa-slide-head")).to_contain_text("p.13")
    expect(page.locator("#qa-slide mark").first).to_contain_text("30%以上")
    # an earlier answer's source opens too (its own turn, not the latest one)
    first_answer = page.locator("#qa-chat .qa-answer").first
    first_answer.locator("details.qa-src.qa-n-1 summary").click()
    first_answer.locator("details.qa-src.qa-n-1 .qa-open").click()
    expect(page.locator("#qa-slide .qa-slide-head")).to_contain_text("p.16")
    expect(page.locator("#qa-slide .qa-slide-text")).to_contain_text("アフリカ")  # the whole slide
    assert page.outside == []  # no fonts, analytics or CDNs


def test_browser_screenshots_of_the_answer_first_layout(browser, server):
    expect = _expect()
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1366, 768), (390, 844)):
        pg = open_page(browser, server[0], width, height)
        try:
            ask(pg, SATREPS)
            ask(pg, WPI)
            expect(pg.locator("#qa-chat .qa-answer")).to_have_count(2)
            pg.wait_for_timeout(300)
            assert _start_in_view(pg, ".qa-quote")  # the latest answer's first quote
            assert _no_sideways_scroll(pg)
            pg.screenshot(path=str(ARTIFACTS / f"answer-{width}x{height}.png"))
        finally:
            pg.context.close()


# --- 2. copy and accessible text --------------------------------------------------------------------


def test_browser_copy_gives_plain_text_and_labels_are_text(browser, server):
    expect = _expect()
    pg = open_page(browser, server[0])
    try:
        pg.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server[0])
        assert pg.evaluate("document.documentElement.lang") == "ja"
        ask(pg, SATREPS)
        answer = pg.locator("#qa-chat .qa-answer").last
        answer.locator(".qa-copy").click()
        expect(answer.locator(".qa-copy")).to_have_text("コピーしました")
        copied = pg.evaluate("navigator.clipboard.readText()")
        assert "106プロジェクト [1] p.16 グローバル・サウスを対象とした国際共同研究プログラム" in copied
        assert "<" not in copied and "&#" not in copied and "qa-" not in copied
        pg.wait_for_timeout(200)
        labels = pg.evaluate("[...document.querySelectorAll('#qa-chat [aria-label]')].map(e => e.getAttribute('aria-label'))")
        assert labels and not [label for label in labels if "<" in label or "&#" in label]
        assert "会話" in labels and any(label.startswith("回答：") and "106プロジェクト" in label for label in labels)
        assert pg.locator("#qa-chat button[aria-label='Copy message']").count() == 0  # Gradio's HTML copy is gone
    finally:
        pg.context.close()


# --- 3. follow-up questions --------------------------------------------------------------------------


def test_browser_follow_up_is_read_with_the_previous_subject(page):
    expect = _expect()
    ask(page, SATREPS)
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(1)
    ask(page, FOLLOW_UP)
    expect(page.locator("#qa-chat .qa-msg")).to_have_count(2)
    answer = page.locator("#qa-chat .qa-msg").last
    expect(answer.locator(".qa-notice")).to_have_text("前の質問を踏まえて：SATREPSはいつからですか？")
    expect(answer).to_have_class(re.compile("qa-answer"))
    expect(answer.locator("summary .qa-page", has_text="p.16")).to_have_count(1)


# --- 4. kept across reloads, start over, export ------------------------------------------------------


def test_browser_conversation_survives_reload_exports_and_starts_over(page):
    expect = _expect()
    ask(page, SATREPS)
    ask(page, OUT_OF_SCOPE)
    expect(page.locator("#qa-chat .qa-msg")).to_have_count(2)
    page.reload()
    page.locator("html[data-qa-ready]").wait_for(state="attached")
    expect(page.locator("#qa-chat .qa-msg")).to_have_count(2)
    expect(page.locator("#qa-chat .qa-answer .qa-quote").first).to_contain_text("106プロジェクト")
    expect(page.locator("#qa-chat .qa-abstain")).to_have_count(1)

    with page.expect_download() as info:
        page.locator("#qa-export").click()
    download = info.value
    assert download.suggested_filename.startswith("資料QA_会話_") and download.suggested_filename.endswith(".md")
    md = open(download.path(), encoding="utf-8").read()
    assert "## 質問 1" in md and "## 質問 2" in md and SATREPS in md
    assert "p.16 グローバル・サウスを対象とした国際共同研究プログラム" in md and "   > " in md  # slide, title, passage
    assert "106プロジェクト" in md and "資料には該当する記載が見つかりませんでした。" in md

    # the next question follows the restored conversation
    ask(page, FOLLOW_UP)
    expect(page.locator("#qa-chat .qa-notice").last).to_contain_text("前の質問を踏まえて")
    page.locator("#qa-clear").click()
    expect(page.locator("#qa-chat .qa-msg")).to_have_count(0)
    page.reload()
    page.locator("html[data-qa-ready]").wait_for(state="attached")
    page.wait_for_timeout(500)
    expect(page.locator("#qa-chat .qa-msg")).to_have_count(0)
    expect(page.locator("#qa-chat .qa-empty")).to_be_visible()


# --- 5. confidence words --------------------------------------------------------------------------------


def test_browser_confidence_is_a_word_and_low_confidence_stands_out(page):
    expect = _expect()
    ask(page, WPI)
    high = page.locator("#qa-chat .qa-answer").last
    expect(high.locator(".qa-confidence")).to_have_text("確信度：高")
    ask(page, SATREPS)  # the fake embedder is unsure of this one
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(2)
    low = page.locator("#qa-chat .qa-answer").last
    expect(low).to_have_class(re.compile("qa-low"))
    expect(low.locator(".qa-confidence")).to_have_text("確信度：低")
    expect(low.locator(".qa-low-note")).to_be_visible()
    border = low.evaluate("e => getComputedStyle(e).borderLeftColor + ' ' + getComputedStyle(e).borderLeftWidth")
    assert border == "rgb(220, 38, 38) 4px"
    assert "スコア" not in page.locator("#qa-chat").inner_text()


# --- 6. phone ----------------------------------------------------------------------------------------------


def test_browser_phone_opens_sources_and_slide_under_the_answer(browser, server):
    expect = _expect()
    pg = open_page(browser, server[0], 390, 844)
    try:
        box = pg.locator("#qa-input textarea")
        box.wait_for()
        fits = box.evaluate("""b => {
          const c = document.createElement('canvas').getContext('2d');
          const s = getComputedStyle(b);
          c.font = s.fontSize + ' ' + s.fontFamily;
          return c.measureText(b.placeholder).width <= b.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        }""")
        assert fits  # the placeholder is one line, not cut
        ask(pg, SATREPS)
        answer = pg.locator("#qa-chat .qa-answer").last
        expect(answer.locator("details.qa-src")).not_to_have_count(0)
        assert not pg.locator("#qa-slide-box").is_visible()  # nothing opened yet: no empty panel
        answer.locator(".qa-ref").first.click()
        slide = pg.locator("#qa-slide .qa-slide")
        expect(slide).to_be_visible()
        expect(answer.locator("details.qa-src.qa-n-1")).to_have_attribute("open", "")
        chat = pg.locator("#qa-chat").bounding_box()
        panel = slide.bounding_box()
        examples = pg.locator("#qa-examples").bounding_box()
        assert chat["y"] + chat["height"] <= panel["y"] < chat["y"] + chat["height"] + 120  # right under the chat
        assert panel["y"] < examples["y"]  # above the examples, not at the bottom of the page
        assert -1 <= slide.evaluate("e => e.getBoundingClientRect().top") < 844  # in view
        assert _no_sideways_scroll(pg)
    finally:
        pg.context.close()


# --- 7. long pastes -------------------------------------------------------------------------------------


def test_browser_long_paste_is_refused_with_the_limit_and_kept(page):
    expect = _expect()
    box = page.locator("#qa-input textarea")
    text = ("SATREPSの実施国数は？" * 3000)[:30_000]
    started = time.monotonic()
    box.fill(text)
    expect(page.locator("#qa-limit .qa-limit-text")).to_contain_text("10,000 文字以上：質問は 2,000 文字以内")
    page.locator("#qa-send").click()
    hint = page.locator("#qa-chat .qa-hint").last
    expect(hint).to_contain_text("質問が長すぎます（10,000 文字以上）。質問は 2,000 文字以内にしてください。")
    expect(page.locator("#qa-chat .qa-q").last).to_contain_text("10,000 文字以上")
    assert page.locator("#qa-chat .qa-answer, #qa-chat .qa-abstain").count() == 0  # no answer to a question not asked
    assert len(box.input_value()) == 10_000  # kept, to be shortened
    assert time.monotonic() - started < 20
    assert _no_sideways_scroll(page)

    box.fill("あ" * 2_500)
    expect(page.locator("#qa-limit .qa-limit-text")).to_contain_text("2,500 文字：")
    box.press("Enter")
    expect(page.locator("#qa-chat .qa-hint")).to_have_count(2)
    expect(page.locator("#qa-chat .qa-hint").last).to_contain_text("質問が長すぎます（2,500 文字）")
    box.fill(SATREPS)
    expect(page.locator("#qa-limit .qa-limit-text")).to_have_text("")
    box.press("Enter")
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(1)
    expect(box).to_have_value("")


# --- what already worked, kept working ----------------------------------------------------------------


def test_browser_shows_markup_as_text_and_runs_no_script(page):
    expect = _expect()
    question = '<script>window.__xss=1</script> <img src=x onerror="window.__xss2=1"> **太字** WPIの比率は？'
    ask(page, question)
    expect(page.locator("#qa-chat .qa-q").last).to_have_text(question)  # shown as typed
    expect(page.locator("#qa-chat .bot-row").last.locator(".qa-msg")).to_be_visible()
    assert page.locator("#qa-chat img[src='x'], #qa-chat script, #qa-chat strong").count() == 0
    assert page.evaluate("window.__xss") is None and page.evaluate("window.__xss2") is None


def test_browser_bad_input_is_handled_in_the_chat(page):
    expect = _expect()
    page.locator("#qa-input textarea").press("Enter")  # empty: ignored
    ask(page, "？？？！！！")
    expect(page.locator("#qa-chat .qa-hint").last).to_contain_text("言葉で質問を入力してください")
    ask(page, "\u0001\u0002SATREPS\u0007の実施実績でアジアのプロジェクト数は？\ufffe")
    expect(page.locator("#qa-chat .qa-answer").last).to_contain_text("106プロジェクト")
    assert page.locator("#qa-chat .user-row").count() == 2  # the empty message added nothing
    assert page.locator(".toast-body").count() == 0  # no error pop-up


def test_browser_example_button_overlapping_questions_and_rating(page, server):
    expect = _expect()
    _, feedback_path = server
    ask(page, SATREPS)  # and at once, before it is answered, an example
    page.get_by_role("button", name=WPI).click()
    expect(page.locator("#qa-chat .qa-answer")).to_have_count(2)
    expect(page.locator("#qa-chat .user-row")).to_have_count(2)
    expect(page.locator("#qa-chat .qa-answer").first).to_contain_text("106プロジェクト")
    expect(page.locator("#qa-chat .qa-answer").last).to_contain_text("30%以上")
    expect(page.locator("#qa-input textarea")).to_have_value("")

    page.locator("#qa-chat .bot-row").last.get_by_role("button", name="いいね", exact=True).click()
    expect(page.locator("#qa-feedback-note")).to_contain_text("ありがとうございます")
    deadline = time.monotonic() + 10
    while not feedback_path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    record = json.loads(feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert record["rating"] == "up" and record["question"] == WPI


# --- 10. login in the browser ---------------------------------------------------------------------------


def test_browser_login_is_japanese_keeps_the_user_name_and_logs_out(browser, deck, tmp_path):
    expect = _expect()
    cfg, pipeline = deck
    with running(cfg, pipeline, tmp_path / "fb.jsonl", auth="tester:pa55word") as (url, _):
        pg = open_page(browser, url, ready=False)
        try:
            assert pg.evaluate("document.documentElement.lang") == "ja"
            expect(pg.locator("h1")).to_have_text("ログイン")
            pg.locator("#username").fill("tester")
            pg.locator("#password").fill("wrong")
            pg.locator("#submit").click()
            expect(pg.locator("#message")).to_have_text("ユーザー名またはパスワードが違います。")
            expect(pg.locator("#username")).to_have_value("tester")  # kept
            expect(pg.locator("#password")).to_have_value("")
            pg.locator("#password").fill("pa55word")
            pg.locator("#password").press("Enter")
            pg.locator("html[data-qa-ready]").wait_for(state="attached")
            ask(pg, SATREPS)
            expect(pg.locator("#qa-chat .qa-answer")).to_have_count(1)
            pg.get_by_role("link", name="ログアウト").click()
            expect(pg.locator("h1")).to_have_text("ログイン")
        finally:
            pg.context.close()
