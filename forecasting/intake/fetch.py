"""Fetching a published file over HTTP(S) for a scheduled pull, safely.

A source's URL is someone else's server: the fetch refuses what could turn the service into a probe of the
center's own network (a request forger). Only ``http`` and ``https``; the host is resolved and *every* address
it resolves to must be public (private, loopback, link-local, multicast, reserved, unspecified and other
non-global addresses are refused) unless the host is in ``allowed_hosts``; the connection is made to the
address that was checked (no second lookup a DNS rebinding could answer differently) and each redirect is
checked the same way. Conditional requests (``If-None-Match``, ``If-Modified-Since``) make an unchanged file
cost a 304; connect and read timeouts, a total time limit, a body size limit (on the bytes received and on the
decompressed bytes, streamed: the fetch stops as soon as it is exceeded) and bounded retries with exponential
back-off on 5xx, 429, timeouts and dropped connections.

Example:
    >>> from forecasting.intake.fetch import FetchError, check_url
    >>> try:
    ...     check_url("file:///etc/passwd")
    ... except FetchError as e:
    ...     e.code
    'scheme_refused'
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from ..errors import ForecastingError

__all__ = ["FetchError", "FetchLimits", "Fetched", "Target", "check_url", "fetch", "resolve"]

USER_AGENT = "dieu-hanh-ai/0.1 (scheduled pull)"
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(ForecastingError):
    """The file could not be fetched.

    Attributes:
        code: ``bad_url``, ``scheme_refused``, ``address_refused``, ``unresolvable``, ``too_large``,
            ``http_status``, ``timeout``, ``connection_failed``, ``too_many_redirects``, ``bad_encoding``.
        retryable: a later attempt may succeed (5xx, 429, timeouts, dropped connections).
        status: the HTTP status for ``http_status``, else None.
        attempts: how many requests were made (set by :func:`fetch`).
    """

    def __init__(self, code: str, message: str, *, retryable: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.status = status
        self.attempts = 0

    @property
    def detail(self) -> object:
        return {"status": self.status} if self.status is not None else None


@dataclass(frozen=True)
class FetchLimits:
    """Bounds on one fetch.

    Attributes:
        connect_timeout_s: seconds to open the connection (and the TLS handshake).
        read_timeout_s: seconds of silence tolerated while reading.
        total_timeout_s: seconds one request may take in all (a server dripping bytes is cut off).
        max_bytes: largest body, bytes, both as received and once decompressed.
        retries: further attempts after a retryable failure (so at most ``1 + retries`` requests).
        backoff_s: wait before the first retry, seconds; doubled before each further one.
        backoff_max_s: longest wait between attempts, seconds.
        max_redirects: redirects followed (each checked like the first URL).
    """

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    total_timeout_s: float = 120.0
    max_bytes: int = 32 * 1024**2
    retries: int = 2
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    max_redirects: int = 3


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``addresses``, each allowed) and what to ask for."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Fetched:
    """What the server answered.

    Attributes:
        status: 200 (``body`` holds the file) or 304 (unchanged since the ``etag``/``last_modified`` sent).
        body: the decompressed body (empty for 304).
        etag, last_modified: the validators to send next time (the ones sent, for a 304 without new ones).
        content_type: the media type without parameters, or None.
        url: the URL that answered (after redirects); address: the IP address connected to.
        attempts: requests made, retries included.
    """

    status: int
    body: bytes
    etag: str | None
    last_modified: str | None
    content_type: str | None
    url: str
    address: str
    attempts: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def resolve(host: str, port: int) -> list[str]:
    """Every IP address ``host`` resolves to (tests replace this function to control the answer)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise FetchError("unresolvable", f"the host {host!r} cannot be resolved", retryable=True) from e
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone
        if address not in seen:
            seen.append(address)
    return seen


def _refused_reason(address: str) -> str | None:
    """Why ``address`` may not be fetched from, or None when it is a public address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:
        return "not global"
    return None


def _allowed(host: str, allowed_hosts: Sequence[str]) -> bool:
    wanted = host.lower().rstrip(".")
    return any(wanted == h.lower().rstrip(".") for h in allowed_hosts)


def check_url(url: str, allowed_hosts: Sequence[str] = ()) -> Target:
    """The URL checked: http(s), a host, and every address it resolves to allowed.

    Raises:
        FetchError: ``bad_url``, ``scheme_refused``, ``unresolvable`` or ``address_refused``.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise FetchError("bad_url", f"not a URL: {url!r} ({e})") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("scheme_refused", f"only http and https URLs can be pulled. Got: {scheme or 'none'!r}")
    host = parts.hostname or ""
    if not host:
        raise FetchError("bad_url", f"the URL names no host. Got: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise FetchError("bad_url", "credentials in the URL are not accepted; publish the file without them")
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise FetchError("unresolvable", f"the host {host!r} resolves to no address", retryable=True)
    if not _allowed(host, allowed_hosts):
        for address in addresses:
            reason = _refused_reason(address)
            if reason is not None:
                raise FetchError(
                    "address_refused",
                    f"the host {host!r} resolves to {address}, a {reason} address: requests to the center's own "
                    "network are refused unless an administrator allows the host (IOC_SOURCES__ALLOWED_HOSTS)",
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url=url.strip(), scheme=scheme, host=host, port=port, path=path, addresses=tuple(addresses))


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to one checked address (the Host header still names the host)."""

    def __init__(self, host: str, port: int, address: str, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(host, port, timeout=read_timeout)
        self._address = address
        self._connect_timeout = connect_timeout

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self._address, self.port), timeout=self._connect_timeout)
        peer = sock.getpeername()[0]
        if str(peer).split("%", 1)[0] != self._address:  # what we reached is what we checked
            sock.close()
            raise FetchError("address_refused", f"connected to {peer}, not the checked address {self._address}")
        sock.settimeout(self.timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    def __init__(self, host: str, port: int, address: str, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(host, port, address, connect_timeout, read_timeout)
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        sock = self._open()
        sock.settimeout(self._connect_timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)  # certificate checked for the host
        self.sock.settimeout(self.timeout)


def _decoder(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or raw-with-header, detected
    raise FetchError("bad_encoding", f"the server sent a body encoded {encoding!r}; expected gzip, deflate or none")


def _too_large(limit: int) -> FetchError:
    return FetchError("too_large", f"the file is larger than the limit of {limit} bytes (IOC_SOURCES__MAX_BYTES)")


def _read_body(resp: http.client.HTTPResponse, limits: FetchLimits, deadline: float) -> bytes:
    """The body, decompressed, streamed against the size limit and the deadline."""
    declared = resp.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > limits.max_bytes:
        raise _too_large(limits.max_bytes)
    decoder = _decoder(resp.getheader("Content-Encoding") or "")
    out = bytearray()
    received = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("timeout", f"the download took longer than {limits.total_timeout_s:g} s", retryable=True)
        chunk = resp.read(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        if received > limits.max_bytes:
            raise _too_large(limits.max_bytes)
        if decoder is None:
            out += chunk
            continue
        data = chunk
        while data:
            try:
                part = decoder.decompress(data, limits.max_bytes - len(out) + 1)
            except zlib.error as e:
                raise FetchError("bad_encoding", f"the compressed body is corrupt: {e}") from e
            out += part
            if len(out) > limits.max_bytes:
                raise _too_large(limits.max_bytes)
            data = decoder.unconsumed_tail
    if decoder is not None:
        out += decoder.flush()
        if len(out) > limits.max_bytes:
            raise _too_large(limits.max_bytes)
    return bytes(out)


def _request_once(
    target: Target, headers: dict[str, str], limits: FetchLimits
) -> tuple[int, dict[str, str], bytes, str]:
    """One request to the first reachable checked address: (status, headers, body, address)."""
    deadline = time.monotonic() + limits.total_timeout_s
    last: Exception | None = None
    for address in target.addresses:
        cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
        conn = cls(target.host, target.port, address, limits.connect_timeout_s, limits.read_timeout_s)
        try:
            conn.request("GET", target.path, headers=headers)
            resp = conn.getresponse()
            got = {k.lower(): v for k, v in resp.getheaders()}
            body = _read_body(resp, limits, deadline) if resp.status == 200 else b""
            return resp.status, got, body, address
        except FetchError:
            raise
        except TimeoutError as e:
            raise FetchError("timeout", f"{target.host} did not answer in time", retryable=True) from e
        except ssl.SSLCertVerificationError as e:
            raise FetchError("connection_failed", f"the TLS certificate of {target.host} is not valid: {e}") from e
        except (OSError, http.client.HTTPException) as e:
            last = e  # try the host's next address
        finally:
            conn.close()
    raise FetchError(
        "connection_failed", f"could not connect to {target.host}:{target.port} ({last})", retryable=True
    ) from last


def _fetch_once(
    url: str, etag: str | None, last_modified: str | None, allowed_hosts: Sequence[str], limits: FetchLimits
) -> Fetched:
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _ in range(limits.max_redirects + 1):
        target = check_url(current, allowed_hosts)
        status, got, body, address = _request_once(target, headers, limits)
        if status in _REDIRECTS:
            location = got.get("location")
            if not location:
                raise FetchError("http_status", f"{status} redirect without a Location", status=status)
            current = urljoin(target.url, location)
            continue
        if status == 304:
            return Fetched(
                304, b"", got.get("etag") or etag, got.get("last-modified") or last_modified, None, current, address, 1
            )
        if status == 200:
            ctype = (got.get("content-type") or "").split(";", 1)[0].strip().lower() or None
            return Fetched(200, body, got.get("etag"), got.get("last-modified"), ctype, current, address, 1)
        retryable = status >= 500 or status in (408, 429)
        raise FetchError("http_status", f"{target.host} answered HTTP {status}", retryable=retryable, status=status)
    raise FetchError("too_many_redirects", f"more than {limits.max_redirects} redirects from {url!r}")


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    allowed_hosts: Sequence[str] = (),
    limits: FetchLimits | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """GET ``url`` (see the module's docstring for what is refused), conditionally when ``etag`` or
    ``last_modified`` (the validators of the last pull) are given.

    Retryable failures are retried ``limits.retries`` times after ``backoff_s``, ``2 * backoff_s``, ...
    seconds (at most ``backoff_max_s``).

    Raises:
        FetchError: the last failure, with ``attempts`` set.
    """
    limits = limits or FetchLimits()
    attempt = 0
    while True:
        attempt += 1
        try:
            got = _fetch_once(url, etag, last_modified, allowed_hosts, limits)
        except FetchError as e:
            e.attempts = attempt
            if not e.retryable or attempt > limits.retries:
                raise
            sleep(min(limits.backoff_s * 2 ** (attempt - 1), limits.backoff_max_s))
            continue
        return Fetched(
            got.status, got.body, got.etag, got.last_modified, got.content_type, got.url, got.address, attempt
        )
