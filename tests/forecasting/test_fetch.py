"""forecasting.intake.fetch / feeds / schedule: a local server on 127.0.0.1 (allowed explicitly), and a resolver
the tests control for the refusals (no test sends traffic outside 127.0.0.0/8)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from forecasting.intake import fetch as fetch_mod
from forecasting.intake.feeds import FeedError, feed_to_csv, rows_from_json, rows_from_jsonstat
from forecasting.intake.fetch import FetchError, FetchLimits, check_url, fetch
from forecasting.intake.schedule import ScheduleError, parse_schedule
from tests.source_server import Served, jsonstat, serve

LOCAL = ("127.0.0.1",)
FAST = FetchLimits(connect_timeout_s=2, read_timeout_s=0.5, total_timeout_s=5, retries=2, backoff_s=0.01)


@pytest.fixture
def server() -> Iterator[Served]:
    with serve() as s:
        s.put("/a.csv", "text/csv", b"period,value\n2024-01,1.5\n2024-02,2.5\n")
        yield s


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the tests resolve themselves; anything else must not be looked up."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        if host.replace(".", "").isdigit() or ":" in host:
            return [host]
        raise AssertionError(f"unexpected lookup of {host!r}")

    monkeypatch.setattr(fetch_mod, "resolve", resolve)
    return table


def test_a_file_comes_with_its_validators_and_a_second_request_is_conditional(server: Served) -> None:
    got = fetch(server.url("/a.csv"), allowed_hosts=LOCAL, limits=FAST)
    assert (got.status, got.content_type, got.address, got.attempts) == (200, "text/csv", "127.0.0.1", 1)
    assert got.body.startswith(b"period,value") and got.etag and got.last_modified
    again = fetch(
        server.url("/a.csv"), etag=got.etag, last_modified=got.last_modified, allowed_hosts=LOCAL, limits=FAST
    )
    assert again.not_modified and again.body == b"" and again.etag == got.etag
    sent = server.hits("/a.csv")[-1]
    assert sent["if-none-match"] == got.etag and sent["if-modified-since"] == got.last_modified


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "scheme_refused"),
        ("ftp://example.org/a.csv", "scheme_refused"),
        ("gopher://127.0.0.1:70/", "scheme_refused"),
        ("http:///nohost", "bad_url"),
        ("http://user:pw@stats.example/a.csv", "bad_url"),
    ],
)
def test_only_http_urls_with_a_host(url: str, code: str, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["stats.example"] = ["93.184.216.34"]
    with pytest.raises(FetchError) as e:
        check_url(url)
    assert e.value.code == code


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "192.168.1.5",
        "172.16.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
        "240.0.0.1",
    ],
)
def test_private_and_special_addresses_are_refused(address: str, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["intranet.test"] = [address]
    with pytest.raises(FetchError) as e:
        check_url("http://intranet.test/data.csv")
    assert e.value.code == "address_refused"
    # ... unless an administrator allows that host by name
    assert check_url("http://intranet.test/data.csv", allowed_hosts=["intranet.test"]).addresses == (address,)


def test_one_private_address_among_public_ones_refuses_the_host(fake_dns: dict[str, list[str]]) -> None:
    fake_dns["mixed.test"] = ["93.184.216.34", "10.0.0.1"]
    with pytest.raises(FetchError, match="10.0.0.1"):
        check_url("https://mixed.test/x.json")
    fake_dns["public.test"] = ["93.184.216.34", "8.8.8.8"]
    assert check_url("https://public.test/x.json").port == 443


def test_loopback_is_refused_unless_allowed(server: Served) -> None:
    with pytest.raises(FetchError) as e:
        fetch(server.url("/a.csv"), limits=FAST)
    assert e.value.code == "address_refused" and server.hits("/a.csv") == []


def test_the_connection_goes_to_the_checked_address(server: Served, fake_dns: dict[str, list[str]]) -> None:
    """A name resolved once and pinned: the request reaches the checked address with the name as Host."""
    fake_dns["stats.test"] = ["127.0.0.1"]
    got = fetch(f"http://stats.test:{server.port}/a.csv", allowed_hosts=["stats.test"], limits=FAST)
    assert got.address == "127.0.0.1"
    assert server.hits("/a.csv")[-1]["host"] == f"stats.test:{server.port}"


def test_a_redirect_is_checked_like_the_first_url(server: Served, fake_dns: dict[str, list[str]]) -> None:
    fake_dns["evil.test"] = ["10.0.0.1"]
    server.modes["/r"] = "redirect:http://evil.test/secret"
    with pytest.raises(FetchError) as e:
        fetch(server.url("/r"), allowed_hosts=LOCAL, limits=FAST)
    assert e.value.code == "address_refused"
    server.modes["/r2"] = "redirect:/a.csv"
    assert fetch(server.url("/r2"), allowed_hosts=LOCAL, limits=FAST).url.endswith("/a.csv")
    server.modes["/loop"] = "redirect:/loop"
    with pytest.raises(FetchError) as e:
        fetch(server.url("/loop"), allowed_hosts=LOCAL, limits=FAST)
    assert e.value.code == "too_many_redirects"


def test_server_errors_are_retried_with_backoff_then_given_up(server: Served) -> None:
    waits: list[float] = []
    server.modes["/a.csv"] = "503-once"
    got = fetch(server.url("/a.csv"), allowed_hosts=LOCAL, limits=FAST, sleep=waits.append)
    assert (got.status, got.attempts, waits) == (200, 2, [0.01])
    waits.clear()
    server.modes["/a.csv"] = "500"
    with pytest.raises(FetchError) as e:
        fetch(server.url("/a.csv"), allowed_hosts=LOCAL, limits=FAST, sleep=waits.append)
    assert (e.value.code, e.value.status, e.value.attempts, waits) == ("http_status", 500, 3, [0.01, 0.02])
    with pytest.raises(FetchError) as e:  # a 404 is not retried
        fetch(server.url("/missing.csv"), allowed_hosts=LOCAL, limits=FAST, sleep=waits.append)
    assert (e.value.status, e.value.attempts) == (404, 1)


def test_a_silent_server_times_out(server: Served) -> None:
    server.modes["/a.csv"] = "slow"
    with pytest.raises(FetchError) as e:
        fetch(server.url("/a.csv"), allowed_hosts=LOCAL, limits=FetchLimits(read_timeout_s=0.3, retries=1, backoff_s=0))
    assert (e.value.code, e.value.attempts) == ("timeout", 2)


def test_bodies_over_the_limit_are_cut_off(server: Served) -> None:
    small = FetchLimits(max_bytes=1000, retries=0)
    server.put("/big.csv", "text/csv", b"period,value\n" + b"2024-01,1\n" * 500)
    with pytest.raises(FetchError) as e:  # declared length
        fetch(server.url("/big.csv"), allowed_hosts=LOCAL, limits=small)
    assert e.value.code == "too_large"
    server.modes["/endless"] = "huge-chunked"  # no length: streamed and stopped
    with pytest.raises(FetchError) as e:
        fetch(server.url("/endless"), allowed_hosts=LOCAL, limits=small)
    assert e.value.code == "too_large"
    server.put("/bomb.csv", "text/csv", b"0" * 5_000_000)  # 5 MB of zeros gzip to ~5 kB
    server.modes["/bomb.csv"] = "gzip"
    with pytest.raises(FetchError) as e:
        fetch(server.url("/bomb.csv"), allowed_hosts=LOCAL, limits=FetchLimits(max_bytes=100_000, retries=0))
    assert e.value.code == "too_large"
    server.modes["/a.csv"] = "gzip"
    assert fetch(server.url("/a.csv"), allowed_hosts=LOCAL, limits=FAST).body.startswith(b"period,value")


def test_jsonstat_time_codes_become_periods_and_other_dimensions_must_be_pinned() -> None:
    body = json.dumps(jsonstat(["2024M01", "2024M02", "2024M03"], [1.5, None, 3.25])).encode()
    rows = rows_from_jsonstat(body)
    assert [(r.period, r.value) for r in rows] == [("2024-01", 1.5), ("2024-02", None), ("2024-03", 3.25)]
    assert feed_to_csv(body, "json-stat") == "Kỳ,Giá trị\n2024-01,1.5\n2024-02,\n2024-03,3.25\n".encode()
    two = json.dumps(jsonstat(["2023", "2024"], [1, 2, 3, 4], regions=["LD", "DN"])).encode()
    with pytest.raises(FeedError, match="Region"):
        rows_from_jsonstat(two)
    assert [r.value for r in rows_from_jsonstat(two, {"filter": {"Region": "DN"}})] == [3, 4]
    wide = rows_from_jsonstat(two, {"code_dimension": "Region", "codes": {"LD": "ld_thu"}})
    assert [(r.code, r.period, r.value) for r in wide] == [
        ("ld_thu", "2023", 1),
        ("ld_thu", "2024", 2),
        ("DN", "2023", 3),
        ("DN", "2024", 4),
    ]
    quarters = json.dumps(jsonstat(["2024K1", "2024Q2"], [1, 2])).encode()
    assert [r.period for r in rows_from_jsonstat(quarters)] == ["2024-Q1", "2024-Q2"]
    with pytest.raises(FeedError):
        rows_from_jsonstat(b"<html>not json</html>")


def test_json_records_where_the_mapping_says() -> None:
    assert [(r.period, r.value) for r in rows_from_json(b'[{"period": "2024-01", "value": 1}]')] == [("2024-01", 1)]
    body = b'{"data": {"items": [{"ky": "Th\xc3\xa1ng 1/2024", "so": "1.234"}]}}'
    rows = rows_from_json(body, {"records": "data.items", "period": "ky", "value": "so"})
    assert [(r.period, r.value) for r in rows] == [("Tháng 1/2024", "1.234")]
    with pytest.raises(FeedError, match="'value'"):
        rows_from_json(b'[{"period": "2024-01"}]')
    with pytest.raises(FeedError):
        rows_from_json(b'{"something": 1}')


def test_schedules_seconds_macros_and_cron() -> None:
    t = datetime(2026, 1, 2, 9, 0, 30, tzinfo=UTC)  # a Friday, 16:00 in Vietnam
    assert parse_schedule(3600).next_after(t) == datetime(2026, 1, 2, 10, 0, 30, tzinfo=UTC)
    assert parse_schedule("@daily").next_after(t, "UTC") == datetime(2026, 1, 3, tzinfo=UTC)
    # 08:00 on weekdays in Vietnam is 01:00 UTC: next is Monday
    assert parse_schedule("0 8 * * 1-5").next_after(t) == datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    assert parse_schedule("*/15 * * * *").next_after(t, "UTC") == datetime(2026, 1, 2, 9, 15, tzinfo=UTC)
    assert parse_schedule("0 0 1,15 * *").next_after(t, "UTC") == datetime(2026, 1, 15, tzinfo=UTC)
    assert parse_schedule("0 0 29 2 *").next_after(t, "UTC") == datetime(2028, 2, 29, tzinfo=UTC)
    for bad in ("0 0 30 2 *", "61 * * * *", "* * *", "MON", "5-1 * * * *", "*/0 * * * *"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)
    with pytest.raises(ScheduleError, match="at least 60"):
        parse_schedule(10)
