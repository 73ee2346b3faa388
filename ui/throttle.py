"""Login throttling: after `limit` failed logins within `window` seconds, a client is
turned away until the oldest of those failures is `window` seconds old."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class LoginThrottle:
    def __init__(self, limit: int = 5, window: float = 60.0, clock=time.monotonic, max_clients: int = 10_000):
        self.limit, self.window, self.clock, self.max_clients = limit, window, clock, max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, client: str) -> int:
        """Seconds `client` must wait before trying again; 0 when it may try now."""
        with self._lock:
            times = self._recent(client)
            if len(times) < self.limit:
                return 0
            return max(1, math.ceil(times[0] + self.window - self.clock()))

    def failed(self, client: str) -> int:
        """Record a failed login; returns the client's failures within the window."""
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.max_clients:
                self._forget_stale()
            times = self._failures.setdefault(client, deque())
            times.append(self.clock())
            while len(times) > self.limit:
                times.popleft()
            return len(self._recent(client))

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.get(client, deque())
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            self._failures.pop(client, None)
        return times

    def _forget_stale(self) -> None:
        for client in list(self._failures):
            self._recent(client)
        if len(self._failures) >= self.max_clients:  # still full: drop the oldest entries
            for client in sorted(self._failures, key=lambda c: self._failures[c][-1])[: self.max_clients // 10]:
                del self._failures[client]
