"""`/metrics` in Prometheus text format: what this process did (counters, durations) and what the catalog and the
stores say now (gauges, read at scrape time and cached briefly).

Process counters are per process, as Prometheus expects (it sums the app instances). Figures from the catalog are
the same whichever app process is asked, and cover the workers too, which have no HTTP port: fixity progress,
damaged copies, waiting signing requests, scheduler job results (retention/job_results.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from archive.chain_models import SigningRequest
from archive.context import Archive
from archive.db import utcnow
from archive.models import StoredObject
from retention.fixity import CORRUPT, MISSING, UNREACHABLE, fixity_status
from retention.job_results import job_outcomes

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
disable_created_metrics()  # no `_created` twin of every counter: Prometheus does not need them

# (method, route template) → what a person did; the HTTP duration of these routes is that operation's duration
OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/api/v1/documents"): ("upload", "api"),
    ("POST", "/tai-len"): ("upload", "web"),
    ("POST", "/api/v1/documents/{doc_id}/signatures"): ("sign", "seal"),
    ("POST", "/ho-so/{doc_id}/ky-so"): ("sign", "seal"),
    ("PUT", "/api/v1/signing-sessions/{session_id}"): ("sign", "person"),
    ("POST", "/ho-so/{doc_id}/ky-ca-nhan/{session_id}"): ("sign", "person"),
    ("GET", "/api/v1/documents/{doc_id}/validation"): ("validate", "api"),
    ("GET", "/ho-so/{doc_id}/kiem-tra"): ("validate", "web"),
}
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def waiting_signing_requests(archive: Archive, now: datetime) -> int:
    """Steps of signing chains waiting for their signer (archive.chains: status "waiting")."""
    del now
    with archive.sessions() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(SigningRequest).where(SigningRequest.status == "waiting")
            )
            or 0
        )


def stored_bytes(archive: Archive) -> int:
    """Bytes the catalog holds once (content, manifests, exports); each is kept in every replica."""
    with archive.sessions() as s:
        return int(s.scalar(select(func.coalesce(func.sum(StoredObject.size), 0))) or 0)


def probe_url(url: str, timeout: float = 3.0) -> bool:
    """Reachable = any HTTP answer below 500 (a TSA answers GET with 405: it is there)."""
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False


@dataclass(frozen=True)
class Snapshot:
    taken: float
    families: tuple[Any, ...]


class CatalogCollector(Collector):
    """Gauges from the catalog and the stores, computed at most once per `ttl` seconds (a scrape every 15 s must
    not re-count 15 million copies each time)."""

    def __init__(
        self, archive: Archive, ttl: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.archive = archive
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None

    def describe(self) -> list[Any]:
        """Nothing up front: otherwise registering would run collect() (catalog queries, store pings) while the app
        is being built."""
        return []

    def collect(self) -> Iterator[Any]:
        with self._lock:
            if self._snapshot is None or self.clock() - self._snapshot.taken >= self.ttl:
                self._snapshot = Snapshot(self.clock(), tuple(self._families()))
            yield from self._snapshot.families

    def _families(self) -> Iterator[Any]:
        now = utcnow()
        a = self.archive
        status = fixity_status(a, now=now)
        states = dict(status.by_state)
        copies = GaugeMetricFamily(
            "hoso_replica_copies", "Copies in the catalog by their last known state", labels=["state"]
        )
        for state, n in sorted(states.items()):
            copies.add_metric([state], n)
        yield copies
        yield GaugeMetricFamily(
            "hoso_replica_copies_unrepaired",
            "Copies found damaged or missing and not repaired yet",
            value=states.get(CORRUPT, 0) + states.get(MISSING, 0),
        )
        yield GaugeMetricFamily(
            "hoso_replica_copies_unreachable",
            "Copies whose store did not answer",
            value=states.get(UNREACHABLE, 0),
        )
        total = status.total_copies
        yield GaugeMetricFamily(
            "hoso_fixity_cycle_progress_ratio",
            "Share of copies fully re-hashed within the current period (HOSO_FIXITY_FULL_PERIOD_DAYS)",
            value=(total - status.overdue) / total if total else 1.0,
        )
        yield GaugeMetricFamily(
            "hoso_fixity_overdue_copies", "Copies not fully re-hashed within the period", value=status.overdue
        )
        oldest = status.oldest_verified_at
        yield GaugeMetricFamily(
            "hoso_fixity_oldest_verification_age_seconds",
            "Age of the least recently re-hashed copy (0 when none was ever re-hashed: see overdue copies)",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "hoso_fixity_period_seconds",
            "Every copy must be re-hashed within this period",
            value=a.settings.fixity_full_period_days * 86400.0,
        )
        last = status.last_run_finished_at
        yield GaugeMetricFamily(
            "hoso_fixity_last_run_finished_timestamp_seconds",
            "When the last fixity run finished (Unix time; 0 = never)",
            value=last.timestamp() if last else 0.0,
        )
        yield GaugeMetricFamily(
            "hoso_stored_bytes", "Bytes held once in the catalog (times the copies)", value=stored_bytes(a)
        )
        yield GaugeMetricFamily(
            "hoso_signing_requests_waiting",
            "Signing requests waiting for a signer",
            value=waiting_signing_requests(a, now),
        )
        yield from self._jobs()
        up = GaugeMetricFamily("hoso_store_up", "1 when the replica store answered", labels=["copy"])
        for i, result in enumerate(a.replicas.ping_all().values(), start=1):
            up.add_metric([f"copy{i}"], 1.0 if result == "ok" else 0.0)
        yield up
        if a.settings.tsa_url:  # the dev PKI's TSA is this process itself: nothing to probe
            yield GaugeMetricFamily(
                "hoso_tsa_up",
                "1 when the time-stamping authority answered",
                value=float(probe_url(a.settings.tsa_url)),
            )

    def _jobs(self) -> Iterator[Any]:
        outcomes = job_outcomes(self.archive)
        ok = GaugeMetricFamily("hoso_job_last_run_ok", "1 when the job's last run succeeded", labels=["job"])
        when = GaugeMetricFamily(
            "hoso_job_last_success_timestamp_seconds",
            "When the job last succeeded (Unix time; 0 = never)",
            labels=["job"],
        )
        runs = CounterMetricFamily(
            "hoso_job_runs", "Finished runs of each scheduled job", labels=["job", "result"]
        )
        for o in outcomes:
            ok.add_metric([o.job], 1.0 if o.last_ok else 0.0)
            when.add_metric([o.job], o.last_success_at.timestamp() if o.last_success_at else 0.0)
            runs.add_metric([o.job, "ok"], o.runs_ok)
            runs.add_metric([o.job, "failed"], o.runs_failed)
        yield ok
        yield when
        yield runs


class Metrics:
    """The metrics of one app: its own registry (tests build many apps in one process)."""

    def __init__(self, archive: Archive, ttl: float = 60.0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "hoso_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "hoso_http_request_duration_seconds",
            "Time to answer",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.uploads = Counter(
            "hoso_uploads",
            "Uploads by HTTP status (201 new, 200 already stored, 4xx refused)",
            ["via", "status"],
            registry=r,
        )
        self.upload_bytes = Counter("hoso_upload_bytes", "Request bytes of accepted uploads", registry=r)
        self.refusals = Counter("hoso_refusals", "Requests refused, by error code", ["code"], registry=r)
        self.signing_seconds = Histogram(
            "hoso_signing_duration_seconds",
            "Signatures made (count) and their duration",
            ["kind", "result"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.validation_seconds = Histogram(
            "hoso_validation_duration_seconds",
            "Validation reports made (count) and their duration",
            ["via", "result"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.catalog = CatalogCollector(archive, ttl=ttl)
        r.register(self.catalog)

    def observe_request(
        self, method: str, route: str, status: int, seconds: float, body_bytes: int = 0
    ) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)
        op = OPERATIONS.get((method, route))
        if op is None:
            return
        what, how = op
        result = "ok" if status < 400 else "refused" if status < 500 else "error"
        if what == "upload":
            self.uploads.labels(how, str(status)).inc()
            if status < 400:
                self.upload_bytes.inc(body_bytes)
        elif what == "sign":
            self.signing_seconds.labels(how, result).observe(seconds)
        else:
            self.validation_seconds.labels(how, result).observe(seconds)

    def refused(self, code: str) -> None:
        self.refusals.labels(code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
