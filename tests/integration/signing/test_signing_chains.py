"""A học bạ's signing chain, enforced by the server: four subject teachers (any order), the homeroom teacher, the
principal, then the school seal; each with their own key from the dev PKI, out-of-turn attempts refused, the final
file B-LTA and TOTAL_PASSED, every signature block in a place of its own and every name legible once."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import select

import signing
from archive import chains
from archive.chain_models import ClassTeacher, SchoolClass, SigningCertificate, SigningRequest
from archive.context import Archive
from archive.db import utcnow
from archive.documents import get_document, open_content
from archive.errors import ArchiveError
from archive.ingest import ingest_file
from archive.locks import add_lock
from archive.models import Event, Organisation, User
from archive.signatures import finish_signing_session, setup_of, sign_document, start_signing_session
from retention.integrity_models import SignatureUpkeep
from retention.upkeep import renew_due_signatures
from signing import layout
from tests.factories import add_person, dev_pki_archive, make_pdf
from tests.processes import free_port

YEAR = "2024-2025"
TEACHERS = {  # dev PKI label → (username, subject)
    "teacher": ("gv.van", "Ngữ văn"),
    "teacher2": ("gv.toan", "Toán"),
    "teacher3": ("gv.ly", "Vật lý"),
    "teacher4": ("gv.su", "Lịch sử"),
}


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def school(tmp_path: Path, pki_dir: tuple[Path, str]) -> Iterator[Archive]:
    with dev_pki_archive(tmp_path, pki_dir) as a:
        dev = setup_of(a).dev_pki
        assert dev is not None
        people = {
            label: (username, signing.devpki.PEOPLE[label][0]) for label, (username, _) in TEACHERS.items()
        }
        people |= {"homeroom": ("gv.cn", signing.devpki.PEOPLE["homeroom"][0])}
        people |= {"principal": ("ht", signing.devpki.PEOPLE["principal"][0])}
        with a.sessions() as s, s.begin():
            users = {}
            for label, (username, name) in people.items():
                role = {"principal": "hieu_truong", "homeroom": "gvcn"}.get(label, "gvbm")
                users[label] = add_person(s, username, (role, "T01"), home="T01", full_name=name)
                der = _der(dev.directory / f"{label}.cert.pem")
                s.add(_certificate(users[label], der))
            add_person(s, "vt", ("van_thu", "T01"), home="T01", full_name="Lê Thị Văn Thư")
            t01 = s.scalar(select(Organisation).where(Organisation.code == "T01"))
            klass = SchoolClass(
                school_id=t01.id, school_year=YEAR, name="12A1", homeroom_id=users["homeroom"].id
            )
            s.add(klass)
            s.flush()
            for label, (_, subject) in TEACHERS.items():
                s.add(ClassTeacher(class_id=klass.id, subject=subject, user_id=users[label].id))
        yield a


def _der(path: Path) -> bytes:
    from asn1crypto import pem

    return bytes(pem.unarmor(path.read_bytes())[2])


def _certificate(user: User, der: bytes) -> SigningCertificate:
    from asn1crypto import x509

    cert = x509.Certificate.load(der)
    validity = cert["tbs_certificate"]["validity"]
    return SigningCertificate(
        user_id=user.id, sha256=hashlib.sha256(der).hexdigest(), der=der, subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly, serial=format(cert.serial_number, "x"),
        not_before=validity["not_before"].native, not_after=validity["not_after"].native, check="test",
    )  # fmt: skip


def _user(a: Archive, username: str) -> User:
    with a.sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        s.expunge(user)
        return user


def _sign_as(a: Archive, doc_id: str, username: str, label: str, *, cert_label: str | None = None):
    dev = setup_of(a).dev_pki
    assert dev is not None
    der = _der(dev.directory / f"{cert_label or label}.cert.pem")
    started = start_signing_session(a, doc_id, certificate=der, actor=_user(a, username))
    response = signing.sign_digest(
        started.request, signing.Pkcs12Signer(str(dev.signer_p12[label]), b"hoso-dev-test")
    )
    return finish_signing_session(a, started.id, json.loads(response.to_json()), actor=_user(a, username))


def _waiting(a: Archive, doc_id: str) -> list[str]:
    with a.sessions() as s:
        return [w["username"] or w["who"] for w in chains.state_of(s, get_document(s, doc_id)).waiting]


def _bytes(a: Archive, doc_id: str) -> bytes:
    return b"".join(open_content(a, doc_id).chunks)


def _upload(a: Archive, tmp_path: Path, pages: int = 2):
    path = make_pdf(tmp_path / "Học bạ 12A1.pdf", pages=pages)
    return ingest_file(
        a, path, filename=path.name, school="T01", type_code="hoc-ba", year=YEAR, class_name="12A1",
        actor=_user(a, "vt"),
    ).document  # fmt: skip


def test_hoc_ba_chain_in_order_with_own_keys_ends_b_lta_with_separate_legible_blocks(
    school: Archive, tmp_path: Path
):
    doc = _upload(school, tmp_path)
    assert sorted(_waiting(school, doc.id)) == sorted(u for u, _ in TEACHERS.values())

    # out of turn: the principal before the teachers, the seal before the principal
    with pytest.raises(ArchiveError) as early:
        _sign_as(school, doc.id, "ht", "principal")
    assert early.value.status == 409 and early.value.code == "signing_out_of_order"
    assert "Giáo viên bộ môn" in early.value.message_vi
    with pytest.raises(ArchiveError) as seal_early:
        sign_document(school, doc.id, actor=_user(school, "vt"))
    assert seal_early.value.code == "signing_out_of_order"
    # someone else's certificate: refused and recorded
    with pytest.raises(ArchiveError) as theirs:
        _sign_as(school, doc.id, "gv.toan", "teacher", cert_label="teacher")
    assert theirs.value.status == 403 and theirs.value.code == "certificate_not_yours"

    for label in ("teacher3", "teacher", "teacher4", "teacher2"):  # any order among the subject teachers
        _sign_as(school, doc.id, TEACHERS[label][0], label)
    assert _waiting(school, doc.id) == ["gv.cn"]
    with pytest.raises(ArchiveError) as twice:
        _sign_as(school, doc.id, "gv.toan", "teacher2")
    assert twice.value.code == "signing_out_of_order"
    _sign_as(school, doc.id, "gv.cn", "homeroom")
    assert _waiting(school, doc.id) == ["ht"]
    _sign_as(school, doc.id, "ht", "principal")
    assert _waiting(school, doc.id) == ["seal"]
    sealed = sign_document(school, doc.id, actor=_user(school, "vt"), reason="Đóng dấu")
    with pytest.raises(ArchiveError) as again:
        sign_document(school, doc.id, actor=_user(school, "vt"))
    assert again.value.code == "signing_out_of_order"

    with school.sessions() as s:
        d = get_document(s, doc.id)
        assert chains.state_of(s, d).status == "complete"
        assert d.current.number == sealed.number  # the seal at B-LTA, or the system's extension to it
        denied = s.scalars(select(Event).where(Event.action == "access.denied")).all()
        assert any(e.detail.get("error") == "certificate_not_yours" for e in denied)
    final = _bytes(school, doc.id)
    report = signing.validate_pdf(final, setup_of(school).trust_roots)
    assert report.verdict == "TOTAL_PASSED", report.to_dict()
    assert len(report.signatures) >= 7
    assert signing.newest_document_timestamp(final) is not None

    fields = layout.signature_fields(final)
    visible = [f for f in fields if f.signed and f.rect[2] - f.rect[0] > 1]
    assert len(visible) == 7
    for i, a in enumerate(visible):
        for b in visible[i + 1 :]:
            assert a.page != b.page or not layout.intersects(a.rect, b.rect), (a, b)
    text = _flattened_text(final, tmp_path)
    for label in [*TEACHERS, "homeroom", "principal"]:
        name = signing.devpki.PEOPLE[label][0]
        assert text.count(name) == 1, (name, text)


def _flattened_text(pdf: bytes, tmp_path: Path) -> str:
    """Text as a reader sees it: the signature appearances flattened into the pages, then extracted."""
    src, flat = tmp_path / "final.pdf", tmp_path / "flat.pdf"
    src.write_bytes(pdf)
    with pikepdf.open(src) as p:
        p.flatten_annotations("all")
        p.save(flat)
    return subprocess.run(
        ["pdftotext", "-q", str(flat), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_a_signer_returns_the_record_and_a_new_version_restarts_the_chain(school: Archive, tmp_path: Path):
    doc = _upload(school, tmp_path)
    for label in TEACHERS:
        _sign_as(school, doc.id, TEACHERS[label][0], label)
    with school.sessions() as s, s.begin():
        chains.return_record(s, get_document(s, doc.id), s.merge(_user(school, "gv.cn")), "Sai điểm môn Toán")
    with school.sessions() as s:
        state = chains.state_of(s, get_document(s, doc.id))
        assert state.status == "returned" and state.label_vi == "Bị trả lại"
    with pytest.raises(ArchiveError) as closed:
        _sign_as(school, doc.id, "ht", "principal")
    assert closed.value.code == "signing_out_of_order"
    # the uploader stores a corrected file: a new round, the subject teachers again
    fixed = make_pdf(tmp_path / "Học bạ 12A1 (sửa).pdf", pages=2, text="Học bạ đã sửa")
    from archive.ingest import add_version_from_bytes

    add_version_from_bytes(
        school, doc.id, fixed.read_bytes(), base_version=5, actor=_user(school, "vt"), reason="Sửa điểm",
        event="document.version", signed=False,
    )  # fmt: skip
    assert sorted(_waiting(school, doc.id)) == sorted(u for u, _ in TEACHERS.values())
    with school.sessions() as s:
        assert chains.current_round(s, doc.id) == 2


def test_a_locked_year_still_takes_the_chain_signatures_the_seal_and_lta_renewal(
    school: Archive, tmp_path: Path
):
    doc = _upload(school, tmp_path)
    for label in TEACHERS:
        _sign_as(school, doc.id, TEACHERS[label][0], label)
    _sign_as(school, doc.id, "gv.cn", "homeroom")
    with school.sessions() as s, s.begin():
        t01 = s.scalar(select(Organisation).where(Organisation.code == "T01"))
        add_lock(s, school=t01, type_code="hoc-ba", year=YEAR, actor=s.merge(_user(school, "ht")))
    _sign_as(school, doc.id, "ht", "principal")
    sign_document(school, doc.id, actor=_user(school, "vt"))
    with school.sessions() as s:
        current = get_document(s, doc.id).current
        assert chains.state_of(s, get_document(s, doc.id)).status == "complete"
        current_id = current.id
    # an unsigned replacement is a content change: the lock refuses it
    with pytest.raises(ArchiveError) as locked:
        from archive.ingest import add_version_from_bytes

        add_version_from_bytes(
            school, doc.id, make_pdf(tmp_path / "other.pdf").read_bytes(), base_version=current.number,
            actor=None, reason="x", event="document.version",
        )  # fmt: skip
    assert locked.value.code == "locked"
    setup = setup_of(school)

    def inspect(data: bytes):
        info = signing.newest_document_timestamp(data)
        return (info.certificate_not_after, info.digest_algorithm) if info else (None, None)

    def renew(data: bytes) -> bytes:
        return signing.add_document_timestamp(data, tsa_url=setup.tsa_url, trust_roots=setup.trust_roots)

    renew_due_signatures(school, inspect=inspect, renew=renew)
    with school.sessions() as s, s.begin():
        s.get(SignatureUpkeep, current_id).expires_at = utcnow() + timedelta(days=30)
    report = renew_due_signatures(school, inspect=inspect, renew=renew)
    assert len(report.renewed) == 1 and not report.failed, report


def test_requests_name_each_subject_teacher_and_the_inbox_lists_them_oldest_first(
    school: Archive, tmp_path: Path
):
    first = _upload(school, tmp_path)
    second = _upload(school, tmp_path)
    with school.sessions() as s:
        mine = chains.inbox(s, s.merge(_user(school, "gv.ly")))
        assert [d.id for _, d in mine] == [first.id, second.id]
        assert {r.subject for r, _ in mine} == {"Vật lý"}
        assert chains.inbox(s, s.merge(_user(school, "ht"))) == []
        rows = s.scalars(select(SigningRequest).where(SigningRequest.document_id == first.id)).all()
        assert [r.who for r in rows].count("subject_teachers") == 4


def test_next_signers_are_emailed_a_link_never_the_file_and_get_a_daily_digest(
    school: Archive, tmp_path: Path
):
    from archive import chain_mail
    from tests.mailbox import smtp_server

    with school.sessions() as s, s.begin():
        for user in s.scalars(select(User)):
            user.email = f"{user.username}@truong.test"
    with smtp_server() as (inbox, port):
        school.settings.smtp_host, school.settings.smtp_port = "127.0.0.1", port
        doc = _upload(school, tmp_path)
        first = chain_mail.notify_opened(school)
        assert first.people == 4 and not first.errors
        inbox.wait(4)
        mail = inbox.to("gv.ly@truong.test")[0]
        body = mail.get_payload(decode=True).decode("utf-8")
        assert f"/ho-so/{doc.id}" in body and "Vật lý" in body and "Học bạ 12A1" in body
        assert not mail.is_multipart()  # a link, never an attachment
        assert chain_mail.notify_opened(school).people == 0  # told once
        for label in TEACHERS:
            _sign_as(school, doc.id, TEACHERS[label][0], label)
        assert chain_mail.notify_opened(school).people == 1
        inbox.wait(5)
        assert len(inbox.to("gv.cn@truong.test")) == 1
        digest = chain_mail.daily_digest(school)
        assert digest.people == 1 and digest.items == 1  # the homeroom teacher is all that waits
        inbox.wait(6)
        from email.header import decode_header, make_header

        assert "Tổng hợp" in str(make_header(decode_header(inbox.to("gv.cn@truong.test")[-1]["Subject"])))
