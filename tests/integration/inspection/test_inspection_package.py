"""Inspection packages against a real catalog, replicas and the dev PKI: scope by the permission matrix, names,
SHA256SUMS, the sealed evidence report, byte ranges, the audit trail, and e-mail delivery in parts (aiosmtpd)."""

from __future__ import annotations

import email
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import signing
from archive.context import Archive
from archive.errors import InvalidInput, NotFound, PermissionDenied
from archive.models import Event
from archive.signatures import setup_of, sign_document
from retention.inspection import Selection, create_package, list_packages, open_package
from retention.inspection_mail import deliver_by_email
from tests.processes import free_port

from .conftest import ingest, user, whole


def test_so_inspector_gets_a_self_proving_package_of_one_school(world: Archive) -> None:
    a = world
    hb = ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A1", "10A1")
    sdb = ingest(a, "T01", "so-dang-bo", "Sổ đăng bộ")
    ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A1", "10A1")  # same title again: a second, distinct document
    ingest(a, "C01", "hoc-ba", "Học bạ THCS", "6A")  # a THCS school: not the Sở inspector's
    sign_document(a, hb, reason="Đóng dấu")
    so = user(a, "thanhtraso")

    pkg = create_package(a, selection=Selection.of(schools=["T01"], years=["2024-2025"]), actor=so)
    assert pkg.documents == 3
    data = whole(a, pkg.id, so)
    assert len(data) == pkg.zip_size
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        names = z.namelist()
        assert {"SHA256SUMS", "bao-cao-kiem-tra.pdf", "bao-cao-kiem-tra.json"} <= set(names)
        docs = [n for n in names if n.startswith("T01_")]
        assert "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf" in docs
        assert "T01_2024-2025_so-dang-bo_So-dang-bo.pdf" in docs
        assert len(docs) == 3 and all(n.isascii() for n in docs)  # the duplicate title got a distinct name
        sums = dict(reversed(line.split("  ", 1)) for line in z.read("SHA256SUMS").decode().splitlines())
        assert set(sums) == set(names) - {"SHA256SUMS"}
        for name, digest in sums.items():
            assert hashlib.sha256(z.read(name)).hexdigest() == digest, name
        listing = json.loads(z.read("bao-cao-kiem-tra.json"))
        report = z.read("bao-cao-kiem-tra.pdf")
    by_id = {f["document_id"]: f for f in listing["files"]}
    assert set(by_id) >= {hb, sdb}
    sealed = by_id[hb]
    assert (
        sealed["validation"]["verdict"] == "TOTAL_PASSED" and sealed["validation"]["verdict_vi"] == "Hợp lệ"
    )
    assert sealed["signatures"] and sealed["signatures"][0]["signer"]
    assert [c["state"] for c in sealed["copies"]] == ["ok", "ok", "ok"]
    assert all(c["verified_at"] for c in sealed["copies"])
    # the report proves itself offline: signed by the system's seal, trusted by the dev PKI's root
    verdict = signing.validate_pdf(report, setup_of(a).trust_roots)
    assert verdict.verdict == "TOTAL_PASSED", verdict.to_dict()
    import pikepdf

    with pikepdf.open(io.BytesIO(report)) as pdf:
        embedded = json.loads(pdf.attachments["bao-cao-kiem-tra.json"].get_file().read_bytes())
    assert embedded == listing

    with a.sessions() as s:
        actions = [e.action for e in s.scalars(select(Event).where(Event.action.like("inspection.%")))]
        included = s.scalars(select(Event.document_id).where(Event.action == "inspection.include")).all()
    assert actions.count("inspection.package") == 1 and actions.count("inspection.download") == 1
    assert set(included) == set(by_id)
    with a.sessions() as s:
        assert [p.id for p in list_packages(s, so)] == [pkg.id]


def test_ranges_resume_to_the_same_bytes(world: Archive) -> None:
    a = world
    for i in range(3):
        ingest(a, "T01", "so-ghi-dau-bai", f"Sổ ghi đầu bài {i}", f"11A{i}", size=60_000)
    so = user(a, "thanhtraso")
    pkg = create_package(a, selection=Selection.of(schools=["T01"]), actor=so)
    full = whole(a, pkg.id, so)
    cut = len(full) // 3
    first = b"".join(open_package(a, pkg.id, actor=so, start=0, end=cut - 1).chunks)
    rest = b"".join(open_package(a, pkg.id, actor=so, start=cut).chunks)
    assert first + rest == full


def test_scope_follows_the_permission_matrix(world: Archive) -> None:
    a = world
    ingest(a, "T01", "hoc-ba", "Học bạ THPT", "10A1")
    c01 = ingest(a, "C01", "hoc-ba", "Học bạ THCS", "6A")
    so, phong = user(a, "thanhtraso"), user(a, "thanhtraphong")
    with pytest.raises(PermissionDenied):
        create_package(a, selection=Selection.of(schools=["C01"]), actor=so)
    with pytest.raises(PermissionDenied):
        create_package(a, selection=Selection.of(documents=[c01]), actor=so)
    with pytest.raises(PermissionDenied):
        create_package(a, selection=Selection.of(schools=["T01"]), actor=phong)
    pkg = create_package(a, selection=Selection.of(schools=["C01"]), actor=phong)
    assert [f["document_id"] for f in pkg.files if f["kind"] == "document"] == [c01]
    with pytest.raises(NotFound):  # another person's package does not exist for them
        open_package(a, pkg.id, actor=so)
    with pytest.raises(InvalidInput) as nothing:
        create_package(a, selection=Selection.of(), actor=so)
    assert nothing.value.code == "nothing_selected"
    with pytest.raises(InvalidInput):
        create_package(a, selection=Selection.of(schools=["T01"], years=["1999-2000"]), actor=so)
    with a.sessions() as s:
        denied = s.scalars(select(Event).where(Event.action == "access.denied")).all()
    assert len(denied) >= 3


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook
        self.messages.append(envelope.content)
        return "250 OK"


def test_email_parts_reassemble_to_the_download(world: Archive) -> None:
    a = world
    for i in range(3):
        ingest(a, "T01", "so-ghi-dau-bai", f"Sổ {i}", f"12A{i}", size=120_000)
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        a.settings.smtp_host, a.settings.smtp_port = "127.0.0.1", port
        a.settings.inspection_mail_max_bytes = 150_000
        so = user(a, "thanhtraso")
        pkg = create_package(a, selection=Selection.of(schools=["T01"]), actor=so)
        delivery = deliver_by_email(a, pkg.id, actor=so)
    finally:
        controller.stop()
    assert delivery.to == "thanhtra@so.example"
    assert delivery.parts == len(inbox.messages) >= 3
    assert all(len(m) <= 150_000 for m in inbox.messages)
    parts: dict[int, bytes] = {}
    for raw in inbox.messages:
        msg = email.message_from_bytes(raw)
        n, total = map(int, msg["X-Hoso-Part"].split("/"))
        assert total == delivery.parts
        (att,) = [p for p in msg.walk() if p.get_filename()]
        assert att.get_filename() == f"{pkg.filename}.{n:03d}"
        parts[n] = att.get_payload(decode=True)
    assembled = b"".join(parts[n] for n in sorted(parts))
    assert assembled == whole(a, pkg.id, so)
    with a.sessions() as s:
        sent = s.scalars(select(Event).where(Event.action == "inspection.email")).all()
    assert [e.detail["part"] for e in sent] == list(range(1, delivery.parts + 1))
