"""Certificates bound to accounts through the HTTP API, the account page and the command line (issue 10, item 1),
on the dev PKI served for the test (its OCSP responder answers): the person registers their own, a school
administrator registers for a teacher of their school, nobody else may; one certificate belongs to one person; the
answers carry stable codes; the routes are in /openapi.json."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import pem
from sqlalchemy import select

from archive.context import Archive
from archive.models import Event
from archive.signing_setup import dev_pki_served
from tests.factories import archive_env, bearer, make_archive, seed_world_with_passwords
from tests.processes import free_port, run_cli

from .helpers import client_for, login

API = "/api/v1/users"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    # one dev PKI for the module (key generation is the slow part); the base URL's port is ours alone
    return tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def world(tmp_path: Path, pki_dir: tuple[Path, str], db_url: str) -> Iterator[Archive]:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "dev-pki").symlink_to(pki_dir[0])
    a = make_archive(
        tmp_path,
        seed=seed_world_with_passwords,
        base_url=pki_dir[1],
        database_url=db_url,
        cookie_secure=False,
    )
    assert a.signing is not None
    with dev_pki_served(a.signing.setup):
        yield a
    a.close()


def _cert(a: Archive, person: str) -> bytes:
    assert a.signing is not None and a.signing.setup.dev_pki is not None
    return (a.signing.setup.dev_pki.directory / f"{person}.cert.pem").read_bytes()


def test_person_registers_lists_and_removes_their_own(world: Archive):
    client = client_for(world)
    me = bearer(world, "gvbm")
    r = client.post(
        f"{API}/gvbm/certificates", json={"certificate": _cert(world, "teacher").decode()}, headers=me
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert "Trần Thị Thử (TEST)" in body["subject"] and "Intermediate" in body["issuer"]
    assert body["username"] == "gvbm" and body["added_by"] == "gvbm"
    assert body["check"].startswith("ok; revocation good")  # the dev PKI's OCSP responder answered
    assert re.fullmatch(r"[0-9a-f]+", body["serial"])
    listed = client.get(f"{API}/gvbm/certificates", headers=me).json()
    assert [c["id"] for c in listed] == [body["id"]]
    assert client.delete(f"{API}/gvbm/certificates/{body['id']}", headers=me).status_code == 204
    assert client.get(f"{API}/gvbm/certificates", headers=me).json() == []
    again = client.delete(f"{API}/gvbm/certificates/{body['id']}", headers=me)
    assert (again.status_code, again.json()["error"]) == (404, "certificate_not_found")
    with world.sessions() as s:
        actions = list(
            s.scalars(select(Event.action).where(Event.action.like("certificate.%")).order_by(Event.id))
        )
    assert actions == ["certificate.added", "certificate.removed"]


def test_school_administrator_registers_for_a_teacher_of_the_school_others_may_not(world: Archive):
    client = client_for(world)
    der = base64.b64encode(
        pem.unarmor(_cert(world, "teacher"))[2]
    ).decode()  # base64 of the DER, also accepted
    r = client.post(f"{API}/gvcn/certificates", json={"certificate": der}, headers=bearer(world, "quantri"))
    assert r.status_code == 201, r.text
    assert r.json()["added_by"] == "quantri" and r.json()["username"] == "gvcn"
    # a colleague may neither register for nor look at someone else's certificates
    other = client.post(
        f"{API}/gvcn/certificates",
        json={"certificate": _cert(world, "principal").decode()},
        headers=bearer(world, "gvbm"),
    )
    assert (other.status_code, other.json()["error"]) == (403, "forbidden")
    assert client.get(f"{API}/gvcn/certificates", headers=bearer(world, "gvbm")).status_code == 403
    # nor may an inspector of the Phòng (not their account to manage)
    assert client.get(f"{API}/gvcn/certificates", headers=bearer(world, "thanhtraphong")).status_code == 403


def test_a_certificate_taken_by_someone_else_is_409_and_unreadable_input_is_422(world: Archive):
    client = client_for(world)
    text = _cert(world, "principal").decode()
    assert (
        client.post(
            f"{API}/hieutruong/certificates", json={"certificate": text}, headers=bearer(world, "hieutruong")
        ).status_code
        == 201
    )
    r = client.post(f"{API}/gvbm/certificates", json={"certificate": text}, headers=bearer(world, "gvbm"))
    assert r.status_code == 409
    assert r.json()["error"] == "certificate_taken" and "tài khoản khác" in r.json()["message_vi"]
    bad = client.post(
        f"{API}/gvbm/certificates",
        json={"certificate": "không phải chứng thư"},
        headers=bearer(world, "gvbm"),
    )
    assert (bad.status_code, bad.json()["error"]) == (422, "bad_certificate")
    with world.sessions() as s:
        refused = list(
            s.scalars(select(Event).where(Event.action == "certificate.refused").order_by(Event.id))
        )
    assert [e.detail["error"] for e in refused] == ["certificate_taken", "bad_certificate"]
    assert all(e.actor == "gvbm" and e.outcome == "refused" for e in refused)


def test_routes_are_in_openapi(world: Archive):
    paths = client_for(world).get("/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/users/{username}/certificates"])
    assert "delete" in paths["/api/v1/users/{username}/certificates/{certificate_id}"]
    schema = paths["/api/v1/users/{username}/certificates"]["post"]["responses"]["201"]["content"]
    assert schema["application/json"]["schema"] == {"$ref": "#/components/schemas/CertificateOut"}


def test_account_page_registers_shows_and_removes(world: Archive):
    client = client_for(world)
    login(client, "gvbm")
    page = client.get("/tai-khoan")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None and "Chưa đăng ký chứng thư số nào" in page.text
    files = {"certificate": ("teacher.cer", _cert(world, "teacher"), "application/x-x509-ca-cert")}
    r = client.post(
        "/tai-khoan/chung-thu", data={"csrf_token": csrf.group(1)}, files=files, follow_redirects=False
    )
    assert r.status_code == 303 and "xong=chung_thu" in r.headers["location"]
    page = client.get("/tai-khoan?xong=chung_thu")
    assert "Đã đăng ký chứng thư số" in page.text and "Trần Thị Thử (TEST)" in page.text
    assert re.search(r"\d{2}/\d{2}/\d{4} – \d{2}/\d{2}/\d{4}", page.text)  # Vietnamese dates
    # the same certificate again: a Vietnamese message on the page, not JSON
    files = {"certificate": ("teacher.cer", _cert(world, "teacher"), "application/x-x509-ca-cert")}
    r = client.post("/tai-khoan/chung-thu", data={"csrf_token": csrf.group(1)}, files=files)
    assert r.status_code == 409 and "text/html" in r.headers["content-type"]
    assert "đã được đăng ký cho tài khoản này rồi" in r.text
    bad = {"certificate": ("anh.png", b"\x89PNG not a certificate", "image/png")}
    r = client.post("/tai-khoan/chung-thu", data={"csrf_token": csrf.group(1)}, files=bad)
    assert r.status_code == 422 and "Chứng thư số không đọc được" in r.text
    cert_id = re.search(r"/tai-khoan/chung-thu/(\d+)/go", r.text)
    assert cert_id is not None
    r = client.post(
        f"/tai-khoan/chung-thu/{cert_id.group(1)}/go",
        data={"csrf_token": csrf.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Chưa đăng ký chứng thư số nào" in client.get("/tai-khoan").text


def test_command_line_adds_lists_and_removes(world: Archive, tmp_path: Path):
    env = archive_env(world, HOSO_BASE_URL=world.settings.base_url)
    path = tmp_path / "hieu-truong.pem"
    path.write_bytes(_cert(world, "principal"))

    def hoso(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=env, check=False)

    added = hoso("user", "cert", "add", "hieutruong", str(path), "--by", "hieutruong", "--json")
    assert added.returncode == 0, added.stderr
    assert "Nguyễn Văn Mẫu (TEST)" in json.loads(added.stdout)["subject"]
    listed = hoso("user", "cert", "list", "hieutruong")
    assert "Nguyễn Văn Mẫu (TEST)" in listed.stdout and "→" in listed.stdout
    taken = hoso("user", "cert", "add", "gvbm", str(path))
    assert taken.returncode == 1 and "certificate_taken" in taken.stderr
    refused = hoso("user", "cert", "add", "hieutruong", str(path), "--by", "gvbm")
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    removed = hoso("user", "cert", "remove", "hieutruong", str(json.loads(added.stdout)["id"]))
    assert removed.returncode == 0, removed.stderr
    assert "Chưa có chứng thư số" in hoso("user", "cert", "list", "hieutruong").stdout
