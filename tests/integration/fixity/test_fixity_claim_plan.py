"""Claiming the next fixity batch walks an index in the claim's own order (issue 15: O(batch), not O(catalog)) —
checked on PostgreSQL's plans over a catalog big enough that a full scan and sort would be cheaper to skip."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from archive.db import utcnow
from retention.fixity import claim_statements
from tests.factories import make_archive
from tests.plans import explained

COPIES = 30_000


@pytest.mark.parametrize(("kind", "parts"), [("full", 3), ("light", 2)])
def test_next_batch_is_read_from_an_index_not_sorted(tmp_path: Path, pg_url: str, kind: str, parts: int):
    a = make_archive(tmp_path, database_url=pg_url)
    try:
        with a.engine.begin() as conn:
            # a tenth never checked, a few damaged, the rest checked and verified over the last 90 days
            conn.execute(
                text(
                    "INSERT INTO stored_objects (key, sha256, size, kind, created_at) "
                    "SELECT 'content/' || g, md5(g::text) || md5(g::text), 1, 'content', now() "
                    "FROM generate_series(1, :n) g"
                ),
                {"n": COPIES // 3},
            )
            conn.execute(
                text(
                    "INSERT INTO replica_copies (object_id, store_url, state, checked_at, verified_at, detail) "
                    "SELECT o.id, s, CASE WHEN o.id % 500 = 0 THEN 'corrupt' ELSE 'ok' END, "
                    "CASE WHEN o.id % 10 = 0 THEN NULL ELSE now() - (o.id % 24) * interval '1 hour' END, "
                    "CASE WHEN o.id % 10 = 0 THEN NULL ELSE now() - (o.id % 90) * interval '1 day' END, '' "
                    "FROM stored_objects o CROSS JOIN unnest(ARRAY['file:///a', 'file:///b', 'file:///c']) s"
                )
            )
            conn.execute(text("ANALYZE replica_copies"))
        started = utcnow() - timedelta(hours=12)
        with a.sessions() as s, s.begin(), explained(a.engine) as plans:
            claimed = [s.execute(stmt.limit(100)).all() for stmt in claim_statements(kind, started)]  # type: ignore[arg-type]
        assert all(claimed)  # each part has due copies, so each plan is the one a busy catalog gets
        assert len(plans) == parts
        for i, plan in enumerate(plans):
            # an index read in the claim's order (which one is the planner's choice) and stopped at the LIMIT
            assert "Index Scan" in plan and "Seq Scan on replica_copies" not in plan, plan
            if (
                kind == "full" and i == 0
            ):  # damaged copies are few and have their own index; sorting them is cheap
                assert "ix_replica_copies_damaged" in plan, plan
            else:
                assert not any(line.lstrip("-> ").startswith("Sort") for line in plan.splitlines()), plan
    finally:
        a.close()
