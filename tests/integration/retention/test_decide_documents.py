"""decide_documents (the due list, the Object Lock sync) decides exactly as decide_document, one document at a time,
with a constant number of statements per chunk of documents instead of two per document."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import joinedload

from archive.accounts import get_user
from archive.context import Archive
from archive.models import Document
from retention import schedules
from retention.holds import place_hold
from retention.schedules import decide_document, decide_documents, load_schedules, set_event_date

from .conftest import ingest_pdf


def test_batched_decisions_equal_single_ones_across_chunks(
    catalog: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    docs = [
        ingest_pdf(catalog, tmp_path, year=y) for y in ("2017-2018", "2018-2019", "2021-2022", "2024-2025")
    ]
    docs.append(ingest_pdf(catalog, tmp_path, type_code="hoc-ba", year="2018-2019"))
    with catalog.sessions() as s:
        admin = get_user(s, "admin")
    place_hold(catalog, document_id=docs[1].document.id, reason="inspection", reference="QĐ 1", user=admin)
    with catalog.sessions() as s, s.begin():
        set_event_date(
            s,
            document_id=docs[4].document.id,
            occurred_on=date(2020, 6, 1),
            source="test",
            user=get_user(s, "admin"),
        )
    monkeypatch.setattr(schedules, "FACTS_CHUNK", 2)  # five documents: chunks of 2, 2 and 1
    today = date(2026, 12, 3)
    with catalog.sessions() as s:
        rows = list(s.scalars(select(Document).options(joinedload(Document.school)).order_by(Document.id)))
        loaded = load_schedules(s)
        single = {d.id: decide_document(s, d, today, loaded) for d in rows}
        count = [0]

        def counted(*_: object) -> None:
            count[0] += 1

        event.listen(catalog.engine, "before_cursor_execute", counted)
        try:
            batched = {d.id: decision for d, decision in decide_documents(s, rows, today, loaded)}
        finally:
            event.remove(catalog.engine, "before_cursor_execute", counted)
    assert batched == single
    assert len(batched) == 5
    assert batched[docs[1].document.id].holds  # the hold was found in its chunk
    assert not batched[docs[0].document.id].holds
    assert count[0] == 2 * 3  # holds and event dates, once per chunk
