"""A running `qa serve` follows `qa index`: after a corpus edit and a rebuild in
another process, the page answers from the new build, without a restart."""

import os
import socket
import subprocess
import sys
import time

import pytest

TEXT = (
    "# 海外特別研究員事業\n我が国の若手研究者を毎年約300名、海外に派遣している。\n"
    "# 国際共同研究\nSATREPSは開発途上国との共同研究プログラムである。\n"
)
QUESTION = "海外特別研究員事業では毎年何名を派遣していますか"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, proc, seconds: float = 240) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-2000:]
        try:
            with urllib.request.urlopen(url + "/config", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("the server did not come up")


def _answer_text(client) -> str:
    out = client.predict(QUESTION, api_name="/ask")
    return out["answer"] + "".join(c["text"] for c in out["citations"])


@pytest.mark.slow
def test_running_server_answers_from_the_new_build_after_qa_index(tmp_path):
    from gradio_client import Client

    (tmp_path / "corpus").mkdir()
    deck = tmp_path / "corpus" / "memo.txt"
    deck.write_text(TEXT, encoding="utf-8")
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    qa = [sys.executable, "-m", "qa", "--root", str(tmp_path)]
    port = _port()
    server = subprocess.Popen(qa + ["serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, server)  # the index is built first: there is none
        client = Client(url, verbose=False)
        assert "約300名" in _answer_text(client)

        deck.write_text(TEXT.replace("約300名", "約999名"), encoding="utf-8")
        built = subprocess.run(qa + ["index", "--quiet"], env=env, capture_output=True, text=True, timeout=300)
        assert built.returncode == 0, built.stderr
        deadline = time.monotonic() + 60
        text = _answer_text(client)
        while "約999名" not in text and time.monotonic() < deadline:
            time.sleep(0.5)  # the first request after the rebuild starts the background reload
            text = _answer_text(client)
        assert "約999名" in text and "約300名" not in text
        out = client.predict(QUESTION, api_name="/ask")
        cited = out["citations"][0]
        assert deck.read_text(encoding="utf-8")[cited["start"]: cited["end"]].count("約999名") == 1  # offsets match the file
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert b"switched to the new index build" in server.stderr.read()
