"""Security headers on every response (issue 15 item 8): JSON, HTML, static files, and errors, 500 included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.security_headers import CSP
from tests.api.auth_support import Web, wipe

EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def site(sqlite_services: Any) -> Iterator[Web]:
    wipe(sqlite_services)
    w = Web(sqlite_services)

    def boom() -> None:
        raise RuntimeError("a bug")

    w.app.add_api_route("/test-boom", boom)
    yield w
    w.close()


def _secured(r: Any, csp: str = CSP) -> None:
    for name, value in {**EXPECTED, "content-security-policy": csp}.items():
        assert r.headers.get(name) == value, (r.request.url, name, r.headers.get(name))
    assert "camera=()" in r.headers["permissions-policy"]
    assert "strict-transport-security" not in r.headers  # plain http


def test_csp_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CSP and "http" not in CSP


def test_headers_on_json_html_static_and_error_responses(site: Web) -> None:
    c = site.client(raise_server_exceptions=False)
    key = site.key("viewer")
    responses = {
        "json": c.get("/health"),
        "json with key": c.get("/v1/models", headers=key),
        "html page": c.get("/dang-nhap"),
        "dashboard redirect": c.get("/dashboard"),
        "static css": c.get("/dashboard/static/signin.css"),
        "redirect": c.get("/"),
        "401": c.get("/v1/models"),
        "403": c.get("/v1/users", headers=key),
        "404": c.get("/v1/no-such-thing"),
        "405": c.delete("/v1/models", headers=key),
        "422": c.get("/v1/audit?limit=0", headers=site.key("admin")),
        "413": c.post(
            "/v1/sentiment",
            content=b"x" * (site.services.settings.max_request_bytes + 1),
            headers={**key, "Content-Type": "application/json"},
        ),
        "500": c.get("/test-boom", headers=key),
    }
    expected_status = {"401": 401, "403": 403, "404": 404, "405": 405, "422": 422, "413": 413, "500": 500}
    for label, r in responses.items():
        assert r.status_code == expected_status.get(label, r.status_code), (label, r.status_code, r.text[:200])
        _secured(r)
    error = responses["500"].json()["error"]
    assert error.pop("error_id") and error == {"code": "internal_error", "message": "internal error", "detail": None}
    for _ in range(site.services.settings.auth.throttle.key_delay_after + 1):
        throttled = c.get("/v1/models", headers={"Authorization": "Bearer ioc_0_x"})
    assert throttled.status_code == 429
    _secured(throttled)


def test_docs_are_served_offline_under_the_strict_policy(site: Web) -> None:
    c = site.client()
    docs = c.get("/docs")
    assert docs.status_code == 200
    _secured(docs, CSP)
    assert "cdn.jsdelivr.net" not in docs.text and not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", docs.text)
    assert c.get("/redoc").status_code == 404  # ReDoc needs a CDN and a worker from blob:; not offered
    _secured(c.get("/openapi.json"))


def test_pages_have_no_inline_script_or_style(site: Web) -> None:
    c = site.client()
    for path in ("/dang-nhap",):
        html = c.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path
        for src in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert src == "#" or (src.startswith("/") and not src.startswith("//")), (path, src)  # this site


def test_hsts_only_over_https(site: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    https = site.client(base_url="https://testserver")
    r = https.get("/health")
    assert r.headers["strict-transport-security"] == "max-age=31536000"
    spoofed = site.client("203.0.113.5", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in spoofed.get("/health").headers
    monkeypatch.setattr(site.services.settings.auth, "trusted_proxies", ["127.0.0.1"])
    proxied = site.client("127.0.0.1", headers={"X-Forwarded-Proto": "https"})
    assert proxied.get("/health").headers["strict-transport-security"] == "max-age=31536000"
