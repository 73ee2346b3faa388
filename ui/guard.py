"""The server's front door: an ASGI middleware in front of Gradio's routes.

- Host check: a request naming a host this server does not answer to gets 400
  (DNS rebinding; see access.HostCheck).
- File upload is closed: the page takes no files, so `POST /gradio_api/upload` is 404.
- Request bodies are capped (413), before Gradio reads them.
- Logins are throttled per client (429 with Retry-After) and failures are logged.
- With a login configured, a browser without a session gets the Japanese login page.
- The page is served as `lang="ja"`.

It is handed to Gradio's FastAPI app through `launch(app_kwargs={"middleware": ...})`,
so it runs inside Gradio's CORS middleware: a CORS preflight (OPTIONS with
Access-Control-Request-Method) is answered there without reaching this guard. The
preflight answer carries no data.
"""

from __future__ import annotations

import logging
import re
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse, Response

from .access import HostCheck
from .throttle import LoginThrottle

log = logging.getLogger("qa.ui")

MAX_BODY = 1024 * 1024  # bytes; the largest real request carries the kept conversation (< 300 KB)
_UPLOAD = re.compile(r"(^|/)upload/?$")
_LOGIN = re.compile(r"^/login/?$")


class Guard:
    def __init__(self, app, *, hosts: HostCheck, throttle: LoginThrottle | None = None,
                 login_page: bytes | None = None, max_body: int = MAX_BODY):
        self.app, self.hosts, self.throttle = app, hosts, throttle
        self.login_page, self.max_body = login_page, max_body
        self._refused_hosts: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self.hosts.allows(headers.get("host")):
            self._note_refused_host(headers.get("host"))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            message = "400 Bad Request: this server does not answer to that host name (see QA_ALLOWED_HOSTS)."
            await PlainTextResponse(message, status_code=400)(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if _UPLOAD.search(path):
            await PlainTextResponse("404 Not Found: this server takes no file uploads.", status_code=404)(scope, receive, send)
            return
        body = b""
        if method not in ("GET", "HEAD", "OPTIONS"):
            body = await self._body(headers, receive)
            if body is None:
                message = f"413 Request Entity Too Large: requests are limited to {self.max_body:,} bytes."
                await PlainTextResponse(message, status_code=413)(scope, receive, send)
                return
            receive = _replay(body, receive)
        if method == "POST" and _LOGIN.match(path) and self.throttle is not None:
            await self._login(scope, receive, send, body)
            return
        if method in ("GET", "HEAD") and path == "/":
            if self.login_page is not None and not _logged_in(scope, headers):
                page = Response(self.login_page, media_type="text/html; charset=utf-8",
                                headers={"Cache-Control": "no-store"})
                await page(scope, receive, send)
                return
            send = _japanese(send)
        await self.app(scope, receive, send)

    async def _body(self, headers: Headers, receive) -> bytes | None:
        """The whole request body, or None when it is past the cap."""
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _login(self, scope, receive, send, body: bytes) -> None:
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.throttle.wait(client)
        if wait:
            log.warning("login refused for %s: too many failed logins, %d s to wait", client, wait)
            response = JSONResponse(
                {"detail": f"too many failed logins; try again in {wait} seconds",
                 "message": f"ログインの失敗が続いたため、一時的に受け付けを止めています。{wait} 秒後にお試しください。"},
                status_code=429, headers={"Retry-After": str(wait)},
            )
            await response(scope, receive, send)
            return
        async def watch(message):
            # settled before the reply leaves, so the client's next try already counts it
            if message["type"] == "http.response.start":
                self._settle(client, message["status"], body)
            await send(message)

        await self.app(scope, receive, watch)

    def _settle(self, client: str, status: int, body: bytes) -> None:
        if status == 200:
            self.throttle.succeeded(client)
        elif status in (400, 401, 403):
            user = parse_qs(body.decode("utf-8", "replace")).get("username", [""])[0][:64]
            count = self.throttle.failed(client)
            log.warning("failed login for user %r from %s (%d in the last %d s)", user, client, count,
                        self.throttle.window)

    def _note_refused_host(self, host: str | None) -> None:
        shown = (host or "")[:100]
        if shown not in self._refused_hosts and len(self._refused_hosts) < 100:
            self._refused_hosts.add(shown)
            log.warning("refused a request for host %r: not one this server answers to (QA_ALLOWED_HOSTS)", shown)


def _replay(body: bytes, receive):
    """A receive that gives the buffered body once, then waits on the real one."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _logged_in(scope, headers: Headers) -> bool:
    """Whether the request carries a live Gradio session (or no login is configured)."""
    app = scope.get("app")
    if getattr(app, "auth", None) is None:
        return True
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # noqa: BLE001 - a malformed cookie header is no session
        return False
    cookie_id = getattr(app, "cookie_id", "")
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        if name in cookie and cookie[name].value in getattr(app, "tokens", {}):
            return True
    return False


def _japanese(send):
    """Serve the page as lang="ja" (Gradio's template says "en"; same length, so no
    Content-Length change)."""
    state = {"html": False, "done": False}

    async def rewrite(message):
        if message["type"] == "http.response.start":
            content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            state["html"] = content_type.startswith("text/html")
        elif message["type"] == "http.response.body" and state["html"] and not state["done"]:
            body = message.get("body", b"")
            if b'lang="en"' in body:
                message = {**message, "body": body.replace(b'lang="en"', b'lang="ja"', 1)}
                state["done"] = True
        await send(message)

    return rewrite
