"""A local HTTP server for the sources tests: serves files with ETag/Last-Modified (304 on a match) and
switchable failure modes. It listens on 127.0.0.1 only; no test sends traffic anywhere else."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LAST_MODIFIED = "Mon, 05 Jan 2026 08:00:00 GMT"


@dataclass
class Served:
    """What the server answers for each path, and what it was asked."""

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    #: path -> "ok", "500", "503-once" (fail once, then ok), "garbage", "slow", "gzip", "no-etag", "redirect:URL",
    #: "huge-chunked" (an endless body without Content-Length)
    modes: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def put(self, path: str, content_type: str, body: bytes) -> None:
        with self.lock:
            self.files[path] = (content_type, body)

    def hits(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            with served.lock:
                served.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                mode = served.modes.get(path, "ok")
                if mode == "503-once":
                    served.modes[path] = "ok"
                entry = served.files.get(path)
            if mode in ("500", "503-once"):
                self._send(int(mode[:3]), b"server error")
                return
            if mode.startswith("redirect:"):
                self._send(302, headers={"Location": mode.removeprefix("redirect:")})
                return
            if mode == "huge-chunked":
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Connection", "close")
                self.end_headers()
                try:
                    for _ in range(10_000):
                        self.wfile.write(b"2024-01,1\n" * 1000)
                except OSError:
                    pass
                return
            if entry is None:
                self._send(404, b"not found")
                return
            ctype, body = entry
            if mode == "garbage":
                body = b"\x00\xff garbage \x01" * 20
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if mode != "no-etag" and self.headers.get("If-None-Match") == etag:
                self._send(304, headers={"ETag": etag})
                return
            headers = {"Content-Type": ctype, "Last-Modified": LAST_MODIFIED}
            if mode != "no-etag":
                headers["ETag"] = etag
            if mode == "slow":
                time.sleep(1.5)
            if mode == "gzip":
                body = gzip.compress(body)
                headers["Content-Encoding"] = "gzip"
            self._send(200, body, headers)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up on purpose (size limit, timeout): nothing to report


@contextmanager
def serve() -> Iterator[Served]:
    served = Served()
    server = _QuietServer(("127.0.0.1", 0), _handler(served))
    server.daemon_threads = True
    served.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="source-server", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def jsonstat(times: list[str], values: list[float | None], *, regions: list[str] | None = None) -> dict[str, object]:
    """A JSON-stat 2.0 dataset as PX-Web serves it: Tid (time role) x optional Region x one ContentsCode."""
    ids = ["ContentsCode", "Tid"]
    size = [1, len(times)]
    dims: dict[str, object] = {
        "ContentsCode": {"label": "contents", "category": {"index": {"C1": 0}, "label": {"C1": "Value"}}},
        "Tid": {"label": "time", "category": {"index": {t: i for i, t in enumerate(times)}}},
    }
    if regions:
        ids.insert(0, "Region")
        size.insert(0, len(regions))
        dims["Region"] = {"label": "region", "category": {"index": regions, "label": {r: r for r in regions}}}
    return {
        "version": "2.0",
        "class": "dataset",
        "label": "test",
        "id": ids,
        "size": size,
        "dimension": dims,
        "role": {"time": ["Tid"], "metric": ["ContentsCode"]},
        "value": values,
    }
