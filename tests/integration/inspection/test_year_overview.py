"""The year overview to send upward and the Phòng / Sở roll-up: the PDF report is sealed by the system (validated
like any signed file) and carries the grid; a Phòng inspector's roll-up holds its district's THCS schools only and a
school outside the scope is refused (recorded); the counts agree with each school's own grid, on SQLite and
PostgreSQL, with a number of queries that does not grow with the number of schools."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import event, select

import signing
from archive import accounts
from archive.content_checks import RUT_KINH_NGHIEM, ContentCheck
from archive.context import Archive
from archive.errors import PermissionDenied
from archive.ingest import ingest_stream
from archive.locks import add_lock
from archive.models import Document, Event, Organisation, ReplicaCopy, StoredObject, User, Version
from archive.record_changes import replace_file
from archive.signatures import setup_of
from archive.year_overview import school_overview, year_overview
from archive.year_rollup import rollup_csv, year_rollup
from retention.overview_report import JSON_NAME, overview_report, rollup_report
from storage import content_key
from tests.factories import add_orgs, add_person, archive_env, make_archive, pdf_bytes, seed_world
from tests.processes import run_cli

from .conftest import ingest, user

YEAR = "2024-2025"


def text_of(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def embedded(pdf: bytes) -> dict:
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        return json.loads(doc.attachments[JSON_NAME].get_file().read_bytes())


def test_the_school_report_is_sealed_and_holds_the_grid(world: Archive, tmp_path: Path) -> None:
    a = world
    ingest(a, "C01", "hoc-ba", "Học bạ 6A1", "6A1")
    ingest(a, "C01", "hoc-ba", "Học bạ 6A2", "6A2")
    ingest(a, "C01", "so-theo-doi-danh-gia-lop", "Sổ theo dõi 6A1", "6A1")
    ingest(a, "C01", "ke-hoach-bai-day", "Kế hoạch bài dạy Toán 6A1", "6A1")  # no "Rút kinh nghiệm" in it
    sealed = a.signing.sign_org(pdf_bytes(text="Sổ đăng bộ đã ký", extra=b"signed"))  # type: ignore[union-attr]
    ingest_stream(
        a, io.BytesIO(sealed), filename="dang-bo.pdf", school="C01", type_code="so-dang-bo", year=YEAR,
        title="Sổ đăng bộ",
    )  # fmt: skip
    principal = add_person(a, "hieutruong", ("hieu_truong", "C01"), full_name="Phạm Văn Hiệu")
    with a.sessions() as s, s.begin():
        c01 = s.scalar(select(Organisation).where(Organisation.code == "C01"))
        assert c01 is not None
        add_lock(s, school=c01, type_code="hoc-ba", year=YEAR, actor=s.merge(principal))
    with a.sessions() as s:
        ov, org = school_overview(s, s.merge(user(a, "thanhtraphong")), "C01", YEAR)
        s.expunge(org)
    assert ov.classes == ["6A1", "6A2", ""]
    assert ov.cell("6A1", "ke-hoach-bai-day").lacking_rkn == 1
    assert ov.cell("", "so-dang-bo").signed == 1 and ov.cell("6A1", "hoc-ba").signed == 0
    assert ov.missing == 3 * 4 - 5  # three rows, four types, five cells with a record

    pdf = overview_report(a, ov, school=org, actor=user(a, "thanhtraphong"))
    report = signing.validate_pdf(pdf, setup_of(a).trust_roots)
    assert report.verdict == "TOTAL_PASSED"
    text = text_of(pdf, tmp_path)
    for expected in ("BÁO CÁO", "Tổng quan hồ sơ số năm học 2024-2025", "TRƯỜNG THCS LÊ QUÝ ĐÔN", "PHÒNG GDĐT QUẬN MỘT",
                     "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Nơi nhận", "6A1", "6A2", "Toàn trường", "(khóa)"):  # fmt: skip
        assert expected in text, expected
    row_6a2 = next(line for line in text.splitlines() if line.strip().startswith("6A2"))
    assert "1/0" in row_6a2 and "—" in row_6a2  # học bạ stored, unsigned; the other types missing
    assert "RKN 1" in text
    data = embedded(pdf)
    assert data["missing"] == ov.missing and data["totals"]["stored"] == 5
    assert {"class": "6A1", "type": "ke-hoach-bai-day"}.items() <= next(
        c for c in data["cells"] if c["type"] == "ke-hoach-bai-day"
    ).items()
    with a.sessions() as s:
        ev = s.scalar(select(Event).where(Event.action == "overview.report"))
        assert ev is not None and ev.detail["school"] == "C01" and len(ev.detail["sha256"]) == 64


def test_the_phong_sees_its_thcs_schools_only_and_is_refused_elsewhere(
    world: Archive, tmp_path: Path
) -> None:
    a = world
    with a.sessions() as s, s.begin():
        add_orgs(s, [("C03", "Trường THCS Quận Một số 3", "truong", "THCS", "79-Q1"),
                     ("G03", "Trung tâm GDTX Quận Một", "truong", "GDTX", "79-Q1")])  # fmt: skip
    ingest(a, "C01", "hoc-ba", "Học bạ 6A1", "6A1")
    ingest(a, "G03", "hoc-ba", "Học bạ GDTX", "10A")
    ingest(a, "T01", "hoc-ba", "Học bạ 10A1", "10A1")
    phong, so = user(a, "thanhtraphong"), user(a, "thanhtraso")
    with a.sessions() as s:
        ru = year_rollup(s, s.merge(phong), YEAR)
        assert (ru.org_code, [x.code for x in ru.schools]) == ("79-Q1", ["C01", "C03"])
        assert [x.counts.stored for x in ru.schools] == [1, 0]  # a school with nothing yet is listed too
        assert [x.code for x in year_rollup(s, s.merge(so), YEAR).schools] == ["G03", "T01"]
        with pytest.raises(PermissionDenied):
            school_overview(s, s.merge(phong), "T01", YEAR)
        with pytest.raises(PermissionDenied):
            year_rollup(s, s.merge(phong), YEAR, org_code="79")  # not the Phòng's own Sở
    with a.sessions() as s:
        denied = s.scalars(select(Event).where(Event.action == "access.denied")).all()
        assert {(e.detail or {}).get("organisation") for e in denied} >= {"T01", "79"}

    pdf = rollup_report(a, ru, actor=phong)
    assert signing.validate_pdf(pdf, setup_of(a).trust_roots).verdict == "TOTAL_PASSED"
    text = text_of(pdf, tmp_path)
    assert "PHÒNG GDĐT QUẬN MỘT" in text and "Trường THCS Quận Một số 3 (C03)" in text and "T01" not in text
    assert [x["code"] for x in embedded(pdf)["schools"]] == ["C01", "C03"]

    # the command line, as the Phòng's inspector: the same scope
    env = archive_env(a, HOSO_BASE_URL=a.settings.base_url)
    out = tmp_path / "tong-hop.csv"
    run_cli(
        "overview",
        "schools",
        "--year",
        YEAR,
        "--format",
        "csv",
        "--out",
        str(out),
        "--by",
        "thanhtraphong",
        env=env,
    )
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[1] for line in lines[1:]] == ["C01", "C03"]
    report = tmp_path / "bao-cao.pdf"
    run_cli(
        "overview",
        "school",
        "--school",
        "C01",
        "--year",
        YEAR,
        "--out",
        str(report),
        "--by",
        "thanhtraphong",
        env=env,
    )
    assert signing.validate_pdf(report.read_bytes(), setup_of(a).trust_roots).verdict == "TOTAL_PASSED"
    bad = run_cli("overview", "school", "--school", "T01", "--year", YEAR, "--out", str(tmp_path / "x.pdf"),
                  "--by", "thanhtraphong", env=env, check=False)  # fmt: skip
    assert bad.returncode == 1 and "[forbidden]" in bad.stderr and not (tmp_path / "x.pdf").exists()


# --- the counts, on both databases --------------------------------------------------------------------------------
@pytest.fixture
def district(tmp_path: Path, db_url: str) -> Iterator[Archive]:
    a = make_archive(tmp_path, seed=seed_world, database_url=db_url)
    yield a
    a.close()


def put(a: Archive, school: str, type_code: str, class_name: str | None, n: int = 0) -> str:
    data = pdf_bytes(
        text=f"{school} {type_code} {class_name} {n}", extra=f"{school}{type_code}{class_name}{n}".encode()
    )
    r = ingest_stream(
        a, io.BytesIO(data), filename="x.pdf", school=school, type_code=type_code, year=YEAR,
        title=f"{type_code} {class_name} {n}", class_name=class_name,
    )  # fmt: skip
    return r.version.sha256


def statements(a: Archive, fn) -> int:  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(*_args: object) -> None:
        seen.append("x")

    event.listen(a.engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(a.engine, "before_cursor_execute", count)
    return len(seen)


def test_rollup_counts_agree_with_each_grid_in_a_fixed_number_of_queries(
    district: Archive, tmp_path: Path
) -> None:
    a = district
    put(a, "C01", "hoc-ba", "6A1")
    put(a, "C01", "hoc-ba", "6A2")
    damaged_sha = put(a, "C01", "so-theo-doi-danh-gia-lop", "6A1")
    put(a, "C01", "so-dang-bo", None)
    put(a, "M01", "hoc-ba", "6B")
    with a.sessions() as s, s.begin():
        principal = add_person(s, "hieutruong-m01", ("hieu_truong", "M01"))
        s.flush()
        m01 = s.scalar(select(Organisation).where(Organisation.code == "M01"))
        assert m01 is not None
        # a locked type without a record: a column of the grid all the same
        add_lock(s, school=m01, type_code="so-dang-bo", year=YEAR, actor=principal)
        obj = s.scalar(select(StoredObject).where(StoredObject.key == content_key(damaged_sha)))
        assert obj is not None
        s.execute(
            ReplicaCopy.__table__.update().where(ReplicaCopy.object_id == obj.id).values(state="corrupt")
        )
        # M01's record gets a second version; its first is marked signed and lacking "Rút kinh nghiệm" (findings
        # written here; the signing and content-check tests make real ones): only the current version may count
        (first,) = s.scalars(select(Version).join(Document).where(Document.class_name == "6B"))
        s.add(ContentCheck(version_id=first.id, name=RUT_KINH_NGHIEM, result="missing"))
        s.execute(Version.__table__.update().where(Version.id == first.id).values(signed=True))
        doc_id = first.document_id
    replacement = tmp_path / "moi.pdf"
    replacement.write_bytes(pdf_bytes(text="6B mới", extra=b"second version"))
    sha = hashlib.sha256(replacement.read_bytes()).hexdigest()
    replace_file(
        a, doc_id, replacement, filename="moi.pdf", sha256=sha, size=replacement.stat().st_size, reason="sửa",
        actor=admin_of(a),
    )  # fmt: skip
    with a.sessions() as s:
        phong = s.scalar(select(User).where(User.username == "thanhtraphong"))
        assert phong is not None
        ru = year_rollup(s, phong, YEAR)
        by_code = {x.code: x for x in ru.schools}
        assert sorted(by_code) == ["C01", "M01"]
        for code, line in by_code.items():
            org = s.scalar(select(Organisation).where(Organisation.code == code))
            assert org is not None
            ov = year_overview(s, org, YEAR)
            assert (line.counts, line.missing, line.locked) == (ov.totals(), ov.missing, len(ov.locked))
        c01 = by_code["C01"]
        assert (c01.counts.stored, c01.counts.damaged, c01.missing) == (4, 1, 3 * 3 - 4)
        assert c01.counts.awaiting == 4  # every chain waits for its first signer
        assert (by_code["M01"].locked, by_code["M01"].missing) == (1, 1)  # 6B × {học bạ, sổ đăng bộ (locked)}
        assert "2024-2025,C01,Trường THCS Lê Quý Đôn,THCS,4,0,4,5,0,1,0" in rollup_csv(ru)
        assert (by_code["M01"].counts.signed, by_code["M01"].counts.lacking_rkn) == (0, 0)
        # the system administrator reporting for an organisation gets the schools its inspectors answer for
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        assert [x.code for x in year_rollup(s, admin, YEAR, org_code="79").schools] == [
            "G01",
            "M01",
            "T01",
            "X01",
        ]
        assert [x.code for x in year_rollup(s, admin, YEAR, org_code="79-Q1").schools] == ["C01", "M01"]

    # more schools with records: the same number of statements (set-based, not one query per school)
    with a.sessions() as s:
        admin = accounts.get_user(s, "admin")
        s.expunge(admin)
    before = statements(a, lambda: _rollup_of(a, admin))
    for code in ("C02", "T01", "X01", "G01"):
        put(a, code, "hoc-ba", "9A")
    after = statements(a, lambda: _rollup_of(a, admin))
    assert before == after


def admin_of(a: Archive) -> User:
    with a.sessions() as s:
        admin = accounts.get_user(s, "admin")
        s.expunge(admin)
        return admin


def _rollup_of(a: Archive, who: User) -> None:
    with a.sessions() as s:
        assert len(year_rollup(s, s.merge(who), YEAR).schools) == 8  # the admin: every school
