"""Student transfer across two hoso instances (separate catalogs and stores; one dev PKI, so each trusts the other's
seal): export from the sending school, import into the receiving one; a changed file, a listing that differs from
the sealed slip, or a seal not registered for the sender refuse the whole package."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.context import Archive
from archive.errors import InvalidInput
from archive.models import Document, Event
from archive.signatures import sign_document
from retention.transfer import export_transfer, import_transfer
from tests.factories import dev_pki_archive, folder_replicas

from .conftest import ingest


@pytest.fixture
def receiver(tmp_path: Path, pki_dir: tuple[Path, str]) -> Iterator[Archive]:
    other = tmp_path / "receiver"
    other.mkdir()
    with dev_pki_archive(other, pki_dir, replicas=folder_replicas(other / "stores")) as a:
        yield a


def rewrite(src: Path, dst: Path, name: str, change: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info.filename, data + change if info.filename == name else data)


def documents(a: Archive) -> list[Document]:
    with a.sessions() as s:
        return list(s.scalars(select(Document)))


def test_transfer_between_two_instances(world: Archive, receiver: Archive, tmp_path: Path) -> None:
    sender = world
    hb10 = ingest(sender, "T01", "hoc-ba", "Học bạ Nguyễn Văn An — lớp 10", "10A1")
    hb11 = ingest(sender, "T01", "hoc-ba", "Học bạ Nguyễn Văn An — lớp 11", "11A1")
    sign_document(sender, hb10, reason="Đóng dấu")
    seal = sender.signing.seal_certificate()  # type: ignore[union-attr]
    assert seal is not None
    package = export_transfer(
        sender, document_ids=[hb10, hb11], student="Nguyễn Văn An", out=tmp_path / "an.zip"
    )

    # tampered packages are refused before anything is stored
    changed = tmp_path / "changed.zip"
    rewrite(package, changed, "ho-so/T01_2024-2025_hoc-ba_11A1_Hoc-ba-Nguyen-Van-An-lop-11.pdf", b"%%EOF\n")
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=changed, school="C01", sender_seal_sha256=seal[0])
    assert bad.value.code == "transfer_tampered"
    relisted = tmp_path / "relisted.zip"
    rewrite(package, relisted, "ho-so-chuyen.json", b" ")
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=relisted, school="C01", sender_seal_sha256=seal[0])
    assert bad.value.code == "transfer_tampered"
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=package, school="C01", sender_seal_sha256="0" * 64)
    assert bad.value.code == "transfer_seal_unknown"
    assert documents(receiver) == []

    done = import_transfer(receiver, package=package, school="C01", sender_seal_sha256=seal[0])
    assert done.created == 2 and done.sending_school == "T01"
    got = {d.title: d for d in documents(receiver)}
    with sender.sessions() as s:
        sent = {d.title: d.current.sha256 for d in s.scalars(select(Document))}  # type: ignore[union-attr]
    with receiver.sessions() as s:
        for title, doc in got.items():
            d = s.get(Document, doc.id)
            assert d is not None and d.school.code == "C01" and d.current is not None
            assert d.current.sha256 == sent[title]  # the signed bytes, unchanged
        signed = s.scalar(select(Document).where(Document.title.like("%lớp 10")))
        assert signed is not None and signed.current is not None and signed.current.signed
        events = s.scalars(select(Event).where(Event.action == "transfer.import")).all()
    assert len(events) == 2
    provenance = events[0].detail
    assert provenance["sending_school"]["code"] == "T01" and provenance["student"] == "Nguyễn Văn An"
    assert provenance["original_document_id"] in (hb10, hb11) and provenance["versions"]


def test_transfer_from_the_command_line(world: Archive, receiver: Archive, tmp_path: Path) -> None:
    from tests.factories import archive_env
    from tests.processes import run_cli

    doc = ingest(world, "T01", "hoc-ba", "Học bạ Trần Thị Bình", "10A2")
    send_env = archive_env(world, HOSO_BASE_URL=world.settings.base_url)
    take_env = archive_env(receiver, HOSO_BASE_URL=receiver.settings.base_url)
    fingerprint = run_cli("transfer", "seal", env=send_env).stdout.split()[0]
    out = tmp_path / "binh.zip"
    run_cli(
        "transfer", "export", "--document", doc, "--student", "Trần Thị Bình", "--out", str(out), env=send_env
    )
    wrong = run_cli("transfer", "import", str(out), "--school", "C01", "--sender-seal", "ab" * 32, env=take_env,
                    check=False)  # fmt: skip
    assert wrong.returncode == 1 and "[transfer_seal_unknown]" in wrong.stderr
    done = run_cli(
        "transfer", "import", str(out), "--school", "C01", "--sender-seal", fingerprint, env=take_env
    )
    assert "từ T01" in done.stdout
    (received,) = [d for d in documents(receiver) if d.title == "Học bạ Trần Thị Bình"]
    assert received.id in done.stdout
