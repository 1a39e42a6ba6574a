"""Small helpers shared by the people tests."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from archive.context import Archive
from hoso.app import create_app
from tests.factories import PASSWORD


def client_for(archive: Archive, base_url: str = "http://127.0.0.1") -> TestClient:
    return TestClient(create_app(archive.settings, archive=archive), base_url=base_url)


def login(client: TestClient, username: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    return body


class CountingHasher:
    """Wraps the real argon2 hasher (archive.accounts._hasher) to count verifications: how many password checks
    really ran. Install with monkeypatch.setattr(accounts, "_hasher", CountingHasher(accounts._hasher))."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, stored: str, password: str) -> bool:
        with self._lock:
            self.verified += 1
        result: bool = self.real.verify(stored, password)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
