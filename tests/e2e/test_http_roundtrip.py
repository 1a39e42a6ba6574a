"""The running service over HTTP: upload, idempotency, refusals, and a download that survives a corrupted replica."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from tests.factories import make_pdf
from tests.processes import LiveServer


def _copy_paths(var: Path, sha: str) -> list[Path]:
    found = sorted(p for p in (var / "replicas").rglob(sha) if p.is_file())
    return found


def test_upload_then_download_identical_attachment_with_one_replica_corrupted(
    live: LiveServer, tmp_path: Path
):
    token = live.token()
    pdf = make_pdf(tmp_path / "Sổ đăng bộ khóa 2022-2025.pdf", pages=3, extra=b"e2e")
    data = pdf.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    form = {"school": "T01", "type": "so-dang-bo", "year": "2024-2025", "title": "Sổ đăng bộ khóa 2022-2025"}
    with live.client(token) as c:
        r = c.post(
            "/api/v1/documents", data=form, files={"file": (pdf.name, data, "application/octet-stream")}
        )
        assert r.status_code == 201, r.text
        doc = r.json()
        assert doc["sha256"] == sha and doc["size"] == len(data)
        assert [x["state"] for x in doc["replicas"]] == ["ok", "ok", "ok"]

        again = c.post("/api/v1/documents", data=form, files={"file": ("khac.pdf", data, "application/pdf")})
        assert again.status_code == 200 and again.json()["id"] == doc["id"]

        copies = _copy_paths(tmp_path / "var", sha)
        assert len(copies) == 3
        first = copies[0]
        first.chmod(0o644)
        damaged = bytearray(first.read_bytes())
        damaged[len(damaged) // 2] ^= 0x01  # one flipped bit
        first.write_bytes(bytes(damaged))

        got = c.get(f"/api/v1/documents/{doc['id']}/content")
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"] == "application/pdf"
        disp = got.headers["content-disposition"]
        assert disp.startswith("attachment;")
        # saved as <school>_<year>_<type>_<title>.pdf (no class given); the catalog keeps the original name
        saved = "T01_2024-2025_so-dang-bo_Sổ-đăng-bộ-khóa-2022-2025.pdf"
        assert "filename*=UTF-8''" + quote(saved, safe="") in disp
        assert 'filename="T01_2024-2025_so-dang-bo_So-dang-bo-khoa-2022-2025.pdf"' in disp

        after = c.get(f"/api/v1/documents/{doc['id']}").json()
        states = [x["state"] for x in after["replicas"]]
        assert states.count("corrupt") == 1 and states.count("ok") == 2

        listed = c.get("/api/v1/documents", params={"school": "T01", "year": "2024-2025"}).json()
        assert [d["id"] for d in listed["items"]] == [doc["id"]]


def test_requests_without_token_are_refused_and_errors_are_bilingual(live: LiveServer, tmp_path: Path):
    with live.client() as anon:
        r = anon.get("/api/v1/documents")
        assert r.status_code == 401
        assert r.json()["error"] == "unauthenticated"
        assert anon.get("/api/v1/health").status_code == 200
    with live.client("hoso_not-a-real-token") as bad:
        assert bad.get("/api/v1/documents").status_code == 401
    with live.client(live.token()) as c:
        fake = tmp_path / "bai-giang.pdf"
        fake.write_bytes(b"%PDF-1.4\nnot really\n")
        form = {"school": "T01", "type": "ke-hoach-bai-day", "year": "2024-2025"}
        r = c.post("/api/v1/documents", data=form, files={"file": (fake.name, fake.read_bytes())})
        assert r.status_code == 422
        body = r.json()
        assert body["error"] == "not_pdf" and body["message_vi"] and body["message_en"]
        r = c.post(
            "/api/v1/documents", data={**form, "school": "NOPE"}, files={"file": ("a.pdf", b"%PDF-1.4")}
        )
        assert r.status_code == 404 and r.json()["error"] == "school_not_found"
        r = c.post("/api/v1/documents", data={"school": "T01"}, files={"file": ("a.pdf", b"%PDF-1.4")})
        assert r.status_code == 422 and r.json()["error"] == "invalid_input"
        assert c.get("/api/v1/documents/does-not-exist").status_code == 404
        assert c.get("/api/v1/documents", params={"school": "T01"}).json()["total"] == 0
