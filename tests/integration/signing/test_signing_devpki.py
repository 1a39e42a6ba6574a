"""The dev PKI: created once, served as WSGI under /dev-pki, usable for B-LTA, refused in production."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

import signing
from tests.factories import class_register_pdf
from tests.processes import free_port


@pytest.fixture(scope="module")
def dev_pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("devpki")
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = make_server("127.0.0.1", port, signing.dev_pki_wsgi_app(directory, base_url), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield signing.ensure_dev_pki(directory, base_url)
    server.shutdown()


def test_dev_pki_is_created_once(dev_pki):
    root_before = dev_pki.root_cert.read_bytes()
    key_before = (dev_pki.directory / "keys" / "root.key.pem").stat().st_mtime_ns
    again = signing.ensure_dev_pki(dev_pki.directory, dev_pki.base_url)
    assert again == dev_pki
    assert dev_pki.root_cert.read_bytes() == root_before
    assert (dev_pki.directory / "keys" / "root.key.pem").stat().st_mtime_ns == key_before
    assert dev_pki.tsa_url == f"{dev_pki.base_url}/dev-pki/hoso-dev/tsa/tsa"
    assert dev_pki.seal_image.exists() and dev_pki.signature_image.exists()


def test_dev_pki_serves_tsa_ocsp_crl_for_blta(dev_pki, tmp_path):
    import urllib.request

    with urllib.request.urlopen(dev_pki.crl_urls[1]) as resp:
        assert resp.status == 200 and len(resp.read()) > 100
    seal = signing.Pkcs12Signer(str(dev_pki.seal_p12), dev_pki.p12_password.encode())
    signed = signing.sign_pdf(
        class_register_pdf(2, 0), seal, tsa_url=dev_pki.tsa_url, trust_roots=dev_pki.trust_roots
    )
    report = signing.validate_pdf(signed, dev_pki.trust_roots)
    assert report.passed, report.to_dict()
    assert "TEST" in report.signatures[0].signer and report.signatures[0].level == "B-LTA"


def test_production_check_refuses_dev_pki(dev_pki):
    with pytest.raises(signing.TestPkiRefused):
        signing.refuse_test_pki(signing.Pkcs12Signer(str(dev_pki.seal_p12), dev_pki.p12_password.encode()))
    with pytest.raises(signing.TestPkiRefused):
        signing.refuse_test_pki([dev_pki.root_cert])
