"""The inspection routes: make a package, list it, download it whole and by ranges (resume), refusals."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient

from archive.context import Archive
from hoso.app import create_app
from tests.factories import bearer

from .conftest import ingest


def client(a: Archive, username: str, scopes: str = "*") -> TestClient:
    return TestClient(
        create_app(a.settings, archive=a), headers=bearer(a, username, scopes=scopes, ttl_days=1)
    )


def test_package_download_and_resume(world: Archive) -> None:
    a = world
    for i in range(2):
        ingest(a, "T01", "hoc-ba", f"Học bạ {i}", f"10A{i}", size=40_000)
    c01 = ingest(a, "C01", "hoc-ba", "Học bạ THCS", "6A")
    so = client(a, "thanhtraso")
    made = so.post("/api/v1/inspection/packages", json={"schools": ["T01"], "years": ["2024-2025"]})
    assert made.status_code == 201, made.text
    pkg = made.json()
    assert pkg["documents"] == 2 and pkg["filename"].endswith(".zip")
    assert [f["name"] for f in pkg["files"]][-3:] == [
        "bao-cao-kiem-tra.pdf",
        "bao-cao-kiem-tra.json",
        "SHA256SUMS",
    ]
    assert [p["id"] for p in so.get("/api/v1/inspection/packages").json()] == [pkg["id"]]

    url = f"/api/v1/inspection/packages/{pkg['id']}/content"
    full = so.get(url)
    assert full.status_code == 200 and full.headers["accept-ranges"] == "bytes"
    assert int(full.headers["content-length"]) == pkg["zip_size"] == len(full.content)
    assert "attachment" in full.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(full.content)) as z:
        assert z.testzip() is None

    # a broken download resumes where it stopped, guarded by If-Range
    cut = pkg["zip_size"] // 2
    tail = so.get(url, headers={"Range": f"bytes={cut}-", "If-Range": full.headers["etag"]})
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {cut}-{pkg['zip_size'] - 1}/{pkg['zip_size']}"
    assert full.content[:cut] + tail.content == full.content
    last = so.get(url, headers={"Range": "bytes=-100"})
    assert last.status_code == 206 and last.content == full.content[-100:]
    stale = so.get(url, headers={"Range": f"bytes={cut}-", "If-Range": '"another"'})
    assert stale.status_code == 200 and stale.content == full.content  # changed validator: the whole again
    outside = so.get(url, headers={"Range": f"bytes={pkg['zip_size']}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{pkg['zip_size']}"
    assert outside.json()["error"] == "range_not_satisfiable"

    # the Sở inspector cannot package a THCS school's file; another person cannot fetch my package
    refused = so.post("/api/v1/inspection/packages", json={"documents": [c01]})
    assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
    phong = client(a, "thanhtraphong")
    assert phong.get(url).status_code == 404
    empty = so.post("/api/v1/inspection/packages", json={})
    assert empty.status_code == 422 and empty.json()["error"] == "nothing_selected"
    # a read-only token may look at documents but not take their files
    reader = client(a, "thanhtraso", scopes="document.read")
    assert reader.post("/api/v1/inspection/packages", json={"schools": ["T01"]}).status_code == 403
    # no SMTP configured: a clear 503, not a crash
    mail = so.post(f"/api/v1/inspection/packages/{pkg['id']}/email")
    assert mail.status_code == 503 and mail.json()["error"] == "mail_unavailable"
