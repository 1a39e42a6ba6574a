"""Disposal end to end: due list, propose, principal's approval, signed record archived first, then copies deleted,
tombstones kept, shared content kept, holds and store refusals stop or pause it."""

from __future__ import annotations

import json
from datetime import date
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

from archive.accounts import create_user, get_user
from archive.context import Archive
from archive.documents import open_content
from archive.errors import Conflict, InvalidInput, PermissionDenied, StorageDown
from archive.ingest import ingest_file
from archive.manifests import manifest_key
from archive.models import Document, Event, StoredObject, User, Version
from retention.disposal import (
    approve_batch,
    due_documents,
    execute_batch,
    propose_batch,
)
from retention.disposal_record import LISTING_NAME
from retention.holds import place_hold, release_hold
from retention.models import DisposalBatch, DisposedVersion
from storage import ObjectNotFound, content_key
from tests.factories import add_person

from .conftest import ingest_pdf

TODAY = date(2026, 3, 1)  # 2018-2019 class logbooks (THPT, 5 years) are disposable from 1/1/2025


@pytest.fixture(autouse=True)
def server_date(monkeypatch: pytest.MonkeyPatch) -> None:
    """Disposal is judged on the server's date only: travel in time through the one clock, never an argument."""
    monkeypatch.setattr("retention.clock.today", lambda: TODAY)


def fake_sign(pdf: bytes) -> bytes:
    """Stands in for the organisation's signature: a filled signature field, so ingest sees a signed PDF."""
    with pikepdf.open(BytesIO(pdf)) as doc:
        sig = doc.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"))
        )
        field = doc.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Seal"), V=sig))
        doc.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]), SigFlags=3)
        out = BytesIO()
        doc.save(out)
    return out.getvalue()


def user(a: Archive, name: str) -> User:
    with a.sessions() as s:
        return get_user(s, name)


def listing_of(a: Archive, record_id: str) -> dict:
    data = b"".join(open_content(a, record_id).chunks)
    with pikepdf.open(BytesIO(data)) as doc:
        return json.loads(doc.attachments[LISTING_NAME].get_file().read_bytes())


def in_any_store(a: Archive, key: str) -> bool:
    found = False
    for store in a.replicas.stores:
        try:
            store.head(key)
            found = True
        except ObjectNotFound:
            pass
    return found


def test_full_disposal(catalog: Archive, tmp_path: Path):
    a = catalog
    old1 = ingest_pdf(a, tmp_path, title="Sổ ghi đầu bài 12A1 (2018-2019)")
    old2 = ingest_pdf(a, tmp_path, title="Sổ ghi đầu bài 12A2 (2018-2019)")
    recent = ingest_pdf(a, tmp_path, year="2023-2024")
    # the same bytes as old1 filed again under another type: a live document sharing old1's content
    src = tmp_path / "shared.pdf"
    src.write_bytes(b"".join(open_content(a, old1.document.id).chunks))
    shared = ingest_file(a, src, filename="bản sao.pdf", school="T01", type_code="khac", year="2018-2019")
    assert shared.created and shared.version.sha256 == old1.version.sha256

    with a.sessions() as s:
        due = due_documents(s, TODAY)
    assert {d.document_id for d in due} == {old1.document.id, old2.document.id}
    assert all(d.disposable_from == date(2025, 1, 1) and d.retention == "5 years" for d in due)

    with a.sessions() as s, s.begin():
        clerk = create_user(s, username="vanthu")
        with pytest.raises(PermissionDenied):
            propose_batch(s, school="T01", user=clerk)
        with pytest.raises(InvalidInput) as e:
            propose_batch(s, school="T01", user=get_user(s, "admin"), document_ids=[recent.document.id])
        assert e.value.code == "not_due"
        batch = propose_batch(s, school="T01", user=get_user(s, "admin"))
    assert {i.document_id for i in batch.items} == {old1.document.id, old2.document.id}
    with a.sessions() as s, s.begin():
        with pytest.raises(Conflict):  # the same documents cannot go into a second batch
            propose_batch(s, school="T01", user=get_user(s, "admin"), document_ids=[old2.document.id])

    with pytest.raises(Conflict):  # not approved yet
        execute_batch(a, batch_id=batch.id, sign=fake_sign)
    with a.sessions() as s, s.begin():
        with pytest.raises(PermissionDenied):
            approve_batch(s, batch_id=batch.id, user=get_user(s, "vanthu"))
        approved = approve_batch(s, batch_id=batch.id, user=get_user(s, "admin"))
    assert approved.status == "approved" and approved.approved_by == "admin"

    result = execute_batch(a, batch_id=batch.id, sign=fake_sign, user=user(a, "admin"))
    assert result.status == "executed" and result.record_signed and not result.failures
    assert result.kept_shared == (content_key(old1.version.sha256),)

    # the record: archived permanently as bien-ban-tieu-huy, signed, listing every file and its checksum
    assert result.record_document_id is not None
    with a.sessions() as s:
        rec = s.get(Document, result.record_document_id)
        assert rec is not None and rec.type_code == "bien-ban-tieu-huy" and rec.status == "active"
        assert rec.current is not None and rec.current.signed
    listing = listing_of(a, result.record_document_id)
    files = {(i["document_id"], v["sha256"]) for i in listing["items"] for v in i["versions"]}
    assert files == {(old1.document.id, old1.version.sha256), (old2.document.id, old2.version.sha256)}
    assert listing["approved_by"] == "admin" and listing["warning"] is None

    # tombstones: documents and version rows stay, marked disposed
    with a.sessions() as s:
        for r in (old1, old2):
            doc = s.get(Document, r.document.id)
            assert doc is not None and doc.status == "disposed" and len(doc.versions) == 1
        tomb = {dv.version_id: dv for dv in s.scalars(select(DisposedVersion))}
        assert tomb[old1.version.id].content_kept and not tomb[old2.version.id].content_kept
        assert (
            s.scalar(select(StoredObject).where(StoredObject.key == content_key(old2.version.sha256))) is None
        )
        actions = [e.action for e in s.scalars(select(Event).order_by(Event.id))]
        assert actions.count("document.dispose") == 2 and "disposal.executed" in actions
        assert actions.index("disposal.execute") > actions.index("disposal.approve")
        assert s.get(DisposalBatch, batch.id).status == "executed"  # type: ignore[union-attr]
        # the record was archived before anything was deleted
        ingest_ev = s.scalar(
            select(Event).where(Event.action == "document.ingest", Event.document_id == rec.id)
        )
        dispose_ev = s.scalars(select(Event).where(Event.action == "document.dispose")).first()
        assert ingest_ev is not None and dispose_ev is not None and ingest_ev.id < dispose_ev.id

    # copies: old2's content and both manifests gone everywhere; old1's bytes kept for the live copy
    assert not in_any_store(a, content_key(old2.version.sha256))
    assert not in_any_store(a, manifest_key(old1.document.id, 1))
    assert not in_any_store(a, manifest_key(old2.document.id, 1))
    assert in_any_store(a, content_key(old1.version.sha256))
    assert b"".join(open_content(a, shared.document.id).chunks)
    assert in_any_store(a, manifest_key(recent.document.id, 1))
    with a.sessions() as s:
        assert {d.document_id for d in due_documents(s, TODAY)} == set()


def test_unsigned_record_carries_a_warning(catalog: Archive, tmp_path: Path):
    a = catalog
    r = ingest_pdf(a, tmp_path)
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))
    result = execute_batch(a, batch_id=b.id, sign=None)
    assert result.status == "executed" and not result.record_signed
    assert result.record_document_id is not None
    listing = listing_of(a, result.record_document_id)
    assert "NOT SIGNED" in listing["warning"] and "CHƯA KÝ SỐ" in listing["warning"]
    assert not in_any_store(a, content_key(r.version.sha256))


def test_hold_after_approval_stops_execution_until_released(catalog: Archive, tmp_path: Path):
    a = catalog
    r = ingest_pdf(a, tmp_path)
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))
    held = place_hold(
        a, document_id=r.document.id, reason="inspection", reference="QĐ 15/QĐ-TTr", user=user(a, "admin")
    )
    # memory stores have Object Lock: the hold reached every copy
    assert {o.store for o in held.stores if o.ok} == {st.url for st in a.replicas.stores}
    assert all(st.head(content_key(r.version.sha256)).legal_hold for st in a.replicas.stores)
    with a.sessions() as s:
        assert due_documents(s, TODAY) == []
    with pytest.raises(Conflict) as e:
        execute_batch(a, batch_id=b.id, sign=fake_sign)
    assert e.value.code == "no_longer_due" and "legal_hold" in e.value.message_en
    with a.sessions() as s:
        assert s.get(Document, r.document.id).status == "active"  # type: ignore[union-attr]
        assert s.scalar(select(Document).where(Document.type_code == "bien-ban-tieu-huy")) is None
    assert in_any_store(a, content_key(r.version.sha256))

    release_hold(a, hold_id=held.hold.id, user=user(a, "admin"), note="Kết thúc thanh tra")
    assert not any(st.head(content_key(r.version.sha256)).legal_hold for st in a.replicas.stores)
    assert execute_batch(a, batch_id=b.id, sign=fake_sign).status == "executed"
    assert not in_any_store(a, content_key(r.version.sha256))


def test_store_refusal_leaves_the_batch_resumable(catalog: Archive, tmp_path: Path):
    a = catalog
    r = ingest_pdf(a, tmp_path)
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=b.id, user=get_user(s, "admin"))
    down = a.replicas.stores[2]
    down.available = False  # type: ignore[attr-defined]
    with pytest.raises(StorageDown):  # the record cannot be archived in every replica: nothing happens
        execute_batch(a, batch_id=b.id, sign=fake_sign)
    down.available = True  # type: ignore[attr-defined]
    with a.sessions() as s:
        assert s.get(Document, r.document.id).status == "active"  # type: ignore[union-attr]
        assert s.get(DisposalBatch, b.id).status == "approved"  # type: ignore[union-attr]
    # a store that refuses the delete (a hold set on the store side, outside hoso): the batch pauses, resumable
    key = content_key(r.version.sha256)
    locked = a.replicas.stores[1]
    locked.set_legal_hold(key, True)
    first = execute_batch(a, batch_id=b.id, sign=fake_sign)
    assert first.status == "executing"
    assert {(f.store, f.key) for f in first.failures} == {(locked.url, key)}
    with a.sessions() as s:
        assert s.get(Document, r.document.id).status == "disposed"  # type: ignore[union-attr]
    locked.set_legal_hold(key, False)
    again = execute_batch(a, batch_id=b.id, sign=fake_sign)
    assert again.status == "executed" and not again.failures
    assert again.record_document_id == first.record_document_id  # no second record
    assert not in_any_store(a, content_key(r.version.sha256))
    with a.sessions() as s:
        assert len(list(s.scalars(select(Document).where(Document.type_code == "bien-ban-tieu-huy")))) == 1
        assert s.scalar(select(Version).where(Version.id == r.version.id)) is not None


def test_principal_approves_only_for_their_school(catalog: Archive, tmp_path: Path):
    a = catalog
    ingest_pdf(a, tmp_path)
    with a.sessions() as s, s.begin():
        add_person(s, "ht.t01", ("hieu_truong", "T01"))
        add_person(s, "ht.c01", ("hieu_truong", "C01"))
        add_person(s, "vt.t01", ("van_thu", "T01"))
    with a.sessions() as s, s.begin():
        b = propose_batch(s, school="T01", user=get_user(s, "vt.t01"))
        assert b.proposed_by == "vt.t01"
    with a.sessions() as s, s.begin():
        for name in ("vt.t01", "ht.c01"):
            with pytest.raises(PermissionDenied):
                approve_batch(s, batch_id=b.id, user=get_user(s, name))
        assert approve_batch(s, batch_id=b.id, user=get_user(s, "ht.t01")).approved_by == "ht.t01"


def test_two_executions_of_one_batch_tombstone_once(
    catalog: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two `execute` commands racing past the status check: the second is refused with a clear Conflict (not a
    duplicate-key error), and the copies stop being tracked exactly once."""
    import retention.disposal as disposal
    from archive.models import ReplicaCopy

    a = catalog
    old = ingest_pdf(a, tmp_path)
    with a.sessions() as s, s.begin():
        batch = propose_batch(s, school="T01", user=get_user(s, "admin"))
        approve_batch(s, batch_id=batch.id, user=get_user(s, "admin"))

    real_record_pdf = disposal._record_pdf
    raced: list[str] = []

    def record_pdf_while_another_executes(*args, **kw):  # type: ignore[no-untyped-def]
        if not raced:  # the first execution has read "approved"; the other one now runs to the end
            raced.append("x")
            other = execute_batch(a, batch_id=batch.id, sign=fake_sign, user=user(a, "admin"))
            assert other.status == "executed"
        return real_record_pdf(*args, **kw)

    monkeypatch.setattr(disposal, "_record_pdf", record_pdf_while_another_executes)
    with pytest.raises(Conflict) as e:
        execute_batch(a, batch_id=batch.id, sign=fake_sign, user=user(a, "admin"))
    assert e.value.code == "bad_batch_state"
    with a.sessions() as s:
        assert s.get(DisposalBatch, batch.id).status == "executed"  # type: ignore[union-attr]
        assert len(list(s.scalars(select(DisposedVersion)))) == 1
        gone = [content_key(old.version.sha256), manifest_key(old.document.id, 1)]
        assert s.scalars(select(StoredObject).where(StoredObject.key.in_(gone))).first() is None
        tracked = set(s.scalars(select(ReplicaCopy.object_id)))
        assert tracked == set(s.scalars(select(StoredObject.id)))  # no copy row left without its object
    # executing an executed batch again: the same clear refusal
    with pytest.raises(Conflict) as e:
        execute_batch(a, batch_id=batch.id, sign=fake_sign)
    assert e.value.code == "bad_batch_state"
