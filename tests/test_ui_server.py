"""What the chat server lets in: login rules, host names, uploads, body sizes, login
throttling, and the /ask API over HTTP (a live server on a free loopback port)."""

from __future__ import annotations

import logging
import os
import socket
import time

import httpx
import pytest

from qa.config import Config
from qa.errors import InputError
from qa.ui import access
from qa.ui.app import serve, start
from qa.ui.throttle import LoginThrottle
from ui_kit import FOLLOW_UP, SATREPS, deck, free_port, port_is_free, running, server  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
USER, PASSWORD = "tester", "pa55word"


# --- rules, without a server -------------------------------------------------------------


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


def test_host_check_accepts_loopback_the_bound_address_and_listed_names():
    assert access.allowed_host_names({"QA_ALLOWED_HOSTS": " QA.example.org, 10.0.0.5 qa-2.local."}) == [
        "qa.example.org", "10.0.0.5", "qa-2.local"]
    loopback = access.HostCheck("127.0.0.1", ["qa.example.org"])
    for ok in ("127.0.0.1:7860", "localhost:7860", "LOCALHOST", "[::1]:7860", "127.0.0.5", "qa.example.org:80"):
        assert loopback.allows(ok), ok
    for bad in ("evil.example.com:7600", "evil.example.com", "192.168.1.10:7860", "", None, "a b", "localhost.evil.com",
                "127.0.0.1.nip.io", "qa.example.org.evil.com"):
        assert not loopback.allows(bad), bad
    lan = access.HostCheck("192.168.1.10")
    assert lan.allows("192.168.1.10:7860") and not lan.allows("192.168.1.11:7860")
    anywhere = access.HostCheck("0.0.0.0")
    assert anywhere.allows("192.168.1.11:7860") and anywhere.allows("[fe80::1]:7860") and not anywhere.allows("qa.lan")


def test_login_throttle_allows_five_failures_a_minute_per_client():
    now = [1000.0]
    throttle = LoginThrottle(limit=5, window=60, clock=lambda: now[0])
    for n in range(1, 6):
        assert throttle.wait("a") == 0
        assert throttle.failed("a") == n
        now[0] += 1
    assert throttle.wait("a") == 55  # until the first failure is a minute old
    assert throttle.wait("b") == 0  # per client
    now[0] += 55
    assert throttle.wait("a") == 0
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.wait("a") == 0
    small = LoginThrottle(limit=1, window=60, clock=lambda: now[0], max_clients=10)
    for i in range(50):
        small.failed(f"c{i}")
    assert len(small._failures) <= 10  # bounded memory


def test_refuses_all_interfaces_without_a_login(tmp_path, monkeypatch):
    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    cfg = Config(root=tmp_path, home=tmp_path / "home")  # no corpus, no index: nothing may load
    port = free_port()
    with pytest.raises(InputError, match="QA_AUTH"):
        serve(cfg, host="0.0.0.0", port=port)
    assert port_is_free(port)  # no server was started
    assert not cfg.index_dir.exists()


def test_cli_exits_2_with_a_clean_message(tmp_path, monkeypatch, capsys):
    from qa.cli import main

    monkeypatch.delenv("QA_AUTH", raising=False)
    monkeypatch.delenv("QA_AUTH_FILE", raising=False)
    assert main(["--root", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", str(free_port())]) == 2
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


# --- the API -------------------------------------------------------------------------------


def test_api_ask_answers_follow_ups_and_refuses_long_questions(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    out = client.predict(SATREPS, api_name="/ask")
    assert out["abstained"] is False and "106プロジェクト" in out["answer"]
    assert 16 in [c["slide"] for c in out["citations"]]
    assert {"rank", "score", "doc_id", "slide", "title", "text"} <= set(out["citations"][0])
    assert 0 <= out["confidence"] <= 1 and out["reading"] == ""

    follow = client.predict(FOLLOW_UP, SATREPS, api_name="/ask")  # the optional previous question
    assert follow["reading"] == "SATREPSはいつからですか？" and follow["notice"].startswith("前の質問を踏まえて")
    assert 16 in [c["slide"] for c in follow["citations"]]

    bad = client.predict("？？？", api_name="/ask")
    assert bad["abstained"] is True and bad["citations"] == [] and "words" in bad["error"]
    started = time.monotonic()
    long = client.predict("あ" * 50_000, api_name="/ask")
    assert "the limit is 2,000" in long["error"] and long["citations"] == [] and len(long["question"]) < 300
    assert time.monotonic() - started < 5


def test_huge_request_bodies_are_refused_before_they_are_read(server):
    url, _ = server
    huge = b'{"data": ["' + "あ".encode() * 3_500_000 + b'"]}'  # a 10 MB question
    started = time.monotonic()
    r = httpx.post(f"{url}/gradio_api/call/ask", content=huge, headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413 and "1,048,576 bytes" in r.text

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 100_000

    r = httpx.post(f"{url}/gradio_api/call/ask", content=chunks(), headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert time.monotonic() - started < 10
    ok = httpx.post(f"{url}/gradio_api/call/ask", json={"data": [SATREPS]}, timeout=30)
    assert ok.status_code == 200 and "event_id" in ok.json()


# --- file upload, host names, the page --------------------------------------------------------


def test_file_upload_is_closed(deck, tmp_path):
    cfg, pipeline = deck
    with running(cfg, pipeline, tmp_path / "fb.jsonl") as (url, demo):
        upload_dir = demo.server_app.uploaded_file_dir
        before = set(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else set()
        for path in ("/gradio_api/upload", "/gradio_api/upload/", "/gradio_api/upload?upload_id=abc", "/upload"):
            for headers in ({}, {"Origin": "https://evil.example"}):
                r = httpx.post(url + path, files={"files": ("note.txt", b"x" * 2_000_000, "text/plain")}, headers=headers)
                assert r.status_code == 404 and "no file uploads" in r.text, (path, headers)
        after = set(os.listdir(upload_dir)) if os.path.isdir(upload_dir) else set()
        assert after == before
        assert demo.max_file_size == 0  # and Gradio's own cap is zero bytes


def test_unknown_host_names_get_400(deck, tmp_path, caplog):
    cfg, pipeline = deck
    caplog.set_level(logging.WARNING, "qa.ui")
    with running(cfg, pipeline, tmp_path / "fb.jsonl", allowed_hosts=["qa.example.org"]) as (url, _):
        port = url.rsplit(":", 1)[1]
        evil = {"Host": f"evil.example.com:{port}"}
        for method, path, body in (("GET", "/", None), ("GET", "/config", None), ("GET", "/gradio_api/info", None),
                                   ("POST", "/gradio_api/call/ask", {"data": [SATREPS]})):
            r = httpx.request(method, url + path, headers=evil, json=body)
            assert r.status_code == 400 and "host name" in r.text, path
            assert "SATREPS" not in r.text
        for name in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"qa.example.org:{port}"):
            assert httpx.get(url + "/config", headers={"Host": name}).status_code == 200, name
        assert "refused a request for host 'evil.example.com:" in caplog.text


def test_page_is_served_as_japanese(server):
    url, _ = server
    r = httpx.get(url + "/")
    assert r.status_code == 200 and '<html\n\tlang="ja"' in r.text and 'lang="en"' not in r.text[:200]


# --- login -------------------------------------------------------------------------------------


@pytest.fixture
def locked_server(deck, tmp_path):
    """A server with a login and a throttle on a clock the test moves."""
    cfg, pipeline = deck
    now = [0.0]
    throttle = LoginThrottle(limit=5, window=60, clock=lambda: now[0])
    with running(cfg, pipeline, tmp_path / "fb.jsonl", auth=f"{USER}:{PASSWORD}", throttle=throttle) as (url, demo):
        yield url, now


def _login(url, password, user=USER):
    return httpx.post(url + "/login", data={"username": user, "password": password})


def test_login_page_is_japanese_and_required(locked_server):
    url, _ = locked_server
    page = httpx.get(url + "/")
    assert page.status_code == 200 and '<html lang="ja">' in page.text and '<form id="login"' in page.text
    assert "ユーザー名" in page.text and "パスワード" in page.text and page.headers["cache-control"] == "no-store"
    assert httpx.get(url + "/config").status_code == 401
    ok = _login(url, PASSWORD)
    assert ok.status_code == 200
    chat = httpx.get(url + "/", cookies=ok.cookies)
    assert 'lang="ja"' in chat.text and "資料QA" in chat.text and '<form id="login"' not in chat.text
    assert "logout" in httpx.get(url + "/config", cookies=ok.cookies).text  # the page's ログアウト link
    out = httpx.get(url + "/logout", cookies=ok.cookies, follow_redirects=False)
    assert out.status_code in (302, 307)
    assert '<form id="login"' in httpx.get(url + "/", cookies=ok.cookies).text  # the session is gone


def test_password_guessing_is_throttled_and_logged(locked_server, caplog):
    url, now = locked_server
    caplog.set_level(logging.WARNING, "qa.ui")
    for n in range(5):
        assert _login(url, f"guess{n}").status_code == 400
        now[0] += 2
    refused = _login(url, "guess5")
    assert refused.status_code == 429 and refused.headers["retry-after"] == "50"
    assert "50 秒" in refused.json()["message"] and "try again in 50 seconds" in refused.json()["detail"]
    assert _login(url, PASSWORD).status_code == 429  # the right password waits too
    assert caplog.text.count(f"failed login for user '{USER}' from 127.0.0.1") == 5
    assert "(5 in the last 60 s)" in caplog.text and "login refused for 127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text and "guess" not in caplog.text
    now[0] += 50
    assert _login(url, PASSWORD).status_code == 200

    from gradio_client import Client

    out = Client(url, auth=(USER, PASSWORD), verbose=False).predict(SATREPS, api_name="/ask")
    assert 16 in [c["slide"] for c in out["citations"]]
