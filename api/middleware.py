"""ASGI middleware: request body limits (413), slow bodies cut (408) and a cap on bodies received at once
(503), refusal of input no database stores (422), and Prometheus request metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PayloadTooLarge, error_body
from api.metrics import Metrics
from api.settings import HttpSettings


class BodyLimit:
    """Refuse bodies over a limit, by Content-Length up front or while streaming (chunked uploads)."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_413(send, limit)
            return
        seen = 0
        state = {"too_large": False, "sent_413": False}

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    state["too_large"] = True
                    raise PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")
            return message

        async def guarded_send(message: Message) -> None:
            # Frameworks turn an error raised while reading the body into their own 400; answer 413 instead.
            if state["too_large"]:
                if not state["sent_413"]:
                    state["sent_413"] = True
                    await _send_413(send, limit)
                return
            await send(message)

        try:
            await self.app(scope, limited, guarded_send)
        except PayloadTooLarge:
            if not state["sent_413"]:
                state["sent_413"] = True
                await _send_413(send, limit)


class _BodyTooSlow(Exception):
    """The request body did not arrive in time (raised from the wrapped ``receive``)."""


def _has_body(scope: Scope) -> bool:
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length", b"0").strip()
    return b"chunked" in headers.get(b"transfer-encoding", b"").lower() or (length.isdigit() and int(length) > 0)


class SlowBodyGuard:
    """Cut request bodies that arrive too slowly with 408 (``request_timeout``), so half-sent uploads cannot hold
    the server; refuse new bodies with 503 (``too_many_uploads``, ``Retry-After``) while ``max_inflight_bodies``
    are being received.

    A body is too slow when no piece comes for ``body_idle_s``, when after ``body_grace_s`` its average rate
    falls under ``body_min_rate_bytes_s``, or when it is not complete after ``body_max_s``; the times are those
    spent waiting for the client (not the app's own work between reads). Requests without a body are not
    counted."""

    def __init__(self, app: ASGIApp, settings: HttpSettings) -> None:
        self.app = app
        self.settings = settings
        self.inflight = 0  # bodies being received now (one event loop: no lock needed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        limits = self.settings
        if self.inflight >= limits.max_inflight_bodies:
            await _send_error(
                send,
                503,
                "too_many_uploads",
                f"{limits.max_inflight_bodies} request bodies are being received; try again shortly",
                {"limit": limits.max_inflight_bodies},
                [(b"retry-after", b"1")],
            )
            return
        self.inflight += 1
        state = {"counted": True, "cut": False, "answered": False}
        received = 0
        waited = 0.0  # seconds spent waiting for the client: time the app spends elsewhere is not its fault

        def release() -> None:
            if state["counted"]:
                state["counted"] = False
                self.inflight -= 1

        async def timed() -> Message:
            nonlocal received, waited
            if not state["counted"]:  # the body is complete: waiting for a disconnect is not limited
                return await receive()
            wait = min(limits.body_idle_s, limits.body_max_s - waited)
            if limits.body_min_rate_bytes_s > 0:  # the longest wait after which the rate is still met
                wait = min(wait, limits.body_grace_s + received / limits.body_min_rate_bytes_s - waited)
            message: Message | None = None
            if wait > 0:
                began = time.monotonic()
                with anyio.move_on_after(wait):
                    message = await receive()
                waited += time.monotonic() - began
            if message is None:
                state["cut"] = True
                release()
                raise _BodyTooSlow
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    release()
            else:
                release()
            return message

        async def guarded_send(message: Message) -> None:
            if state["cut"]:  # whatever the framework makes of the interrupted read, the answer is 408
                if not state["answered"]:
                    state["answered"] = True
                    await _send_408(send, received)
                return
            await send(message)

        try:
            await self.app(scope, timed, guarded_send)
        except _BodyTooSlow:
            if not state["answered"]:
                state["answered"] = True
                await _send_408(send, received)
        finally:
            release()


async def _send_408(send: Send, received: int) -> None:
    await _send_error(
        send,
        408,
        "request_timeout",
        "the request body arrived too slowly and was cut; send it again on a faster connection",
        {"received_bytes": received},
        [(b"connection", b"close")],
    )


async def _send_error(
    send: Send, status: int, code: str, message: str, detail: Any, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps(error_body(code, message, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


#: Default deepest nesting of a JSON body; no request of the API nests deeper than a few levels.
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")
#: ``\u0000`` in a JSON string that is an escape (an even number of backslashes before it, so not ``\\u0000``)
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in the JSON ``body`` (brackets inside strings do not count). Cheap:
    it does not parse the document."""
    if body.count(b"[") + body.count(b"{") <= 1:
        return body.count(b"[") + body.count(b"{")
    depth = deepest = 0
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        depth += 1 if m.group() in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


_JSON_NON_NUMBER = re.compile(rb"(?<![\w.])-?(?:NaN|Infinity)(?![\w.])")


def has_non_number(body: bytes) -> bool:
    """Whether the JSON ``body`` holds ``NaN`` or ``Infinity`` outside strings: not JSON (RFC 8259), yet
    Python's parser takes them and they would reach the models and the database."""
    if b"NaN" not in body and b"Infinity" not in body:
        return False
    return _JSON_NON_NUMBER.search(_JSON_STRING.sub(b'""', body)) is not None


def has_nul(body: bytes) -> bool:
    """Whether the JSON ``body`` holds a NUL character (``\u0000`` or a raw 0 byte): PostgreSQL stores no text
    with one, so the service refuses it everywhere (SQLite too) for one behaviour."""
    return b"\x00" in body or (b"u0000" in body and _JSON_NUL.search(body) is not None)


class InputGuard:
    """422 before any parsing for what no route can store: a NUL character in the path, the query string, a
    JSON or form body, ``NaN``/``Infinity`` in JSON, and JSON nested deeper than ``max_depth`` (the parser
    would recurse until it fails)."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if b"%00" in scope.get("query_string", b"") or b"%00" in raw_path or "\x00" in scope["path"]:
            await _send_422(send, "nul_character", "the URL holds a NUL character (%00); remove it")
            return
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        is_form = content_type == b"application/x-www-form-urlencoded"
        if not (is_json or is_form):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if (is_json and has_nul(body)) or (is_form and (b"%00" in body or b"\x00" in body)):
            await _send_422(send, "nul_character", "the request holds a NUL character (\\u0000); remove it")
            return
        if is_json and has_non_number(body):
            await _send_422(send, "not_a_number", "NaN and Infinity are not JSON numbers; send null or a number")
            return
        if is_json and (depth := json_depth(body)) > self.max_depth:
            await _send_422(
                send,
                "too_deep",
                f"the JSON body nests {depth} levels deep; at most {self.max_depth} are accepted",
                {"depth": depth, "max_depth": self.max_depth},
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_422(send: Send, code: str, message: str, detail: Any = None) -> None:
    body = json.dumps(error_body(code, message, detail)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_413(send: Send, limit: int) -> None:
    body = json.dumps(
        error_body("payload_too_large", f"request body is larger than the limit of {limit} bytes", {"limit": limit})
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], template, status["code"], time.perf_counter() - started)
