"""The client address behind a reverse proxy: X-Forwarded-For is believed only from HOSO_TRUSTED_PROXIES, read from the
right, and ignored when malformed — checked on the resolver itself and through the real app (API login throttling,
the audit trail, and the web login page, which must use the same function)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pydantic
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive.context import Archive
from archive.models import Event, LoginFailure
from archive.settings import Settings
from hoso.app import create_app
from hoso.netaddr import resolve_client_ip
from tests.factories import PASSWORD, add_person, make_archive
from tests.unit.test_web_pages import hidden_token

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8:1::/48")]


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        # an untrusted peer cannot choose its address
        ("198.51.100.4", ["203.0.113.7"], "198.51.100.4"),
        # one trusted proxy
        ("10.0.0.5", ["203.0.113.7"], "203.0.113.7"),
        # a chain of trusted proxies; the client's own left-most claims are never believed
        ("10.0.0.5", ["1.1.1.1, 203.0.113.7, 10.0.0.9"], "203.0.113.7"),
        # the same chain split over several headers is one list
        ("10.0.0.5", ["1.1.1.1", "203.0.113.7", "10.0.0.9"], "203.0.113.7"),
        # IPv6 proxies and clients; IPv4-mapped addresses unwrapped so a client has one throttling key
        ("2001:db8:1::2", ["2001:DB8:ffff::0001"], "2001:db8:ffff::1"),
        ("::ffff:10.0.0.5", ["::ffff:203.0.113.7"], "203.0.113.7"),
        # every hop trusted: the farthest one
        ("10.0.0.5", ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        # malformed where we must read it: the peer, never half of the header
        ("10.0.0.5", ["203.0.113.7, not-an-ip"], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.7:4711"], "10.0.0.5"),
        ("10.0.0.5", ["unknown"], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.7,"], "10.0.0.5"),
        ("10.0.0.5", [" , "], "10.0.0.5"),
        # garbage to the left of the client's address is the client's own business
        ("10.0.0.5", ["<script>, 203.0.113.7"], "203.0.113.7"),
        # no header at all
        ("10.0.0.5", [], "10.0.0.5"),
        # a peer that is no address (TestClient, a Unix socket) is never a trusted proxy
        ("testclient", ["203.0.113.7"], "testclient"),
        ("", ["203.0.113.7"], ""),
    ],
)
def test_resolve_client_ip(peer: str, headers: list[str], expected: str):
    assert resolve_client_ip(peer, headers, PROXIES) == expected


def test_no_trusted_proxies_means_the_header_is_never_read():
    assert resolve_client_ip("10.0.0.5", ["203.0.113.7"], []) == "10.0.0.5"


def test_the_setting_is_parsed_and_a_typo_fails_at_startup(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOSO_TRUSTED_PROXIES", "10.0.0.1, 172.16.0.0/12,2001:db8::/32")
    nets = Settings().trusted_proxy_networks
    assert [str(n) for n in nets] == ["10.0.0.1/32", "172.16.0.0/12", "2001:db8::/32"]
    assert Settings(trusted_proxies="").trusted_proxy_networks == []  # the default: nobody is trusted
    monkeypatch.setenv("HOSO_TRUSTED_PROXIES", "10.0.0.1,10.0.0.300")
    with pytest.raises(pydantic.ValidationError, match="10.0.0.300"):
        Settings()


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Archive]:
    """An archive behind a proxy at 10.0.0.5 (10.0.0.0/8 trusted), throttling an address after 3 failures."""
    a = make_archive(tmp_path, trusted_proxies="10.0.0.0/8", login_max_failures_per_ip=3)
    add_person(a, "vanthu", ("van_thu", "T01"), full_name="Người dùng vanthu", password=PASSWORD)
    yield a
    a.close()


def _api_login(c: TestClient, password: str, forwarded: str, username: str = "vanthu") -> int:
    r = c.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": forwarded},
    )
    return r.status_code


def _failure_keys(a: Archive) -> list[str]:
    with a.sessions() as s:
        return sorted(s.scalars(select(LoginFailure.key).where(LoginFailure.key.like("ip:%"))))


def _event_ips(a: Archive, action: str) -> list[str]:
    with a.sessions() as s:
        return [
            e.detail["ip"] for e in s.scalars(select(Event).where(Event.action == action).order_by(Event.id))
        ]


def test_spoofed_header_from_an_untrusted_peer_is_ignored_by_throttling(proxied: Archive):
    app = create_app(proxied.settings, archive=proxied)
    attacker = TestClient(app, client=("198.51.100.4", 40000))  # not a trusted proxy
    # a new invented address per attempt would dodge the per-address limit if the header were believed
    for i in range(3):
        assert _api_login(attacker, "sai", f"203.0.113.{i}", username=f"ai-do-{i}") == 401
    assert _failure_keys(proxied) == ["ip:198.51.100.4"] * 3
    assert _api_login(attacker, PASSWORD, "203.0.113.99") == 429  # the real peer is throttled
    assert _event_ips(proxied, "auth.login_failed") == ["198.51.100.4"] * 3
    # the TestClient's own peer ("testclient", no address) is handled, not an error, and not a proxy either
    assert _api_login(TestClient(app), PASSWORD, "10.0.0.9") == 200
    assert _event_ips(proxied, "auth.login")[-1] == "testclient"


def test_trusted_proxy_chain_gives_the_client_to_throttling_and_the_audit_trail(proxied: Archive):
    app = create_app(proxied.settings, archive=proxied)
    proxy = TestClient(app, client=("10.0.0.5", 40000))
    # the client claims 1.1.1.1; our outer proxy 10.0.0.9 saw it come from 203.0.113.7
    for _ in range(3):
        assert _api_login(proxy, "sai", "1.1.1.1, 203.0.113.7, 10.0.0.9") == 401
    assert _failure_keys(proxied) == ["ip:203.0.113.7"] * 3
    assert _event_ips(proxied, "auth.login_failed") == ["203.0.113.7"] * 3
    # another client behind the same proxy is not locked out with the first one
    assert _api_login(proxy, PASSWORD, "198.51.100.20") == 200
    assert _event_ips(proxied, "auth.login")[-1] == "198.51.100.20"
    # a malformed header from the proxy: the peer, not a guess
    assert _api_login(proxy, "sai", "203.0.113.7, bogus") == 401
    assert _event_ips(proxied, "auth.login_failed")[-1] == "10.0.0.5"


def test_web_login_page_uses_the_same_resolution(proxied: Archive):
    app = create_app(proxied.settings, archive=proxied)
    for peer, expected in (("10.0.0.5", "203.0.113.7"), ("198.51.100.4", "198.51.100.4")):
        c = TestClient(app, client=(peer, 40000))
        token = hidden_token(c.get("/dang-nhap").text)
        r = c.post(
            "/dang-nhap",
            data={"username": "vanthu", "password": PASSWORD, "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.7"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert _event_ips(proxied, "auth.login")[-1] == expected
