"""A province's catalog on PostgreSQL: generate it in the database, then measure what people wait for.

    .venv/bin/python bench/bench_province.py [--scale 0.02] [--schools 200] [--samples 40] [--keep]

Generation: Đồng Tháp's shape (1 Sở, 12 Phòng, `--schools` schools — 70 % THCS under a Phòng, 30 % THPT under the
Sở), three school years, 7 833 documents per school and year at `--scale 1` (≈ 4.7 M documents), 10 % of them with a
second (signed) version, a content and a manifest object per version and three copy rows per object, all written
with INSERT … SELECT generate_series in the database (no Python per row). The figures are printed against the limits
of the issue (p95 < 50 ms for list / search / filter / the document page; the retention due list without
per-document queries), never asserted: the numbers depend on the machine, the ratios and the statement counts do not.

The searches are then found both ways in one process, alternating (compare_searches): by the list's own query, as
before, and as archive/finding.py chooses now (walk the candidates newest first, or ask the trigram index), with the
same page and total required.

Requests go through the real app (FastAPI TestClient: routing, authentication, permission scope, serialisation) with
a system administrator's token, so every school is visible — the widest search a person can make.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event  # noqa: E402

from archive import accounts  # noqa: E402
from archive.context import Archive  # noqa: E402
from archive.search_text import document_search_text  # noqa: E402
from archive.sessions import SESSION_COOKIE, create_session  # noqa: E402
from archive.settings import Settings  # noqa: E402
from hoso.bootstrap import build_archive  # noqa: E402

PG_ADMIN = os.environ.get("HOSO_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
DOCS_PER_SCHOOL_YEAR = 7833  # 200 schools × 3 years × 7 833 ≈ 4.7 M documents
YEARS = ("2022-2023", "2023-2024", "2024-2025")
TYPES = ("so-theo-doi-danh-gia-lop", "hoc-ba", "so-dang-bo", "ke-hoach-bai-day", "ke-hoach-giao-duc-to")
LIMIT_MS = 50.0


@contextmanager
def fresh_database(reuse: str | None = None) -> Iterator[tuple[str, str]]:
    """A new database, dropped afterwards unless HOSO_BENCH_KEEP=1; or `reuse`, a kept one (never dropped)."""
    base = PG_ADMIN.rsplit("/", 1)[0]
    if reuse:
        yield f"{base}/{reuse}".replace("postgresql://", "postgresql+psycopg://"), f"{base}/{reuse}"
        return
    name = f"hoso_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://"), f"{base}/{name}"
    finally:
        if os.environ.get("HOSO_BENCH_KEEP") != "1":
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


GENERATE = [
    # organisations: the Sở, its Phòng, the schools
    """INSERT INTO organisations (code, name, kind, level, parent_id, created_at)
       VALUES ('S87', 'Sở GDĐT Đồng Tháp', 'so', NULL, NULL, now())""",
    """INSERT INTO organisations (code, name, kind, level, parent_id, created_at)
       SELECT 'P87-' || lpad(g::text, 2, '0'), 'Phòng GDĐT huyện ' || g, 'phong', NULL,
              (SELECT id FROM organisations WHERE code = 'S87'), now()
       FROM generate_series(1, 12) g""",
    """INSERT INTO organisations (code, name, kind, level, parent_id, created_at)
       SELECT 'T' || lpad(g::text, 3, '0'),
              CASE WHEN g %% 10 < 7 THEN 'Trường THCS số ' ELSE 'Trường THPT số ' END || g, 'truong',
              CASE WHEN g %% 10 < 7 THEN 'THCS' ELSE 'THPT' END,
              CASE WHEN g %% 10 < 7 THEN (SELECT id FROM organisations WHERE code = 'P87-' || lpad((g %% 12 + 1)::text, 2, '0'))
                   ELSE (SELECT id FROM organisations WHERE code = 'S87') END,
              now()
       FROM generate_series(1, %(schools)s) g""",
    # documents: school × year × n, titles that a search can find (class, subject, teacher)
    # search_text is what archive/search_text.py folds those four fields to (checked on a sample in generate())
    """INSERT INTO documents (id, school_id, type_code, school_year, title, class_name, subject, teacher, status,
                             created_at, created_by_id, search_text)
       SELECT gen_random_uuid()::text, o.id, (%(types)s::text[])[1 + g %% %(ntypes)s], y,
              'Hồ sơ ' || g || ' lớp ' || (6 + g %% 7) || 'A' || (1 + g %% 9) || ' năm ' || y,
              (6 + g %% 7) || 'A' || (1 + g %% 9), 'Môn ' || (g %% 13), 'Giáo viên ' || (g %% 400),
              'active', now() - (g %% 1000) * interval '1 hour', NULL,
              ' ho so ' || g || ' lop ' || (6 + g %% 7) || 'a' || (1 + g %% 9) || ' nam ' || replace(y, '-', ' ')
              || ' ' || (6 + g %% 7) || 'a' || (1 + g %% 9) || ' mon ' || (g %% 13) || ' giao vien ' || (g %% 400)
       FROM organisations o CROSS JOIN unnest(%(years)s::text[]) y CROSS JOIN generate_series(1, %(per)s) g
       WHERE o.kind = 'truong'""",
    # versions: one each, a second (signed) one for every tenth
    """INSERT INTO versions (document_id, number, sha256, size, media_type, original_filename, page_count, created_at,
                            created_by_id, reason, manifest_sha256, previous_manifest_sha256, signed, validation)
       SELECT d.id, v, md5(d.id || v) || md5(v || d.id), 200000 + (hashtext(d.id) & 1048575), 'application/pdf',
              'ho-so.pdf', 4, d.created_at, NULL, '', md5(d.id || 'm' || v) || md5('m' || v || d.id), NULL,
              v = 2, NULL
       FROM documents d CROSS JOIN LATERAL generate_series(1, CASE WHEN hashtext(d.id) %% 10 = 0 THEN 2 ELSE 1 END) v""",
    # a content object and a manifest per version
    """INSERT INTO stored_objects (key, sha256, size, kind, created_at)
       SELECT 'content/' || left(v.sha256, 2) || '/' || v.sha256, v.sha256, v.size, 'content', v.created_at FROM versions v""",
    """INSERT INTO stored_objects (key, sha256, size, kind, created_at)
       SELECT 'manifests/' || v.document_id || '/' || lpad(v.number::text, 6, '0') || '.json', v.manifest_sha256, 2000,
              'manifest', v.created_at FROM versions v""",
    # three copies each, last fully verified at some time in the last 90 days
    """INSERT INTO replica_copies (object_id, store_url, state, checked_at, verified_at, detail)
       SELECT o.id, s.url, 'ok', now() - (o.id %% 24) * interval '1 hour', now() - (o.id %% 90) * interval '1 day', ''
       FROM stored_objects o CROSS JOIN unnest(%(stores)s::text[]) s(url)""",
    # what autovacuum has done to a catalog in use: its visibility map lets the search walk's index-only scans read
    # no table pages (unvacuumed, one school's walk of 11 750 candidates fetched every row: 16 ms instead of 8)
    "VACUUM (ANALYZE)",
]


def generate(dsn: str, schools: int, per: int, stores: list[str]) -> dict[str, Any]:
    params = {
        "schools": schools,
        "per": per,
        "types": list(TYPES),
        "ntypes": len(TYPES),
        "years": list(YEARS),
        "stores": stores,
    }
    start = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for sql in GENERATE:
            conn.execute(sql, params)  # type: ignore[arg-type]
        seconds = time.perf_counter() - start
        sample = conn.execute(
            "SELECT title, class_name, subject, teacher, search_text FROM documents LIMIT 50"
        )
        for title, class_name, subject, teacher, folded in sample:
            if folded != document_search_text(title, class_name, subject, teacher):
                raise SystemExit(f"generated search_text {folded!r} is not what archive/search_text.py folds")
    return {"seconds": seconds, **catalog_counts(dsn)}


def catalog_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("documents", "versions", "stored_objects", "replica_copies")
        }


def postgres_reachable() -> bool:
    """False, the reason printed, when the benchmarks' PostgreSQL does not answer (the module is then skipped)."""
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(f"skipped: PostgreSQL at {PG_ADMIN} is not reachable ({exc})")
        return False
    return True


@dataclass
class Province:
    dsn: str
    settings: Settings
    archive: Archive
    counts: dict[str, Any]  # rows per table, and the seconds the generation took (0 when reused)


@contextmanager
def province(reuse: str | None, schools: int, scale: float) -> Iterator[Province]:
    """A province's catalog generated at `scale` (or `reuse`, one kept by HOSO_BENCH_KEEP=1), migrated, with an
    archive over it."""
    with fresh_database(reuse) as (url, dsn):
        tag = uuid.uuid4().hex[:6]
        if reuse:
            with psycopg.connect(dsn) as conn:
                stores = [r[0] for r in conn.execute("SELECT DISTINCT store_url FROM replica_copies")]
        else:
            stores = [f"memory://bench-{tag}-{i}" for i in (1, 2, 3)]
        base = Path(tempfile.mkdtemp(prefix=f"hoso-bench-{tag}-"))
        settings = Settings(data_dir=base, database_url=url, replicas=stores, scheduler_enabled=False)
        start = time.perf_counter()
        archive = build_archive(settings, migrate=True)
        if reuse:
            g: dict[str, Any] = {"seconds": 0.0, **catalog_counts(dsn)}
            print(
                f"reused {reuse}: {g['documents']:,} documents, migrated in {time.perf_counter() - start:.1f} s"
            )
        else:
            g = generate(dsn, schools, max(1, round(DOCS_PER_SCHOOL_YEAR * scale)), stores)
            total_rows = g["documents"] + g["versions"] + g["stored_objects"] + g["replica_copies"]
            print(
                f"generated {g['documents']:,} documents, {g['versions']:,} versions, {g['stored_objects']:,} "
                f"objects, {g['replica_copies']:,} copy rows in {g['seconds']:.1f} s ({total_rows / g['seconds']:,.0f}"
                f" rows/s; a province at --scale 1 ≈ {g['seconds'] / scale / 60:.0f} min at this rate)"
            )
        try:
            yield Province(dsn, settings, archive, g)
        finally:
            shutil.rmtree(
                base, ignore_errors=True
            )  # the app's data folder; a kept catalog lives in PostgreSQL


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


def timed(samples: int, call: Callable[[int], Any]) -> tuple[float, float]:
    times = []
    call(0)  # warm: plan caches, connection pool
    for i in range(samples):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), p95(times)


@contextmanager
def statement_counter(archive: Archive) -> Iterator[list[int]]:
    count = [0]

    def before(*_: Any) -> None:
        count[0] += 1

    event.listen(archive.engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        event.remove(archive.engine, "before_cursor_execute", before)


def compare_searches(archive: Archive, school: str, samples: int) -> None:
    """The same searches found both ways in one process, alternating: before, by the list's own query (the planner
    walks ix_documents_created reading the rows, or sorts the trigram index's matches), and after, as
    archive/finding.py chooses (an index-only walk of the candidates newest first, or the trigram index's matches
    gathered, then sorted). Both must find the same page and the same capped total."""
    from archive import finding
    from archive.finding import DocumentFilter, find_documents

    searches = [
        ("one school, q=Giáo viên 17", DocumentFilter(school=school, q="Giáo viên 17")),
        ("whole province, q=lớp 9A3", DocumentFilter(q="lớp 9A3")),
        ("whole province, q=Giáo viên", DocumentFilter(q="Giáo viên")),
        ("one school, rare q=Giáo viên 399", DocumentFilter(school=school, q="Giáo viên 399")),
        ("whole province, rare q=Hồ sơ 1234", DocumentFilter(q="Hồ sơ 1234")),
    ]
    walk_max = finding.WALK_MAX
    print(
        f"\n{'search (in process, 100 rows, alternating)':44} {'before p50':>10} {'p95':>7} {'after p50':>9}"
        f" {'p95':>7} {'p50 ratio':>9}  limit {LIMIT_MS:.0f} ms (after's p95)"
    )
    try:
        for name, f in searches:
            times: dict[bool, list[float]] = {False: [], True: []}
            found: dict[bool, tuple[list[str], int]] = {}
            for i in range(samples + 1):  # the first round warms both
                for walk in (False, True) if i % 2 else (True, False):
                    finding.WALK_MAX = walk_max if walk else 0
                    with archive.sessions() as s:
                        start = time.perf_counter()
                        rows, total = find_documents(s, f, school_ids=None, limit=100)
                        if i:
                            times[walk].append((time.perf_counter() - start) * 1000)
                    found[walk] = ([d.id for d in rows], total)
                if found[False] != found[True]:
                    raise SystemExit(f"{name}: the walk and the word index found different documents")
            before, after = p95(times[False]), p95(times[True])
            flag = "ok" if after < LIMIT_MS else f"{after / LIMIT_MS:.1f}× over"
            print(
                f"{name:44} {statistics.median(times[False]):9.1f}ms {before:6.1f}ms"
                f" {statistics.median(times[True]):8.1f}ms {after:6.1f}ms"
                f" {statistics.median(times[True]) / statistics.median(times[False]):8.2f}×  {flag}"
                f"  ({min(found[True][1], finding.COUNT_CAP)}{'+' if found[True][1] > finding.COUNT_CAP else ''} found)"
            )
    finally:
        finding.WALK_MAX = walk_max
        archive.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.02, help="1 = a province (≈ 4.7 M documents)")
    ap.add_argument("--schools", type=int, default=200)
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--requests-only", action="store_true", help="skip the retention due list and /metrics")
    ap.add_argument(
        "--reuse",
        metavar="DATABASE",
        help="measure a catalog kept by HOSO_BENCH_KEEP=1 (migrated first) again",
    )
    args = ap.parse_args(argv)
    if not postgres_reachable():
        return
    from fastapi.testclient import TestClient

    from hoso.app import create_app

    with province(args.reuse, args.schools, args.scale) as p:
        dsn, settings, archive, g = p.dsn, p.settings, p.archive, p.counts
        with archive.sessions() as s, s.begin():
            admin = accounts.get_user(s, "admin")
            token = accounts.create_token(s, user=admin, name="bench").secret
            web = create_session(s, admin, ttl_hours=1)
        with psycopg.connect(dsn) as conn:
            doc_ids = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY random() LIMIT 200")]
            schools = [r[0] for r in conn.execute("SELECT code FROM organisations WHERE kind = 'truong'")]
        rnd = random.Random(7)
        app = create_app(settings, archive=archive)
        h = {"Authorization": f"Bearer {token}"}
        rows: list[tuple[str, float, float, int]] = []
        with TestClient(app, base_url="http://127.0.0.1") as c:
            c.cookies.set(SESSION_COOKIE, web.secret)

            def get(path: str, **params: Any) -> Callable[[int], Any]:
                def call(_: int) -> Any:
                    r = c.get(path, params=params, headers=h)
                    assert r.status_code == 200, (path, r.status_code, r.text[:200])

                return call

            def doc(i: int) -> None:
                r = c.get(f"/api/v1/documents/{doc_ids[i % len(doc_ids)]}", headers=h)
                assert r.status_code == 200

            def page(i: int) -> None:
                r = c.get(f"/ho-so/{doc_ids[i % len(doc_ids)]}")
                assert r.status_code == 200, r.text[:200]

            school = rnd.choice(schools)
            cases = [
                ("baseline: /livez (no database)", get("/livez")),
                ("list: one school", get("/api/v1/documents", school=school)),
                (
                    "filter: school + type + year",
                    get("/api/v1/documents", school=school, type="hoc-ba", year=YEARS[1]),
                ),
                (
                    "search: one school, q=Giáo viên 17",
                    get("/api/v1/documents", school=school, q="Giáo viên 17"),
                ),
                ("search: whole province, q=lớp 9A3", get("/api/v1/documents", q="lớp 9A3")),
                # rare words: answered from the trigram index after a short walk (archive/finding.py)
                (
                    "search: one school, rare q=Giáo viên 399",
                    get("/api/v1/documents", school=school, q="Giáo viên 399"),
                ),
                ("search: whole province, rare q=Hồ sơ 1234", get("/api/v1/documents", q="Hồ sơ 1234")),
                ("list: whole province, newest first", get("/api/v1/documents")),
                ("document (API)", doc),
                ("document page /ho-so/{id}", page),
            ]
            for name, call in cases:
                med, pct = timed(args.samples, call)
                with statement_counter(archive) as n:
                    call(1)
                rows.append((name, med, pct, n[0]))

        print(f"\n{'request':44} {'median':>9} {'p95':>9} {'SQL':>5}  limit {LIMIT_MS:.0f} ms")
        for name, med, pct, statements in rows:
            flag = "ok" if pct < LIMIT_MS else f"{pct / LIMIT_MS:.1f}× over"
            print(f"{name:44} {med:8.1f}ms {pct:8.1f}ms {statements:5}  {flag}")
        print(
            "(SQL: statements one request sends; a list page of 100 rows must not need one per row. The baseline row "
            f"is the same app answering without the catalog: the machine's load right now; {os.cpu_count()} cores)"
        )

        compare_searches(build_archive(settings), school, args.samples)
        if args.requests_only:
            return
        archive = build_archive(settings)  # the app's lifespan closed the one it was given
        # the retention due list: statements per document (document_facts asks two per document)
        from retention.disposal import due_documents

        with archive.sessions() as s, statement_counter(archive) as n:
            start = time.perf_counter()
            items = due_documents(s, date.today(), school=school)
            seconds = time.perf_counter() - start
        with psycopg.connect(dsn) as conn:
            docs = conn.execute(
                "SELECT count(*) FROM documents d JOIN organisations o ON o.id = d.school_id WHERE o.code = %s",
                (school,),
            ).fetchone()[0]  # type: ignore[index]
        print(
            f"\nretention due list of one school ({docs:,} documents, {len(items):,} due): {seconds:.2f} s, "
            f"{n[0]:,} SQL statements = {n[0] / max(docs, 1):.3f} per document (goal: a constant, not per document)"
        )
        with archive.sessions() as s, statement_counter(archive) as n:
            start = time.perf_counter()
            items = due_documents(s, date.today())
            seconds = time.perf_counter() - start
        print(
            f"retention due list of the province ({g['documents']:,} documents): {seconds:.2f} s "
            f"({g['documents'] / seconds:,.0f} documents/s), {n[0]:,} SQL statements = "
            f"{n[0] / g['documents']:.4f} per document"
        )
        # one /metrics collection of the catalog gauges (done at most once a minute per app process)
        from hoso.metrics import CatalogCollector

        start = time.perf_counter()
        list(CatalogCollector(archive, ttl=0).collect())
        seconds = time.perf_counter() - start
        print(
            f"/metrics catalog gauges over {g['replica_copies']:,} copy rows: {seconds:.2f} s per collection (cached 60 s)"
        )
        archive.close()


if __name__ == "__main__":
    main()
