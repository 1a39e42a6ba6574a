"""Damage on real folder stores is detected and repaired from a verified copy: bit flip, truncation, deletion,
a store that is down (and comes back), and damage with no intact copy left (reported, never "repaired")."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.context import Archive
from archive.models import Event, ReplicaCopy, StoredObject
from retention.fixity import FixityReport, fixity_status, full_run, light_run
from storage import content_key

from .conftest import COPIES_PER_UPLOAD, OBJECTS_PER_UPLOAD, folder_archive, ingest_pdf, store_path

FAST = {"retry_delay": 0.01}


def states(a: Archive, key: str) -> list[str]:
    with a.sessions() as s:
        return list(
            s.scalars(
                select(ReplicaCopy.state)
                .join(StoredObject)
                .where(StoredObject.key == key)
                .order_by(ReplicaCopy.store_url)
            )
        )


def actions(a: Archive, after: int = 0) -> list[str]:
    with a.sessions() as s:
        return list(s.scalars(select(Event.action).where(Event.id > after).order_by(Event.id)))


def d_url(a: Archive, i: int) -> str:
    return a.settings.replica_urls[i]


def last_event_id(a: Archive) -> int:
    with a.sessions() as s:
        return s.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0


def test_bit_flip_needs_the_full_check_and_is_repaired(farchive: Archive, tmp_path: Path):
    r = ingest_pdf(farchive, tmp_path)
    key = content_key(r.version.sha256)
    path = store_path(farchive, 1, key)
    good = path.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x04
    path.write_bytes(bytes(flipped))
    before = last_event_id(farchive)

    light = light_run(farchive, **FAST)
    assert light.clean and not light.damage  # same size, same recorded checksum: invisible to a light check

    report = full_run(farchive, **FAST)
    assert isinstance(report, FixityReport)
    assert [d.state for d in report.damage] == ["corrupt"]
    d = report.damage[0]
    assert d.key == key and d.store == farchive.settings.replica_urls[1] and d.repaired
    assert d.expected == r.version.sha256 and d.found == hashlib.sha256(bytes(flipped)).hexdigest()
    assert d.documents[0].document_id == r.document.id and d.documents[0].filename == "Học bạ 10A1.pdf"
    assert path.read_bytes() == good
    assert (
        report.clean
        and report.copies_checked == COPIES_PER_UPLOAD
        and report.objects_checked == OBJECTS_PER_UPLOAD
    )
    assert report.bytes_checked >= 3 * len(good)
    assert actions(farchive, before) == ["fixity.run", "replica.damage", "replica.repair", "fixity.run"]
    assert states(farchive, key) == ["ok"] * 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.copies_checked = 0  # type: ignore[misc]


def test_truncation_is_found_by_the_light_check_and_repaired(farchive: Archive, tmp_path: Path):
    r = ingest_pdf(farchive, tmp_path)
    key = content_key(r.version.sha256)
    path = store_path(farchive, 2, key)
    good = path.read_bytes()
    path.write_bytes(good[:1000])

    report = light_run(farchive, **FAST)
    assert [(d.state, d.repaired) for d in report.damage] == [("corrupt", True)]
    assert path.read_bytes() == good and report.clean


def test_deleted_copy_is_found_and_rewritten(farchive: Archive, tmp_path: Path):
    r = ingest_pdf(farchive, tmp_path)
    key = content_key(r.version.sha256)
    path = store_path(farchive, 0, key)
    good = path.read_bytes()
    path.unlink()

    report = light_run(farchive, **FAST)
    assert [(d.state, d.repaired) for d in report.damage] == [("missing", True)]
    assert path.read_bytes() == good
    with farchive.sessions() as s:
        copy = s.scalars(
            select(ReplicaCopy)
            .join(StoredObject)
            .where(StoredObject.key == key, ReplicaCopy.store_url == d_url(farchive, 0))
        ).one()
        assert copy.state == "ok" and copy.verified_at is not None  # the repaired copy was re-hashed


def test_a_store_that_is_down_is_reported_then_repaired_when_it_comes_back(tmp_path: Path):
    a = folder_archive(tmp_path, min_replicas=2)
    try:
        root = Path(d_url(a, 2).removeprefix("file://"))
        away = root.with_name("copy3-unplugged")
        root.rename(away)  # the disk is gone while a document arrives
        r = ingest_pdf(a, tmp_path)
        key = content_key(r.version.sha256)
        assert states(a, key) == ["ok", "ok", "unreachable"]

        down = light_run(a, **FAST)
        assert down.stores_down == (d_url(a, 2),)
        # every object's copy on the missing disk
        assert not down.clean and down.remaining_damage == OBJECTS_PER_UPLOAD
        assert {d.state for d in down.unrepairable} == {"unreachable"}

        away.rename(root)  # plugged back in: the copies were never written there
        back = light_run(a, **FAST)
        assert back.stores_down == ()
        assert sorted((d.state, d.repaired) for d in back.damage) == [("missing", True)] * OBJECTS_PER_UPLOAD
        assert back.clean and states(a, key) == ["ok"] * 3
        assert store_path(a, 2, key).read_bytes() == store_path(a, 0, key).read_bytes()
    finally:
        a.close()


def test_no_intact_copy_is_reported_not_repaired(farchive: Archive, tmp_path: Path):
    r = ingest_pdf(farchive, tmp_path)
    key = content_key(r.version.sha256)
    for i in range(3):
        p = store_path(farchive, i, key)
        p.write_bytes(p.read_bytes()[:-10] + b"0123456789")  # same size, different bytes everywhere
    report = full_run(farchive, **FAST)
    assert len(report.unrepairable) == 3 and not report.repaired and not report.clean
    assert all("no intact copy" in d.repair_detail for d in report.unrepairable)
    assert all(d.documents[0].document_id == r.document.id for d in report.unrepairable)
    st = fixity_status(farchive)
    assert dict(st.by_state)["corrupt"] == 3 and not st.healthy

    again = full_run(farchive, **FAST)  # still damaged: reported again, but no new damage events
    before = last_event_id(farchive)
    third = full_run(farchive, **FAST)
    assert len(again.unrepairable) == len(third.unrepairable) == 3
    assert actions(farchive, before) == ["fixity.run"]


def test_a_damaged_manifest_is_repaired_too(farchive: Archive, tmp_path: Path):
    r = ingest_pdf(farchive, tmp_path)
    mkey = f"manifests/{r.document.id}"
    root = store_path(farchive, 0, "")
    manifests = [p for p in root.rglob("*") if p.is_file() and mkey in str(p)]
    assert manifests, "expected the manifest in the folder store"
    manifests[0].unlink()
    report = light_run(farchive, **FAST)
    assert [(d.state, d.repaired) for d in report.damage] == [("missing", True)]
    assert report.damage[0].documents[0].document_id == r.document.id


def test_status_counts_and_oldest_verification(farchive: Archive, tmp_path: Path):
    ingest_pdf(farchive, tmp_path)
    st = fixity_status(farchive)
    assert (
        st.total_copies == COPIES_PER_UPLOAD and dict(st.by_state) == {"ok": COPIES_PER_UPLOAD} and st.healthy
    )
    assert st.oldest_verified_at is not None and st.overdue == 0


def test_pending_copies_get_their_first_full_check_without_an_event_each(farchive: Archive, tmp_path: Path):
    """A catalog rebuild lists copies as "pending": the next run verifies them quietly (the summary counts them)."""
    ingest_pdf(farchive, tmp_path)
    with farchive.sessions() as s, s.begin():
        for copy in s.scalars(select(ReplicaCopy)):
            copy.state, copy.verified_at, copy.checked_at = "pending", None, None
    before = last_event_id(farchive)
    report = light_run(farchive, **FAST)
    assert report.clean and report.bytes_checked > 0  # escalated to full re-hashes
    assert actions(farchive, before) == ["fixity.run"]
    with farchive.sessions() as s:
        assert set(s.scalars(select(ReplicaCopy.state))) == {"ok"}
        assert None not in set(s.scalars(select(ReplicaCopy.verified_at)))
