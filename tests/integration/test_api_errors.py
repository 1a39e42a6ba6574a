"""Malformed requests get a clear bilingual error, never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient

from archive.context import Archive
from hoso.app import create_app


def test_malformed_json_says_so(archive: Archive):
    with TestClient(create_app(archive.settings, archive=archive)) as client:
        r = client.post(
            "/api/v1/auth/login",
            content=b'{"username": "admin", ',
            headers={"Content-Type": "application/json"},
        )
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "invalid_json"
        assert body["message_vi"] == "Nội dung gửi lên không phải JSON hợp lệ"
        missing = client.post("/api/v1/auth/login", json={"username": "admin"})
        assert missing.status_code == 422 and missing.json()["error"] == "invalid_input"
        assert "password" in missing.json()["message_en"]
