"""Validation reports of stored documents: from the cache against validated afresh (issue 15: ≤ 5 ms cached, ≤ 0.2 s
fresh), through archive.signatures.validate_document on a sealed 1 MB, 50-page PDF (B-LTA with the dev PKI).

    .venv/bin/python bench/bench_validation_cache.py [--rounds 9] [--sqlite]

Fresh: the cache is emptied before each round, so the report is validated now (the bytes read from a replica and
verified, then validated in a validator process of signing/workers.py; the two documents take turns). Cached, whole request: the same hour again, including the audit
event (document.validate) each request writes. Cached, lookup only: the catalog visit that finds the document, its
version and the cached report (one statement), without the audit event. Catalog: PostgreSQL when reachable (a fresh
database, dropped afterwards), else SQLite.
"""

from __future__ import annotations

import argparse
import io
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402
import psycopg  # noqa: E402
from sqlalchemy import delete  # noqa: E402

import signing  # noqa: E402
from archive import orgs  # noqa: E402
from archive.ingest import ingest_file  # noqa: E402
from archive.settings import Settings  # noqa: E402
from archive.signatures import setup_of, sign_document, validate_document  # noqa: E402
from archive.signing_setup import dev_pki_served  # noqa: E402
from archive.validation_cache import ValidationReport, bucket_of, lookup, trust_version  # noqa: E402
from bench.bench_province import PG_ADMIN, fresh_database  # noqa: E402
from bench.bench_signing import make_pdf  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402

CACHED_LIMIT_MS, FRESH_LIMIT_MS = 5.0, 200.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument(
        "--sqlite", action="store_true", help="a SQLite catalog even when PostgreSQL is reachable"
    )
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)  # runs last: after the catalog is closed
        url = f"sqlite:///{tmp / 'catalog.sqlite3'}"
        if not args.sqlite:
            try:
                psycopg.connect(PG_ADMIN, connect_timeout=3).close()
                url = stack.enter_context(fresh_database())[0]
            except psycopg.Error:
                pass
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        settings = Settings(
            data_dir=tmp / "var", database_url=url, replicas=[f"file://{tmp / f'copy{i}'}" for i in (1, 2, 3)],
            base_url=f"http://127.0.0.1:{port}", scheduler_enabled=False,
        )  # fmt: skip
        archive = build_archive(settings, migrate=True)
        stack.callback(archive.close)
        stack.enter_context(dev_pki_served(setup_of(archive)))
        with archive.sessions() as s, s.begin():
            orgs.add_organisation(s, code="B01", name="Trường đo tốc độ", kind="truong", level="THPT")
        # two sealed documents (two files: the archive keeps one document per content), validated in turn, so that
        # nothing a validator process may keep between files can be the previous file's report
        base = pikepdf.open(io.BytesIO(make_pdf()))
        doc_ids = []
        for n in (1, 2):
            base.docinfo["/Title"] = f"Học bạ {n}"
            pdf = tmp / f"hoc-ba-{n}.pdf"
            base.save(pdf)
            doc = ingest_file(
                archive, pdf, filename=pdf.name, school="B01", type_code="hoc-ba", year="2024-2025"
            )
            sign_document(
                archive,
                doc.document.id,
                reason="Đóng dấu",
                appearance=signing.Appearance.invisible(),
                level="B-LTA",
            )
            doc_ids.append(doc.document.id)
            assert validate_document(archive, doc.document.id)["verdict"] == "TOTAL_PASSED"
        assert doc_ids[0] != doc_ids[1]
        doc_id = doc_ids[0]

        roots = setup_of(archive).trust_roots

        def fresh_ms(doc_id: str) -> float:
            with archive.sessions() as s, s.begin():
                s.execute(delete(ValidationReport))
            return timed(lambda: validate_document(archive, doc_id))

        def lookup_only() -> None:
            with archive.sessions() as s:
                assert lookup(s, doc_id, None, trust_version(roots), bucket_of(None)).report is not None

        fresh = [fresh_ms(doc_ids[i % 2]) for i in range(args.rounds)]
        # alternate the two cached measures so that load from elsewhere falls on both alike
        cached, looked_up = [], []
        for _ in range(args.rounds * 5):
            cached.append(timed(lambda: validate_document(archive, doc_id)))
            looked_up.append(timed(lookup_only))
    f, c, lk = statistics.median(fresh), statistics.median(cached), statistics.median(looked_up)
    print(f"catalog: {url.split(':')[0]}; two 1 MB, 50-page PDFs sealed at B-LTA; medians of {args.rounds} fresh, "
          f"{len(cached)} cached")  # fmt: skip
    for label, value, limit in (
        ("fresh, whole request", f, FRESH_LIMIT_MS),
        ("cached, lookup only", lk, CACHED_LIMIT_MS),
        ("cached, whole request including its audit event", c, CACHED_LIMIT_MS),
    ):
        verdict = "ok" if value <= limit else "over"
        print(f"validation report, {label:48s}: {value:8.2f} ms  (limit {limit:.0f} ms: {verdict})")
    print(f"cached / fresh: {c / f:.3f}")


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
