"""Liveness and readiness, request ids in answers and JSON log lines, and /metrics in Prometheus text format with
figures that follow what happened (uploads, refusals, damaged copies, scheduler job results)."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from archive.context import Archive
from archive.models import ReplicaCopy
from hoso.app import create_app
from hoso.observability import JsonFormatter
from retention.job_results import install_listener, record_result
from storage.memory import MemoryStore
from tests.factories import add_person, bearer, pdf_bytes


@pytest.fixture
def client(archive: Archive) -> Iterator[TestClient]:
    app = create_app(archive.settings, archive=archive)
    app.state.metrics.catalog.ttl = 0  # every scrape reads the catalog afresh
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def scrape(
    client: TestClient, headers: dict[str, str]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def upload(client: TestClient, headers: dict[str, str], data: bytes, name: str = "so.pdf"):
    form = {"school": "T01", "type": "so-dang-bo", "year": "2024-2025"}
    return client.post("/api/v1/documents", data=form, files={"file": (name, data)}, headers=headers)


def test_liveness_and_readiness_are_separate(archive: Archive, client: TestClient):
    assert client.get("/livez").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "database": "ok",
        "replicas": {f"copy{i}": "ok" for i in (1, 2, 3)},
    }

    down = archive.replicas.stores[1]
    assert isinstance(down, MemoryStore)
    down.available = False
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["replicas"] == {"copy1": "ok", "copy2": "unreachable", "copy3": "ok"}
    assert "memory://" not in ready.text  # store addresses are not for anonymous callers
    assert client.get("/livez").status_code == 200  # the process is alive: do not restart it for a store


def test_every_answer_carries_a_request_id_and_a_good_incoming_one_is_kept(client: TestClient):
    first, second = client.get("/livez"), client.get("/livez")
    assert (
        len(first.headers["x-request-id"]) == 32
        and first.headers["x-request-id"] != second.headers["x-request-id"]
    )
    kept = client.get("/livez", headers={"X-Request-Id": "proxy-7f3a9c21"})
    assert kept.headers["x-request-id"] == "proxy-7f3a9c21"
    for bad in ("short", "a" * 65, "has space in it", "<script>alert(1)</script>"):
        r = client.get("/livez", headers={"X-Request-Id": bad})
        assert r.headers["x-request-id"] != bad and len(r.headers["x-request-id"]) == 32
    missing = client.get("/api/v1/documents/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 401 and len(missing.headers["x-request-id"]) == 32  # errors too


def test_log_lines_are_json_with_the_request_id(client: TestClient):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("hoso.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        r = client.get("/readyz", headers={"X-Request-Id": "req-0000000042"})
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    (line,) = [x for x in lines if x.get("request_id") == "req-0000000042"]
    assert r.status_code == 200
    assert line["route"] == "/readyz" and line["status"] == 200 and line["method"] == "GET"
    assert line["level"] == "INFO" and line["logger"] == "hoso.access" and line["ms"] >= 0
    assert line["time"].endswith("+00:00")


def test_metrics_are_for_a_system_administrator(archive: Archive, client: TestClient):
    assert client.get("/metrics").status_code == 401
    add_person(archive, "giamsat", ("van_thu", "T01"))
    r = client.get("/metrics", headers=bearer(archive, "giamsat"))
    assert r.status_code == 403 and r.json()["error"] == "metrics_forbidden"
    assert r.json()["message_vi"].startswith("Chỉ quản trị hệ thống")


def test_metrics_follow_uploads_refusals_and_damage(archive: Archive, client: TestClient):
    admin = bearer(archive)
    before = scrape(client, admin)
    assert before[("hoso_replica_copies_unrepaired", ())] == 0
    assert before[("hoso_signing_requests_waiting", ())] == 0
    assert before[("hoso_fixity_cycle_progress_ratio", ())] == 1.0  # nothing stored: nothing overdue

    data = pdf_bytes(2, extra=b"metrics")
    assert upload(client, admin, data).status_code == 201
    assert upload(client, admin, data).status_code == 200  # the same bytes again
    refused = upload(client, admin, b"MZ not a pdf at all", name="x.pdf")
    assert refused.status_code in (415, 422)
    code = refused.json()["error"]

    m = scrape(client, admin)
    assert m[("hoso_uploads_total", (("status", "201"), ("via", "api")))] == 1
    assert m[("hoso_uploads_total", (("status", "200"), ("via", "api")))] == 1
    assert m[("hoso_uploads_total", (("status", str(refused.status_code)), ("via", "api")))] == 1
    assert m[("hoso_upload_bytes_total", ())] > 2 * len(data)  # two accepted multipart bodies
    assert m[("hoso_refusals_total", (("code", code),))] == 1
    route = (("method", "POST"), ("route", "/api/v1/documents"), ("status", "201"))
    assert m[("hoso_http_requests_total", route)] == 1
    assert m[("hoso_stored_bytes", ())] > len(data)  # the content and its manifest
    copies = sum(v for (name, _), v in m.items() if name == "hoso_replica_copies")
    assert copies == 9  # content, manifest and the signing chain's state record, three copies each
    assert m[("hoso_store_up", (("copy", "copy2"),))] == 1
    assert m[("hoso_fixity_overdue_copies", ())] == 0  # ingest re-read and hashed every copy it wrote
    assert m[("hoso_fixity_cycle_progress_ratio", ())] == 1.0

    long_ago = datetime.now(UTC) - timedelta(days=archive.settings.fixity_full_period_days + 1)
    with archive.sessions() as s, s.begin():
        one, two = s.scalars(select(ReplicaCopy.id).order_by(ReplicaCopy.id).limit(2)).all()
        s.execute(update(ReplicaCopy).where(ReplicaCopy.id == one).values(state="corrupt"))
        s.execute(update(ReplicaCopy).where(ReplicaCopy.id == two).values(verified_at=long_ago))
    archive.replicas.stores[2].available = False  # type: ignore[attr-defined]
    m = scrape(client, admin)
    assert m[("hoso_replica_copies_unrepaired", ())] == 1
    assert m[("hoso_replica_copies", (("state", "corrupt"),))] == 1
    assert m[("hoso_store_up", (("copy", "copy3"),))] == 0
    assert m[("hoso_fixity_overdue_copies", ())] == 1
    assert m[("hoso_fixity_cycle_progress_ratio", ())] == pytest.approx(8 / 9)
    age = m[("hoso_fixity_oldest_verification_age_seconds", ())]
    assert age > m[("hoso_fixity_period_seconds", ())]  # what the "fixity cycle late" alert compares


def test_scheduler_job_results_reach_the_metrics(archive: Archive, client: TestClient):
    """A real APScheduler runs one job that works and one that fails; the listener records both in the catalog,
    where any app process's /metrics finds them (workers have no HTTP port)."""
    done = threading.Event()
    runs: list[str] = []

    def works() -> None:
        runs.append("ok")

    def fails() -> None:
        try:
            raise RuntimeError("TSA unreachable")
        finally:
            done.set()

    scheduler = BackgroundScheduler()
    install_listener(scheduler, archive)
    scheduler.add_job(works, id="worm-canary")
    scheduler.add_job(fails, id="signature-upkeep")
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.shutdown(wait=True)
    record_result(archive, "worm-canary", True)  # a second worker's run of the same job counts too

    m = scrape(client, bearer(archive))
    assert runs == ["ok"]
    assert m[("hoso_job_runs_total", (("job", "worm-canary"), ("result", "ok")))] == 2
    assert m[("hoso_job_runs_total", (("job", "signature-upkeep"), ("result", "failed")))] == 1
    assert m[("hoso_job_last_run_ok", (("job", "signature-upkeep"),))] == 0
    assert m[("hoso_job_last_run_ok", (("job", "worm-canary"),))] == 1
    assert m[("hoso_job_last_success_timestamp_seconds", (("job", "signature-upkeep"),))] == 0
    assert m[("hoso_job_last_success_timestamp_seconds", (("job", "worm-canary"),))] > 1.7e9
