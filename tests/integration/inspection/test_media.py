"""Offline media (issue 13 "Done when"): a bag exported, copied, one byte flipped — `hoso verify media` names the
file; untouched it passes bagit's own validation. The label is sealed; the register reminds after 3 years."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import bagit
import pikepdf
import pytest

import signing
from archive.context import Archive
from archive.db import utcnow
from archive.errors import Conflict, PermissionDenied
from archive.signatures import setup_of
from retention.media import LABEL, export_media, register, remind_due_media, verify_media
from tests.factories import add_person, archive_env
from tests.processes import run_cli

from .conftest import ingest, user


def test_bag_passes_bagit_and_a_flipped_byte_is_named(world: Archive, tmp_path: Path) -> None:
    a = world
    add_person(a, "hieutruong_t01", ("hieu_truong", "T01"), full_name="Phạm Văn Hiệu")
    ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A1", "10A1")
    ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A2", "10A2")
    ingest(a, "T01", "so-dang-bo", "Sổ đăng bộ")  # another type: not asked for
    env = archive_env(a, HOSO_BASE_URL=a.settings.base_url)
    out = tmp_path / "usb"
    done = run_cli("export", "media", "--school", "T01", "--year", "2024-2025", "--type", "hoc-ba", "--out", str(out),
                   env=env)  # fmt: skip
    assert "Đã ghi 2 tệp" in done.stdout

    bag = bagit.Bag(str(out))
    assert bag.is_valid()  # bagit's own validation, every algorithm
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["Organization-Code"] == "T01" and bag.info["Document-Count"] == "2"
    assert sorted(Path(p).name for p in bag.payload_files()) == [
        "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf", "T01_2024-2025_hoc-ba_10A2_Hoc-ba-lop-10A2.pdf",
        "danh-sach.json",
    ]  # fmt: skip
    label = (out / LABEL).read_bytes()
    assert signing.validate_pdf(label, setup_of(a).trust_roots).verdict == "TOTAL_PASSED"
    with pikepdf.open(out / LABEL) as pdf:
        facts = json.loads(pdf.attachments["nhan.json"].get_file().read_bytes())
    assert facts["principal"] == "Phạm Văn Hiệu" and facts["documents"] == 2
    assert run_cli("verify", "media", str(out), env=env).returncode == 0

    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    victim = copy / "data" / "T01_2024-2025_hoc-ba_10A2_Hoc-ba-lop-10A2.pdf"
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x20
    victim.write_bytes(bytes(data))
    checked = run_cli("verify", "media", str(copy), env={}, check=False)  # no catalog, no settings at all
    assert checked.returncode == 1
    assert "data/T01_2024-2025_hoc-ba_10A2_Hoc-ba-lop-10A2.pdf" in checked.stderr
    assert "10A1" not in checked.stderr
    report = verify_media(copy)
    assert not report.intact and {p.path for p in report.problems} == {
        "data/T01_2024-2025_hoc-ba_10A2_Hoc-ba-lop-10A2.pdf"
    }
    assert run_cli("verify", "media", str(tmp_path), env={}, check=False).returncode == 2  # not a bag


def test_register_scope_and_reminder(world: Archive, tmp_path: Path) -> None:
    a = world
    ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A1", "10A1")
    ingest(a, "C01", "hoc-ba", "Học bạ THCS", "6A")
    with pytest.raises(PermissionDenied):
        export_media(a, school="C01", year="2024-2025", out=tmp_path / "x", actor=user(a, "thanhtraso"))
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    done = export_media(a, school="T01", year="2024-2025", out=tmp_path / "cd", actor=user(a, "thanhtraso"))
    assert done.documents == 1
    with pytest.raises(Conflict):  # never writes over a medium
        export_media(a, school="T01", year="2024-2025", out=tmp_path / "cd")
    with a.sessions() as s:
        (row,) = register(s)
        assert row["school"] == "T01" and not row["due"]
        assert register(s, now=utcnow() + timedelta(days=3 * 365 + 1))[0]["due"]
    assert remind_due_media(a) == []
    due = remind_due_media(a, now=utcnow() + timedelta(days=3 * 365 + 1))
    assert [m["id"] for m in due] == [done.id]
