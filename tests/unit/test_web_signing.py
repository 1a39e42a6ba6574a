"""The personal signing page and the seal button in-process (TestClient) with the real dev PKI: a teacher named on a
record signs it in two steps with their own key; a wrong key, a foreign certificate file or a missing CSRF token
changes nothing; only the opener may finish a session; the seal button gives way to "Đã đóng dấu"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import signing
from archive.context import Archive
from archive.ingest import ingest_file
from archive.models import Version
from archive.signatures import setup_of
from archive.signing_models import SigningSession
from hoso.app import create_app
from tests.factories import PASSWORD, add_person, dev_pki_archive, make_pdf
from tests.processes import free_port
from tests.unit.test_web_pages import hidden_token, login

TEACHER = "Trần Thị Thử"  # the dev PKI's teacher certificate is "Trần Thị Thử (TEST)"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def sarchive(tmp_path: Path, pki_dir: tuple[Path, str]) -> Iterator[Archive]:
    with dev_pki_archive(tmp_path, pki_dir) as a:
        for username, full_name, role in (
            ("gvbm", TEACHER, "gvbm"),
            ("gvkhac", "Lê Văn Khác", "gvbm"),
            ("vanthu", "Nguyễn Thị Thư", "van_thu"),
        ):
            add_person(a, username, (role, "T01"), full_name=full_name, password=PASSWORD)
        from archive.accounts import get_user
        from archive.certificates import register_certificate

        with a.sessions() as s:  # the teacher's certificate, registered to her account
            teacher = get_user(s, "gvbm")
            register_certificate(
                s, setup_of(a), actor=teacher, owner=teacher,
                data=(dev(a).directory / "teacher.cert.pem").read_bytes(),
            )  # fmt: skip
        yield a


@pytest.fixture
def client(sarchive: Archive) -> TestClient:
    return TestClient(create_app(sarchive.settings, archive=sarchive))


@pytest.fixture
def doc_id(sarchive: Archive, tmp_path: Path) -> str:
    pdf = make_pdf(tmp_path / "Kế hoạch bài dạy Ngữ văn 10.pdf", extra=b"ky-ca-nhan")
    result = ingest_file(
        sarchive,
        pdf,
        filename=pdf.name,
        school="T01",
        type_code="khac",  # no signing chain: the teacher named on it signs, the office seals (chains: elsewhere)
        year="2024-2025",
        teacher=TEACHER,
    )
    return result.document.id


def versions(archive: Archive) -> int:
    with archive.sessions() as s:
        return s.scalar(select(func.count()).select_from(Version)) or 0


def dev(archive: Archive) -> signing.DevPki:
    pki = setup_of(archive).dev_pki
    assert pki is not None
    return pki


def start(client: TestClient, csrf: str, doc_id: str, cert: bytes, **form: str) -> object:
    return client.post(
        f"/ho-so/{doc_id}/ky-ca-nhan",
        data={"csrf_token": csrf, "kind": "invisible"} | form,
        files={"certificate": ("chung-thu.pem", cert, "application/x-pem-file")},
        follow_redirects=False,
    )


def sign_as(archive: Archive, request: dict[str, object], who: str) -> bytes:
    key = signing.Pkcs12Signer(str(dev(archive).signer_p12[who]), b"hoso-dev-test")
    return signing.sign_digest(request, key).to_json().encode()


def test_teacher_named_on_the_record_signs_it_in_two_steps(
    client: TestClient, sarchive: Archive, doc_id: str
):
    csrf = login(client, "gvbm")
    page = client.get(f"/ho-so/{doc_id}").text
    assert f'href="/ho-so/{doc_id}/ky-ca-nhan"' in page
    assert 'id="ky-so"' not in page  # a teacher never applies the school seal

    form = client.get(f"/ho-so/{doc_id}/ky-ca-nhan")
    assert form.status_code == 200 and "Chứng thư số của bạn" in form.text and hidden_token(form.text) == csrf
    cert = (dev(sarchive).directory / "teacher.cert.pem").read_bytes()
    r = start(client, csrf, doc_id, cert, kind="person", title="Giáo viên", full_name=TEACHER)
    assert r.status_code == 303, r.text
    step2_url = r.headers["location"]
    assert re.fullmatch(rf"/ho-so/{doc_id}/ky-ca-nhan/[\w-]+", step2_url)

    step2 = client.get(step2_url).text
    assert "Tải yêu cầu ký" in step2 and "Nộp chữ ký" in step2
    assert (
        "hoso sign-digest yeu-cau.json --pkcs11-module … --token-label … --key-label … --out chu-ky.json"
        in step2
    )
    download = client.get(step2_url + "/yeu-cau.json")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="yeu-cau.json"'
    request = download.json()
    assert request["session_id"] == step2_url.rsplit("/", 1)[1] and "prepared_pdf" not in request

    signature = sign_as(sarchive, request, "teacher")
    r = client.post(
        step2_url,
        data={"csrf_token": csrf},
        files={"signature": ("chu-ky.json", signature)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/ho-so/{doc_id}?da_ky=2&ca_nhan=1"
    done = client.get(r.headers["location"]).text
    assert "Đã nhận chữ ký số cá nhân" in done and "Hợp lệ" in done
    assert versions(sarchive) == 2
    with sarchive.sessions() as s:
        v2 = s.scalars(select(Version).where(Version.number == 2)).one()
        assert v2.signed and TEACHER in v2.validation["signatures"][0]["signer"]
    # the finished session now leads to the document instead of offering to sign again
    r = client.get(step2_url, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ho-so/{doc_id}?da_ky=2"


def test_a_signature_by_another_key_is_refused_in_vietnamese_and_nothing_changes(
    client: TestClient, sarchive: Archive, doc_id: str
):
    csrf = login(client, "gvbm")
    cert = (dev(sarchive).directory / "teacher.cert.pem").read_bytes()
    step2_url = start(client, csrf, doc_id, cert).headers["location"]
    request = client.get(step2_url + "/yeu-cau.json").json()
    forged = sign_as(sarchive, request | {"certificate_sha256": None}, "principal")
    # claimed certificate differs from the session's: refused before anything is attempted
    r = client.post(step2_url, data={"csrf_token": csrf}, files={"signature": ("chu-ky.json", forged)})
    assert r.status_code == 422 and "hồ sơ không thay đổi" in r.text and "chứng thư khác" in r.text
    # the same value without the claim: the server's own check finds that it does not match
    body = json.loads(forged) | {"certificate_sha256": None}
    r = client.post(
        step2_url, data={"csrf_token": csrf}, files={"signature": ("chu-ky.json", json.dumps(body).encode())}
    )
    assert r.status_code == 422 and "không khớp với chứng thư số" in r.text
    r = client.post(step2_url, data={"csrf_token": csrf}, files={"signature": ("chu-ky.json", b"not json")})
    assert r.status_code == 422 and "không đúng định dạng" in r.text
    assert versions(sarchive) == 1
    with sarchive.sessions() as s:
        assert s.scalars(select(SigningSession)).one().status == "pending"  # may still be finished correctly


def test_bad_certificate_missing_csrf_and_strangers_change_nothing(
    client: TestClient, sarchive: Archive, doc_id: str, tmp_path: Path
):
    cert = (dev(sarchive).directory / "teacher.cert.pem").read_bytes()
    csrf = login(client, "gvkhac")  # a teacher not named on this record
    assert f'href="/ho-so/{doc_id}/ky-ca-nhan"' not in client.get(f"/ho-so/{doc_id}").text
    assert client.get(f"/ho-so/{doc_id}/ky-ca-nhan").status_code == 403
    r = start(client, csrf, doc_id, cert)
    assert r.status_code == 403 and "không có quyền ký số" in r.text

    client.cookies.clear()
    csrf = login(client, "gvbm")
    r = start(client, csrf, doc_id, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert r.status_code == 422 and "Tệp chứng thư số không đọc được" in r.text
    # someone else's certificate (not registered to her): refused, the name on the page is never typed
    other = (dev(sarchive).directory / "principal.cert.pem").read_bytes()
    r = start(client, csrf, doc_id, other, kind="person")
    assert r.status_code == 403 and "không được đăng ký cho tài khoản của bạn" in r.text
    r = start(client, "sai", doc_id, cert)
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    with sarchive.sessions() as s:
        assert s.scalar(select(func.count()).select_from(SigningSession)) == 0

    step2_url = start(client, csrf, doc_id, cert).headers["location"]
    request = client.get(step2_url + "/yeu-cau.json").json()
    signature = sign_as(sarchive, request, "teacher")
    r = client.post(step2_url, data={}, files={"signature": ("chu-ky.json", signature)})
    assert r.status_code == 403 and "mã chống giả mạo" in r.text
    # someone else cannot see, download or finish this teacher's session
    client.cookies.clear()
    csrf = login(client, "gvkhac")
    assert client.get(step2_url).status_code == 403
    assert client.get(step2_url + "/yeu-cau.json").status_code == 403
    r = client.post(step2_url, data={"csrf_token": csrf}, files={"signature": ("chu-ky.json", signature)})
    assert r.status_code == 403 and "Chỉ người đã mở phiên ký" in r.text
    assert versions(sarchive) == 1


def test_seal_button_gives_way_to_da_dong_dau(client: TestClient, sarchive: Archive, doc_id: str):
    csrf = login(client, "vanthu")
    page = client.get(f"/ho-so/{doc_id}").text
    assert 'id="ky-so"' in page and "Đã đóng dấu" not in page
    r = client.post(f"/ho-so/{doc_id}/ky-so", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ho-so/{doc_id}?da_ky=2"
    page = client.get(f"/ho-so/{doc_id}").text
    assert 'id="ky-so"' not in page and 'id="da-dong-dau"' in page and "Đã đóng dấu" in page
