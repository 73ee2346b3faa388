"""Shared pieces of the chat page tests (tests/test_ui_*.py): a deck indexed with the
fake embedder, a live server on a free loopback port, and Debian's chromium through
Playwright. Test modules import the fixtures they use from here."""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import fake_pipeline_for, make_project

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
# With the fake embedder these thresholds make out-of-scope questions abstain while
# the deck questions used here are answered.
THRESHOLDS = {"abstain_coverage": 0.6, "abstain_cosine": 0.7, "dense_weight": 0.5}  # the fake embedder is weak: BM25 weighs more
SATREPS = "SATREPSの実施実績でアジアのプロジェクト数は？"
WPI = "WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？"
OUT_OF_SCOPE = "オーストラリアの首都はどこですか？"
FOLLOW_UP = "それはいつからですか？"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    """A project with the corpus and a FakeEmbedder index: its config and pipeline."""
    root = tmp_path_factory.mktemp("deck")
    cfg = make_project(root).with_(**THRESHOLDS)
    return cfg, fake_pipeline_for(cfg)


@contextmanager
def running(cfg, pipeline, feedback_path, auth: str | None = None, **options):
    """The real app, launched by `start` on a free loopback port: yields (url, demo)."""
    from qa.ui.app import start

    mp = pytest.MonkeyPatch()
    mp.delenv("QA_AUTH_FILE", raising=False)
    mp.delenv("QA_ALLOWED_HOSTS", raising=False)
    if auth:
        mp.setenv("QA_AUTH", auth)
    else:
        mp.delenv("QA_AUTH", raising=False)
    port = free_port()
    try:
        demo = start(cfg, "127.0.0.1", port, pipeline=pipeline, feedback_path=feedback_path, quiet=True, **options)
        try:
            yield f"http://127.0.0.1:{port}", demo
        finally:
            demo.close()
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def server(deck, tmp_path_factory):
    """A password-less server over the deck: (url, feedback log path)."""
    cfg, pipeline = deck
    feedback_path = tmp_path_factory.mktemp("fb") / "feedback.jsonl"
    with running(cfg, pipeline, feedback_path) as (url, _):
        yield url, feedback_path


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or deselect with -m 'not browser')")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )
        yield b
        b.close()


def open_page(browser, url: str, width: int = 1366, height: int = 768, ready: bool = True, **context_options):
    """A fresh browser context (own localStorage) on the chat page, once the page has
    wired up its events (`ready`; a question typed sooner would be lost); returns the page."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ja-JP", **context_options)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.outside = []  # requests that left this machine
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else page.outside.append(r.url))
    page.goto(url)
    if ready:
        page.locator("html[data-qa-ready]").wait_for(state="attached")
    return page


def ask(page, question: str) -> None:
    """Type a question and press Enter; wait until the page has taken it from the box
    (a question typed sooner would replace it before it is read)."""
    from playwright.sync_api import expect

    box = page.locator("#qa-input textarea")
    box.fill(question)
    box.press("Enter")
    if question.strip():
        expect(box).to_have_value("")
