"""Classes, homeroom and subject teachers and professional groups per school year (issue 10, item 3): CSV import
(all or nothing, every bad line reported), the roster of a year, edits, who may do it, and what the signing chains
read from it (archive.roster.homeroom_of / subject_teachers_of / group_heads_of). SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import roster
from archive.chain_models import ClassTeacher, GroupMember, SchoolClass
from archive.context import Archive
from archive.models import Event
from tests.factories import add_person, archive_env, bearer
from tests.processes import run_cli

from .helpers import client_for

SAMPLE = Path(__file__).resolve().parents[3] / "archive" / "data" / "phan-cong-mau.csv"
TEACHERS = {"gv.lan": "Nguyễn Thị Lan", "gv.hung": "Trần Văn Hùng", "gv.minh": "Lê Văn Minh",
            "gv.thao": "Phạm Thị Thảo", "gv.ha": "Đỗ Thu Hà"}  # fmt: skip
URL = "/api/v1/organisations/C01/roster"


@pytest.fixture
def school(world: Archive) -> Archive:
    with world.sessions() as s, s.begin():
        for username, name in TEACHERS.items():
            add_person(s, username, ("gvbm", "C01"), home="C01", full_name=name)
        add_person(s, "gv.khac", ("gvbm", "C02"), home="C02", full_name="Giáo viên trường khác")
    return world


def _upload(client, text: bytes, who: dict[str, str]):
    return client.post(URL, files={"file": ("phan-cong.csv", text, "text/csv")}, headers=who)


def _rows(a: Archive) -> tuple[int, int, int]:
    with a.sessions() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) for m in (SchoolClass, ClassTeacher, GroupMember)
        )


def test_sample_imports_and_the_chains_find_who_signs(school: Archive):
    client = client_for(school)
    r = _upload(client, SAMPLE.read_bytes(), bearer(school, "quantri"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["years"] == ["2024-2025"] and sorted(body["classes_created"]) == [
        "10A1 (2024-2025)",
        "10A2 (2024-2025)",
    ]
    assert (body["teachers_added"], body["homerooms_set"], body["heads_set"]) == (7, 2, 3)
    got = client.get(
        URL, params={"year": "2024-2025"}, headers=bearer(school, "gvbm")
    ).json()  # a teacher may read
    a1 = got["classes"][0]
    assert a1["name"] == "10A1" and a1["homeroom"] == {"username": "gv.lan", "full_name": "Nguyễn Thị Lan"}
    assert [t["subject"] for t in a1["teachers"]] == ["Ngữ văn", "Tiếng Anh", "Tin học", "Toán"]
    groups = {g["name"]: g for g in got["groups"]}
    assert [p["username"] for p in groups["Tổ Ngữ văn"]["heads"]] == ["gv.ha"]
    assert [p["username"] for p in groups["Tổ Ngữ văn"]["members"]] == ["gv.minh"]
    with school.sessions() as s:
        c01 = roster.roster_school(s, "C01")
        assert [u.username for u in roster.homeroom_of(s, c01.id, "2024-2025", "10A2")] == ["gv.minh"]
        assert sorted(u.username for u, _ in roster.subject_teachers_of(s, c01.id, "2024-2025", "10A1")) == [
            "gv.hung", "gv.lan", "gv.minh", "gv.thao"]  # fmt: skip
        minh = s.scalar(select(roster.User).where(roster.User.username == "gv.minh"))
        assert minh is not None
        assert [u.username for u in roster.group_heads_of(s, c01.id, "2024-2025", minh.id)] == ["gv.ha"]
        (event,) = s.scalars(select(Event).where(Event.action == "roster.import")).all()
        assert event.actor == "quantri" and event.detail["teachers_added"] == 7
    # the same file again changes nothing
    again = _upload(client, SAMPLE.read_bytes(), bearer(school, "hieutruong")).json()
    assert (again["classes_created"], again["teachers_added"], again["members_added"]) == ([], 0, 0)


def test_bad_lines_are_all_reported_and_nothing_is_imported(school: Archive):
    text = (
        "nam_hoc,lop,mon,giao_vien,gvcn,to_chuyen_mon,to_truong\n"
        "2024-2025,10A1,Toán,gv.lan,gv.lan,Tổ Toán - Tin,x\n"
        "2024-2025,10A1,Văn,khong.co.ai,gv.minh,,\n"  # unknown teacher, and another homeroom for 10A1
        "2024-2025,10A2,Toán,gv.khac,,,\n"  # a teacher of another school
        "2024-25,10A3,Toán,gv.lan,,,\n"  # not a school year
        "2024-2025,10A4,Toán,gv.hung,,Tổ Toán - Tin,x\n"  # a second head for the group
    ).encode()
    r = _upload(client_for(school), text, bearer(school, "quantri"))
    assert r.status_code == 422 and r.json()["error"] == "csv_invalid"
    lines = {item["line"]: item["message_vi"] for item in r.json()["lines"]}
    assert set(lines) == {3, 4, 5, 6}
    assert "không có tài khoản khong.co.ai" in lines[3].lower() or "khong.co.ai" in lines[3]
    assert "gv.khac không thuộc trường C01" in lines[4]
    assert "Năm học không hợp lệ" in lines[5]
    assert "đã có tổ trưởng gv.lan ở dòng 2" in lines[6]
    assert r.json()["message_vi"].startswith("Không nhập gì")
    assert _rows(school) == (0, 0, 0)


def test_missing_columns_and_wrong_encoding_are_refused(school: Archive):
    client = client_for(school)
    r = _upload(client, b"lop,mon\n10A1,Toan\n", bearer(school, "quantri"))
    assert (r.status_code, r.json()["error"]) == (422, "csv_columns") and "nam_hoc" in r.json()["message_vi"]
    r = _upload(
        client,
        "nam_hoc,lop,mon,giao_vien\n2024-2025,10A1,Toán,gv.lan\n".encode("cp1258"),
        bearer(school, "quantri"),
    )
    assert (r.status_code, r.json()["error"]) == (422, "csv_encoding")


def test_only_school_admin_principal_and_system_admin_change_it(school: Archive):
    client = client_for(school)
    for who in ("gvbm", "totruong", "vanthu", "thanhtraphong"):
        r = _upload(client, SAMPLE.read_bytes(), bearer(school, who))
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), who
    assert _rows(school) == (0, 0, 0)
    assert _upload(client, SAMPLE.read_bytes(), bearer(school, "admin")).status_code == 200
    # a Phòng has no classes
    r = client.get("/api/v1/organisations/79-Q1/roster", headers=bearer(school, "admin"))
    assert (r.status_code, r.json()["error"]) == (422, "not_a_school")


def test_edits_homeroom_subject_teachers_and_group_head(school: Archive):
    client = client_for(school)
    admin = bearer(school, "hieutruong")
    assert _upload(client, SAMPLE.read_bytes(), admin).status_code == 200
    base = f"{URL}/2024-2025"
    r = client.put(f"{base}/classes/10A1/homeroom", json={"username": "gv.thao"}, headers=admin)
    assert r.status_code == 200 and r.json()["homeroom"]["username"] == "gv.thao"
    r = client.post(
        f"{base}/classes/10A1/teachers", json={"subject": "Lịch sử", "username": "gv.ha"}, headers=admin
    )
    assert r.status_code == 201
    added = next(t for t in r.json()["teachers"] if t["subject"] == "Lịch sử")
    dup = client.post(
        f"{base}/classes/10A1/teachers", json={"subject": "Lịch sử", "username": "gv.ha"}, headers=admin
    )
    assert (dup.status_code, dup.json()["error"]) == (409, "already_assigned")
    assert client.delete(f"{base}/classes/10A1/teachers/{added['id']}", headers=admin).status_code == 204
    r = client.put(f"{base}/groups/Tổ Toán - Tin/head", json={"username": "gv.hung"}, headers=admin)
    assert r.status_code == 200
    assert [p["username"] for p in r.json()["heads"]] == ["gv.hung"]
    assert "gv.lan" in [p["username"] for p in r.json()["members"]]  # the former head stays a member
    wrong = client.put(f"{base}/classes/10A9/homeroom", json={"username": "gv.lan"}, headers=admin)
    assert (wrong.status_code, wrong.json()["error"]) == (404, "class_not_found")
    other = client.put(f"{base}/classes/10A1/homeroom", json={"username": "gv.khac"}, headers=admin)
    assert (other.status_code, other.json()["error"]) == (422, "not_of_school")
    with school.sessions() as s:
        actions = list(
            s.scalars(select(Event.action).where(Event.action.like("roster.%")).order_by(Event.id))
        )
    assert actions == [
        "roster.import",
        "roster.homeroom",
        "roster.teacher_add",
        "roster.teacher_remove",
        "roster.group_head",
    ]


def test_command_line_imports_and_reports_bad_lines(school: Archive, tmp_path: Path):
    env = archive_env(school)
    bad = tmp_path / "bad.csv"
    bad.write_text("nam_hoc,lop,mon,giao_vien\n2024-2025,10A1,Toán,ai.do\n", encoding="utf-8")
    failed: subprocess.CompletedProcess[str] = run_cli(
        "roster", "import", "--school", "C01", str(bad), env=env, check=False
    )
    assert failed.returncode == 1 and "dòng 2" in failed.stderr and "csv_invalid" in failed.stderr
    done = run_cli("roster", "import", "--school", "C01", str(SAMPLE), "--by", "quantri", env=env)
    assert "GVBM +7" in done.stdout
    shown = run_cli("roster", "show", "--school", "C01", "--year", "2024-2025", env=env)
    assert "10A1  GVCN gv.lan" in shown.stdout and "Tổ Ngoại ngữ  tổ trưởng gv.thao" in shown.stdout
