"""Every route in the OpenAPI schema refuses a caller without credentials, except health, login and the probes
/livez and /readyz (and the dev PKI under /dev-pki, outside /api/v1). New routes of any team are caught here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hoso.app import create_app
from tests.factories import make_settings

PUBLIC = {("GET", "/api/v1/health"), ("POST", "/api/v1/auth/login"), ("GET", "/livez"), ("GET", "/readyz")}


def _routes(tmp_path: Path) -> tuple[TestClient, list[tuple[str, str]]]:
    app = create_app(make_settings(tmp_path))
    client = TestClient(app, base_url="https://testserver")
    routes = [
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    return client, routes


def test_every_route_needs_authentication(tmp_path: Path):
    client, routes = _routes(tmp_path)
    assert len(routes) > 20  # the schema really was read
    reachable = []
    for method, path in routes:
        if (method, path) in PUBLIC or path.startswith("/dev-pki"):
            continue
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000001", path)
        for headers in (
            {},
            {"Authorization": "Bearer hoso_not-a-real-token"},
            {"Cookie": "hoso_session=forged"},
        ):
            r = client.request(method, url, headers=headers, json={} if method != "GET" else None)
            if r.status_code != 401:
                reachable.append((method, path, headers, r.status_code, r.text[:200]))
            else:
                assert r.json()["error"] in {"unauthenticated", "session_expired"}
    assert reachable == []


def test_public_routes_are_exactly_health_and_login(tmp_path: Path):
    client, routes = _routes(tmp_path)
    assert set(routes) >= PUBLIC
    assert client.get("/api/v1/health").status_code in (200, 503)
    r = client.post("/api/v1/auth/login", json={"username": "admin", "password": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_are_never_public(tmp_path: Path, method: str):
    _, routes = _routes(tmp_path)
    public_unsafe = [(m, p) for m, p in routes if m == method and (m, p) in PUBLIC]
    assert public_unsafe == ([("POST", "/api/v1/auth/login")] if method == "POST" else [])
