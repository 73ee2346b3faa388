"""Load test for a running chat server: N concurrent gradio_client users ask deck
questions through the `/ask` endpoint for a bounded time, then a summary is printed.
Every third request is a follow-up (「それはいつからですか？」 with the previous question
passed along), which must come back read with the previous subject.

    qa serve &                                   # or any running server
    .venv/bin/python scripts/load_test.py --seconds 30 --users 30

Only for servers on this machine (127.0.0.1 / localhost / ::1) unless --allow-remote.
If the server needs a login, set QA_AUTH=user:password.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import sys
import threading
import time
from urllib.parse import urlparse

QUESTIONS = (
    "WPIでは研究者の何%以上が外国からの研究者であることが求められていますか？",
    "海外特別研究員事業で毎年何名の若手研究者を派遣していますか？",
    "2024年のG7科学技術大臣会合はどこで開催されましたか？",
    "Horizon Europeの予算規模は？",
    "SATREPSの実施実績でアジアのプロジェクト数は？",
    "グローバル戦略で重要な2つの視点は何ですか？",
)
FOLLOW_UP = "それはいつからですか？"


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        self.follow_ups = 0

    def ok(self, seconds: float, follow_up: bool = False) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.follow_ups += follow_up

    def fail(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


def _user(n: int, url: str, auth, clock: dict, tally: Tally, start: threading.Barrier) -> None:
    from gradio_client import Client

    try:
        client = Client(url, auth=auth, verbose=False)
    except Exception as exc:  # cannot even connect: count it and stop this user
        tally.fail(f"connect: {type(exc).__name__}")
        start.abort()
        return
    try:
        start.wait()
    except threading.BrokenBarrierError:
        return
    deadline = clock["deadline"]  # set by the barrier once every user is connected
    i, previous = n, ""
    while time.monotonic() < deadline:
        follow_up = i % 3 == 2 and bool(previous)
        question = FOLLOW_UP if follow_up else QUESTIONS[i % len(QUESTIONS)]
        i += 1
        began = time.monotonic()
        try:
            args = (question, previous) if follow_up else (question,)
            out = client.submit(*args, api_name="/ask").result(timeout=max(1.0, deadline - began) + 30)
        except Exception as exc:
            tally.fail(type(exc).__name__)
            continue
        if not isinstance(out, dict) or "error" in out or "citations" not in out:
            tally.fail("bad reply")
            continue
        if follow_up and not out.get("reading"):
            tally.fail("follow-up not read with the previous question")
            continue
        tally.ok(time.monotonic() - began, follow_up)
        previous = out.get("reading") or question


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:7860", help="server URL (default %(default)s)")
    p.add_argument("--seconds", type=float, default=30.0, help="how long to keep asking (default %(default)s)")
    p.add_argument("--users", type=int, default=30, help="concurrent users (default %(default)s)")
    p.add_argument("--allow-remote", action="store_true", help="allow a server on another machine")
    args = p.parse_args(argv)
    if not _is_local(args.url) and not args.allow_remote:
        print(f"load_test: refusing to load {args.url}: not this machine (pass --allow-remote if you own it)", file=sys.stderr)
        return 2
    if args.seconds <= 0 or args.users < 1:
        print("load_test: --seconds must be > 0 and --users >= 1", file=sys.stderr)
        return 2
    auth = tuple(os.environ["QA_AUTH"].split(":", 1)) if ":" in os.environ.get("QA_AUTH", "") else None

    tally = Tally()
    clock: dict[str, float] = {}

    def go() -> None:  # runs once, when every user is connected: connecting is not timed
        clock["began"] = time.monotonic()
        clock["deadline"] = clock["began"] + args.seconds

    start = threading.Barrier(args.users, action=go)
    threads = [
        threading.Thread(target=_user, args=(n, args.url, auth, clock, tally, start), daemon=True)
        for n in range(args.users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 300)
    if "began" not in clock:
        print(f"load_test: could not connect all users to {args.url}: {tally.errors}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - clock["began"]

    lat = sorted(tally.latencies)
    errors = sum(tally.errors.values())
    print(f"url:       {args.url}")
    print(f"users:     {args.users}, {elapsed:.1f} s")
    print(f"served:    {len(lat)} requests ({len(lat) / elapsed:.1f}/s), {tally.follow_ups} of them follow-ups")
    print(f"errors:    {errors}" + (f"  {tally.errors}" if errors else ""))
    if lat:
        print(f"latency:   p50 {_percentile(lat, 50) * 1000:.0f} ms, p95 {_percentile(lat, 95) * 1000:.0f} ms, "
              f"max {lat[-1] * 1000:.0f} ms")
    return 0 if lat and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
