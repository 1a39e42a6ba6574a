"""Signed check records: a damaged copy found and repaired by a full fixity run shows in the biên bản (with the copy
it was repaired from), an unrepairable one in the faulty-file list; the PDF is sealed and kept; a cycle record comes
only once a full-check period has passed."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

import signing
from archive.context import Archive
from archive.db import utcnow
from archive.errors import InvalidInput
from archive.models import Event, StoredObject
from archive.signatures import setup_of
from retention.check_records import due_cycle_record, list_records, make_check_record, record_pdf
from retention.fixity import full_run
from storage import content_key

from .conftest import ingest


def damage(a: Archive, index: int, key: str, *, remove: bool = False) -> None:
    path = Path(a.settings.replica_urls[index].removeprefix("file://")) / key
    if remove:
        path.unlink()
    else:
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))


def sha_of(a: Archive, doc_id: str) -> str:
    from archive.models import Document

    with a.sessions() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and doc.current is not None
        return doc.current.sha256


def test_record_lists_repairs_and_faulty_files_and_is_sealed(world: Archive) -> None:
    a = world
    started = utcnow() - timedelta(seconds=5)
    one, two = ingest(a, "T01", "hoc-ba", "Học bạ 10A1", "10A1"), ingest(a, "T01", "so-dang-bo", "Sổ đăng bộ")
    damage(a, 1, content_key(sha_of(a, one)))
    for i in range(3):  # every copy of the second file gone: nothing to repair from
        damage(a, i, content_key(sha_of(a, two)), remove=True)
    report = full_run(a, retry_delay=0.01, alert=False)
    assert len(report.damage) == 4

    rec = make_check_record(a, start=started)
    s = rec.summary
    assert (s["damage_found"], s["repaired"], s["unrepaired"]) == (4, 1, 3)
    assert s["copies_checked"] >= 12 and s["runs"] == 1 and s["full_runs"] == 1
    (repair,) = s["repairs"]
    assert (
        repair["store"] == 2 and repair["source"] in (1, 3) and repair["key"] == content_key(sha_of(a, one))
    )
    assert sorted(d["store"] for d in s["damage"]) == [1, 2, 3]
    assert all(d["state"] == "missing" and two in d["documents"] for d in s["damage"])
    assert [st["position"] for st in s["stores"]] == [1, 2, 3]

    _, pdf = record_pdf(a, rec.id)
    assert signing.validate_pdf(pdf, setup_of(a).trust_roots).verdict == "TOTAL_PASSED"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        embedded = json.loads(doc.attachments["bien-ban-kiem-tra.json"].get_file().read_bytes())
    assert embedded["unrepaired"] == 3
    with a.sessions() as session:
        kept = session.scalar(select(StoredObject).where(StoredObject.key == rec.key))
        assert kept is not None and kept.kind == "export" and len(kept.copies) == 3
        assert [r.id for r in list_records(session)] == [rec.id]
        assert session.scalar(select(Event).where(Event.action == "fixity.check_record")) is not None
    with pytest.raises(InvalidInput):
        make_check_record(a, start=utcnow() + timedelta(days=1))


def test_cycle_record_only_after_a_full_period(world: Archive) -> None:
    a = world
    ingest(a, "T01", "hoc-ba", "Học bạ 10A1", "10A1")
    assert due_cycle_record(a) is None  # no fixity run yet: nothing to report on
    full_run(a, retry_delay=0.01, alert=False)
    assert due_cycle_record(a) is None  # the period has only begun
    later = utcnow() + timedelta(days=a.settings.fixity_full_period_days, hours=1)
    rec = due_cycle_record(a, now=later)
    assert rec is not None and rec.trigger == "cycle" and rec.summary["runs"] == 1
    assert due_cycle_record(a, now=later + timedelta(days=1)) is None  # the next one a period later
