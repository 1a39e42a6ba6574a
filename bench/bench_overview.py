"""The year at a glance at a province's scale (PostgreSQL): one school's year overview against its 200 ms limit, a
Phòng's and the Sở's roll-up of their schools against 1 s.

    .venv/bin/python bench/bench_overview.py [--scale 0.02] [--samples 10] [--reuse DATABASE]

The catalog is bench_province's generated province (same generator, same `--reuse` of a catalog kept with
HOSO_BENCH_KEEP=1). Requests go through the real app, as the people who make them: the school's grid as the system
administrator (web page and API), the roll-up as a Phòng inspector (its THCS schools) and as a Sở inspector (its THPT
schools). The figures are printed against the limits, never asserted; the statement count of each request is printed
too (the roll-up's does not grow with the number of schools: tests/integration/inspection/test_year_overview.py
asserts it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from archive import accounts, orgs  # noqa: E402
from archive.sessions import SESSION_COOKIE, create_session  # noqa: E402
from bench.bench_province import YEARS, postgres_reachable, province, statement_counter, timed  # noqa: E402

SCHOOL_LIMIT_MS = 200.0
ROLLUP_LIMIT_MS = 1000.0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.02, help="1 = a province (≈ 4.7 M documents)")
    ap.add_argument("--schools", type=int, default=200)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument(
        "--reuse", metavar="DATABASE", help="a catalog kept by HOSO_BENCH_KEEP=1 (migrated first)"
    )
    args = ap.parse_args(argv)
    if not postgres_reachable():
        return
    from fastapi.testclient import TestClient

    from hoso.app import create_app

    with province(args.reuse, args.schools, args.scale) as p:
        dsn, settings, archive, counts = p.dsn, p.settings, p.archive, p.counts
        year = YEARS[-1]
        with psycopg.connect(dsn) as conn:
            school = conn.execute(
                "SELECT o.code, count(d.id) FROM organisations o JOIN documents d ON d.school_id = o.id "
                "WHERE o.kind = 'truong' AND d.school_year = %s GROUP BY o.code ORDER BY count(d.id) DESC LIMIT 1",
                (year,),
            ).fetchone()
            assert school is not None
            phong_schools = conn.execute(
                "SELECT count(*) FROM organisations o JOIN organisations p ON p.id = o.parent_id "
                "WHERE p.code = 'P87-01'"
            ).fetchone()[0]  # type: ignore[index]
            so_schools = conn.execute(
                "SELECT count(*) FROM organisations WHERE kind = 'truong' AND level = 'THPT'"
            ).fetchone()[0]  # type: ignore[index]
        # the people who ask: accounts made in this run, so a reused catalog can be measured again
        tag = uuid.uuid4().hex[:6]
        with archive.sessions() as s, s.begin():
            admin = accounts.get_user(s, "admin")
            people: dict[str, tuple[str, str]] = {}
            for who, role, org in (("phong", "inspector_phong", "P87-01"), ("so", "inspector_so", "S87")):
                o = orgs.get_organisation(s, org)
                u = accounts.create_user(s, username=f"bench-{who}-{tag}", organisation_id=o.id)
                accounts.grant_role(s, u, role, o)
                people[who] = (
                    accounts.create_token(s, user=u, name="bench").secret,
                    create_session(s, u, ttl_hours=1).secret,
                )
            people["admin"] = (
                accounts.create_token(s, user=admin, name="bench").secret,
                create_session(s, admin, ttl_hours=1).secret,
            )
        print(
            f"catalog: {counts['documents']:,} documents, {counts['replica_copies']:,} copy rows; school {school[0]} has "
            f"{school[1]:,} records in {year}; the Phòng P87-01 reads {phong_schools} schools, the Sở {so_schools}"
        )
        app = create_app(settings, archive=archive)
        rows: list[tuple[str, float, float, int, float]] = []
        with TestClient(app, base_url="http://127.0.0.1") as c:

            def get(who: str, path: str, **params: Any) -> Callable[[int], Any]:
                token, cookie = people[who]

                def call(_: int) -> Any:
                    c.cookies.set(SESSION_COOKIE, cookie)
                    r = c.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
                    assert r.status_code == 200, (path, r.status_code, r.text[:300])

                return call

            cases = [
                ("baseline: /livez (no database)", get("admin", "/livez"), SCHOOL_LIMIT_MS),
                ("school year overview (API)", get("admin", "/api/v1/overview", school=school[0], year=year),
                 SCHOOL_LIMIT_MS),
                ("school year overview page /tong-quan", get("admin", "/tong-quan", school=school[0], year=year),
                 SCHOOL_LIMIT_MS),
                (f"Phòng roll-up, {phong_schools} schools (API)", get("phong", "/api/v1/overview/schools", year=year),
                 ROLLUP_LIMIT_MS),
                ("Phòng roll-up page /tong-quan/cac-truong", get("phong", "/tong-quan/cac-truong", year=year),
                 ROLLUP_LIMIT_MS),
                (f"Sở roll-up, {so_schools} schools (API)", get("so", "/api/v1/overview/schools", year=year),
                 ROLLUP_LIMIT_MS),
            ]  # fmt: skip
            for name, call, limit in cases:
                med, pct = timed(args.samples, call)
                with statement_counter(archive) as n:
                    call(1)
                rows.append((name, med, pct, n[0], limit))
            start = time.perf_counter()
            get("phong", "/tong-quan/cac-truong.pdf", year=year)(0)
            sealed = time.perf_counter() - start

        print(f"\n{'request':46} {'median':>9} {'p95':>9} {'SQL':>5}  {'limit':>7}")
        for name, med, pct, statements, limit in rows:
            flag = "ok" if pct < limit else f"{pct / limit:.1f}× over"
            print(f"{name:46} {med:8.1f}ms {pct:8.1f}ms {statements:5}  {limit:5.0f}ms {flag}")
        print(f"the Phòng's roll-up as a sealed PDF report (once): {sealed * 1000:.0f} ms (no limit set)")
        print(
            f"(the baseline row is the same app answering without the catalog: the machine's load; {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()
