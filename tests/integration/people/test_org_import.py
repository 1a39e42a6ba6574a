"""`hoso org import FILE.csv`: idempotent, every bad line reported with its number, nothing half-imported."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import orgs
from archive.context import Archive
from archive.errors import InvalidInput
from archive.models import Organisation
from tests.factories import archive_env, folder_replicas, make_archive
from tests.processes import run_cli

GOOD = """code,name,kind,level,parent
79-Q3,Phòng GDĐT Quận Ba,phong,,79
C31,Trường THCS Quận Ba,truong,THCS,79-Q3
M32,Trường TH-THCS-THPT Quận Ba,truong,"THCS,THPT",79-Q3
T01,Trường THPT Nguyễn Thị Minh Khai,truong,THPT,79
"""


def _count(a: Archive) -> int:
    with a.sessions() as s:
        return s.scalar(select(func.count()).select_from(Organisation)) or 0


def test_import_is_idempotent_and_orders_parents_first(archive: Archive):
    child_first = GOOD.splitlines()
    text = "\n".join(
        [child_first[0], child_first[2], child_first[1], *child_first[3:]]
    )  # school before its Phòng
    with archive.sessions() as s, s.begin():
        result = orgs.import_csv(s, text)
    assert sorted(result.created) == ["79-Q3", "C31", "M32"] and result.unchanged == ["T01"]
    with archive.sessions() as s:
        m32 = orgs.get_organisation(s, "M32")
        assert (m32.level, m32.parent.code, m32.parent.parent.code) == ("THCS,THPT", "79-Q3", "79")
    before = _count(archive)
    with archive.sessions() as s, s.begin():
        again = orgs.import_csv(s, text)
    assert again.created == [] and _count(archive) == before


def test_every_bad_line_is_reported_and_nothing_is_imported(archive: Archive):
    text = GOOD + "\n".join(
        [
            "X1,Trường không cấp học,truong,,79",
            "X2,Đơn vị lạ,bo,,",
            "X3,Trường cấp lạ,truong,TH,79",
            "C31,Trùng mã,truong,THCS,79-Q3",
            "X4,Trường mồ côi,truong,THPT,99",
            "T01,Tên khác hẳn,truong,THPT,79",
        ]
    )
    before = _count(archive)
    with archive.sessions() as s, s.begin(), pytest.raises(InvalidInput) as ei:
        orgs.import_csv(s, text)
    msg_en, msg_vi = ei.value.message_en, ei.value.message_vi
    for line in (6, 7, 8, 9, 10, 11):
        assert f"line {line}:" in msg_en and f"dòng {line}:" in msg_vi
    assert "Nothing imported" in msg_en and "unknown parent 99" in msg_en
    assert _count(archive) == before


def test_missing_columns_and_encoding(archive: Archive):
    with archive.sessions() as s, pytest.raises(InvalidInput) as ei:
        orgs.import_csv(s, "code,name\nA,B\n")
    assert ei.value.code == "csv_columns" and "kind" in ei.value.message_en
    with pytest.raises(InvalidInput) as ei:
        orgs.decode_csv("code,name\nA,Tr\u01b0\u01a1ng".encode("cp1258"))  # Windows Vietnamese, not UTF-8
    assert ei.value.code == "csv_encoding"
    assert orgs.decode_csv("\ufeffcode".encode()) == "code"  # Excel's BOM is dropped


def test_cli_import(tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    a = make_archive(tmp_path, database_url=db, replicas=folder_replicas(tmp_path / "r"))
    env = archive_env(a)
    good = tmp_path / "orgs.csv"
    good.write_text(GOOD, encoding="utf-8")
    out = run_cli("org", "import", str(good), "--json", env=env).stdout
    assert '"79-Q3"' in out
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("THCS,79-Q3", "XYZ,79-Q3", 1), encoding="utf-8")
    r = run_cli("org", "import", str(bad), env=env, check=False)
    assert r.returncode == 1 and "line 3" in r.stderr
    a.close()


def test_codes_names_and_hierarchy_the_catalog_cannot_hold_are_refused_in_both_languages(archive: Archive):
    """Too long for the column (a 500 on PostgreSQL), a NUL byte, a '/' that breaks the role URLs, or a school under a
    school (no inspector would ever see it): each is a numbered line in the report, and nothing is imported."""
    text = "code,name,kind,level,parent\n" + "\n".join(
        [
            "Y" * 40 + ",Trường mã dài,truong,THCS,79-Q1",
            "A\x00,Trường có NUL,truong,THCS,79-Q1",
            "C/1,Trường có gạch chéo,truong,THCS,79-Q1",
            "C90,Trường dưới trường,truong,THCS,T01",
            "79-Q9,Phòng dưới trường,phong,,C01",
            "80,Sở dưới sở,so,,79",
            "C91,Tên\tcó tab,truong,THCS,79-Q1",
        ]
    )
    before = _count(archive)
    with archive.sessions() as s, s.begin(), pytest.raises(InvalidInput) as ei:
        orgs.import_csv(s, text)
    for line in (2, 3, 4, 5, 6, 7, 8):
        assert f"line {line}:" in ei.value.message_en and f"dòng {line}:" in ei.value.message_vi, line
    assert "cannot be under T01" in ei.value.message_en and "không thể trực thuộc T01" in ei.value.message_vi
    assert _count(archive) == before
    with archive.sessions() as s, s.begin():
        with pytest.raises(InvalidInput) as one:
            orgs.add_organisation(
                s, code="C92", name="Trường", kind="truong", level="THCS", parent_code="C01"
            )
        assert one.value.code == "org_parent_kind"
        with pytest.raises(InvalidInput):
            orgs.add_organisation(s, code="X" * 33, name="Sở", kind="so")
    assert _count(archive) == before
