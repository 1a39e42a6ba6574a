"""Real components for signing tests: the shared certomancer PKI (extended with an expired, a revoked and a seal
certificate) served over HTTP on 127.0.0.1, a SoftHSM token, and a 50-page PDF."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

SHARED_PKI = Path("/work/shared/pki")
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
P12_PASSWORD = b"test-p12-pass"
TOKEN_LABEL = "hoso-test"
USER_PIN = "123456"
EXTRA_KEYS = ["seal", "expired", "revoked", "other-root", "stranger"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def extend_config(config: dict, base_url: str) -> dict:
    config["external-url-prefix"] = base_url
    keys = config["keysets"]["school"]["keys"]
    for name in EXTRA_KEYS:
        keys[name] = {"path": f"{name}.key.pem"}
    arch = config["pki-architectures"]["school"]
    arch["entities"].update(
        {
            "seal": {"organizational-unit-name": "Văn thư", "common-name": "Trường THPT Thử Nghiệm"},
            "expired": {"organizational-unit-name": "Tổ Toán", "common-name": "Lê Thị Hết Hạn"},
            "revoked": {"organizational-unit-name": "Tổ Toán", "common-name": "Phạm Văn Thu Hồi"},
            "other-root": {"organization-name": "Không Tin Cậy", "common-name": "Untrusted Root"},
            "stranger": {"organization-name": "Không Tin Cậy", "common-name": "Người Lạ"},
        }
    )
    certs = arch["certs"]
    certs["seal"] = {"template": "principal", "subject": "seal", "subject-key": "seal"}
    certs["expired"] = {
        "template": "principal",
        "subject": "expired",
        "subject-key": "expired",
        "validity": {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2021-01-01T00:00:00+0000"},
    }
    certs["revoked"] = {
        "template": "principal",
        "subject": "revoked",
        "subject-key": "revoked",
        "revocation": {"revoked-since": "2024-06-01T00:00:00+0000", "reason": "key_compromise"},
    }
    certs["other-root"] = {
        "subject": "other-root",
        "subject-key": "other-root",
        "issuer": "other-root",
        "authority-key": "other-root",
        "validity": {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2060-01-01T00:00:00+0000"},
        "extensions": certs["root"]["extensions"],
    }
    certs["stranger"] = {
        "subject": "stranger",
        "subject-key": "stranger",
        "issuer": "other-root",
        "authority-key": "other-root",
        "validity": {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2045-01-01T00:00:00+0000"},
        "extensions": [
            {
                "id": "key_usage",
                "critical": True,
                "smart-value": {"schema": "key-usage", "params": ["digital_signature", "non_repudiation"]},
            }
        ],
    }
    return config


@dataclass(frozen=True)
class TestPki:
    __test__ = False
    directory: Path
    base_url: str
    tsa_url: str
    root: Path  # trust root certificate file
    interm: Path
    other_root: Path
    p12: dict[str, Path]  # label -> PKCS#12 file (password P12_PASSWORD)
    keys: dict[str, Path]
    certs: dict[str, Path]  # label -> DER certificate


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from werkzeug.serving import make_server

    directory = tmp_path_factory.mktemp("pki")
    shutil.copy(SHARED_PKI / "certomancer.yml", directory / "certomancer.yml")
    key_dir = directory / "keys"
    subprocess.run([sys.executable, str(SHARED_PKI / "gen_keys.py"), str(key_dir)], check=True)
    for name in EXTRA_KEYS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (key_dir / f"{name}.key.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = extend_config(yaml.safe_load((directory / "certomancer.yml").read_text()), base_url)
    (directory / "certomancer-extended.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    cfg = CertomancerConfig(config, key_search_dir=str(directory))
    arch = cfg.get_pki_arch("school")

    certs: dict[str, Path] = {}
    for label in ["root", "interm", "tsa", "interm-ocsp", "principal", "teacher", *EXTRA_KEYS]:
        path = directory / f"{label}.cert.der"
        path.write_bytes(arch.get_cert(label).dump())
        certs[label] = path
    p12 = {}
    for label in ["principal", "teacher", "seal", "expired", "revoked"]:
        path = directory / f"{label}.p12"
        path.write_bytes(arch.package_pkcs12(label, password=P12_PASSWORD))
        p12[label] = path
    p12_stranger = directory / "stranger.p12"
    p12_stranger.write_bytes(
        arch.package_pkcs12("stranger", certs_to_embed=["other-root"], password=P12_PASSWORD)
    )
    p12["stranger"] = p12_stranger

    app = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield TestPki(
        directory=directory,
        base_url=base_url,
        tsa_url=f"{base_url}/school/tsa/tsa",
        root=certs["root"],
        interm=certs["interm"],
        other_root=certs["other-root"],
        p12=p12,
        keys={name: key_dir / f"{name}.key.pem" for name in ["principal", "teacher", *EXTRA_KEYS]},
        certs=certs,
    )
    server.shutdown()


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token_label: str
    pin: str


@pytest.fixture(scope="session")
def softhsm(pki: TestPki, tmp_path_factory) -> SoftHsm:
    if not Path(SOFTHSM_MODULE).exists() or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM is not installed")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {directory / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # must be in the environment before the PKCS#11 library is loaded (first session opened)
    os.environ["SOFTHSM2_CONF"] = str(conf)
    run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
    run(
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        TOKEN_LABEL,
        "--so-pin",
        "87654321",
        "--pin",
        USER_PIN,
    )
    for key_id, label in (("01", "principal"), ("02", "teacher")):
        run(
            "softhsm2-util", "--import", str(pki.keys[label]), "--token", TOKEN_LABEL,
            "--label", label, "--id", key_id, "--pin", USER_PIN,
        )  # fmt: skip
        run(
            "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login", "--pin", USER_PIN,
            "--write-object", str(pki.certs[label]), "--type", "cert", "--id", key_id, "--label", label,
        )  # fmt: skip
    # the chain lives on the token too, so the PKCS#11 signer can embed it
    run(
        "pkcs11-tool", "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--login", "--pin", USER_PIN,
        "--write-object", str(pki.certs["interm"]), "--type", "cert", "--id", "10", "--label", "interm",
    )  # fmt: skip
    return SoftHsm(SOFTHSM_MODULE, TOKEN_LABEL, USER_PIN)


def make_pdf(pages: int = 50, target_size: int = 1_000_000) -> bytes:
    """A ``pages``-page PDF of about ``target_size`` bytes (incompressible image data pads it)."""
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    font = "Helvetica"
    noto = "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf"
    if Path(noto).exists():
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("NotoSerifTest", noto))
        font = "NotoSerifTest"
    per_page = max(0, target_size // pages - 2_000)
    side = max(1, int((per_page / 3) ** 0.5))
    for i in range(pages):
        c.setFont(font, 14)
        c.drawString(72, 770, f"Sổ gọi tên và ghi điểm — trang {i + 1}")
        c.setFont(font, 10)
        for j in range(30):
            c.drawString(72, 740 - j * 18, f"{j + 1}. Học sinh số {i * 30 + j + 1}: điểm kiểm tra 8,5 — Đạt")
        if side > 1:
            img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
            c.drawImage(ImageReader(img), 400, 72, 120, 120)
        c.showPage()
    c.save()
    return buf.getvalue()


@pytest.fixture(scope="session")
def pdf50() -> bytes:
    return make_pdf()


@pytest.fixture(scope="session")
def small_pdf() -> bytes:
    return make_pdf(pages=2, target_size=0)
