"""Student transfer across two hoso instances (separate catalogs and stores; one dev PKI, so each trusts the other's
seal): export from the sending school, import into the receiving one; a changed file, a listing that differs from
the sealed slip, or a seal not registered for the sender refuse the whole package."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.context import Archive
from archive.errors import InvalidInput
from archive.models import Document, Event, Organisation
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

    # the registry: once T01's seal is registered for the receiving school, no fingerprint is typed
    unknown = run_cli("transfer", "import", str(out), "--school", "T01", env=take_env, check=False)
    assert unknown.returncode == 1 and "[transfer_seal_unknown]" in unknown.stderr
    run_cli("transfer", "sender", "add", "--school", "T01", "--sender", "T01", "--name", "THPT Minh Khai",
            "--seal", fingerprint, env=take_env)  # fmt: skip
    listed = json.loads(
        run_cli("transfer", "sender", "list", "--school", "T01", "--json", env=take_env).stdout
    )
    assert [(r["sender"], r["seal_sha256"]) for r in listed] == [("T01", fingerprint)]
    again = run_cli("transfer", "import", str(out), "--school", "T01", env=take_env)
    assert "từ T01" in again.stdout
    with receiver.sessions() as s:
        filed = s.scalars(select(Document).where(Document.title == "Học bạ Trần Thị Bình")).all()
        assert sorted(d.school.code for d in filed) == ["C01", "T01"]
    run_cli("transfer", "sender", "remove", str(listed[0]["id"]), env=take_env)
    assert run_cli("transfer", "sender", "list", "--json", env=take_env).stdout.strip() == "[]"


def test_registered_sender_is_accepted_without_a_typed_fingerprint(
    world: Archive, receiver: Archive, tmp_path: Path
) -> None:
    from archive.errors import Conflict
    from retention.transfer_senders import add_sender, list_senders, remove_sender

    doc = ingest(world, "T01", "hoc-ba", "Học bạ Lê Văn Cường", "10A3")
    seal = world.signing.seal_certificate()  # type: ignore[union-attr]
    assert seal is not None
    package = export_transfer(world, document_ids=[doc], student="Lê Văn Cường", out=tmp_path / "cuong.zip")

    # nobody registered and nothing typed: refused, nothing stored
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=package, school="C01")
    assert bad.value.code == "transfer_seal_unknown" and documents(receiver) == []

    with receiver.sessions() as s, s.begin():
        # the seal registered for another sender code: the package names T01, so it is refused
        wrong = add_sender(
            s, school="C01", sender_code="T99", sender_name="Trường khác", seal=seal[0], actor=None
        )
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=package, school="C01")
    assert bad.value.code == "transfer_sender_mismatch" and documents(receiver) == []
    with receiver.sessions() as s, s.begin():
        remove_sender(s, sender_id=wrong.id, actor=None)
        # typed with colons and upper case, as a certificate viewer shows it
        typed = ":".join(seal[0][i : i + 2] for i in range(0, 64, 2)).upper()
        add_sender(
            s,
            school="C01",
            sender_code="T01",
            sender_name="THPT Nguyễn Thị Minh Khai",
            seal=typed,
            actor=None,
        )
    with receiver.sessions() as s, s.begin(), pytest.raises(Conflict):
        add_sender(s, school="C01", sender_code="T01", sender_name="", seal=seal[0], actor=None)
    with receiver.sessions() as s, s.begin(), pytest.raises(InvalidInput):
        add_sender(s, school="C01", sender_code="T02", sender_name="", seal="xyz", actor=None)
    with receiver.sessions() as s:
        (only,) = list_senders(s)
        assert (only.school_code, only.sender_code, only.seal_sha256) == ("C01", "T01", seal[0])
        t01 = s.scalar(select(Organisation.id).where(Organisation.code == "T01"))
        assert list_senders(s, [t01]) == []

    # registered for C01 only: another receiving school still refuses it
    with pytest.raises(InvalidInput) as bad:
        import_transfer(receiver, package=package, school="T01")
    assert bad.value.code == "transfer_seal_unknown"

    done = import_transfer(receiver, package=package, school="C01")
    assert done.created == 1 and done.sending_school == "T01"
    with receiver.sessions() as s:
        event = s.scalar(select(Event).where(Event.action == "transfer.import"))
        assert event is not None and event.detail["registered_sender"] == "T01"
        actions = [e.action for e in s.scalars(select(Event).where(Event.action.like("transfer.sender%")))]
        assert actions == ["transfer.sender_add", "transfer.sender_remove", "transfer.sender_add"]
