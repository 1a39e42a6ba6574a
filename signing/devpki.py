"""A development/test PKI (root, intermediate, TSA, OCSP, CRLs, a school seal and sample personal signers),
created once in a folder and served by certomancer under ``{base_url}/dev-pki/...``.

Everything here is marked TEST ("— KHÔNG DÙNG THẬT", not for real use) in certificate names and on the sample seal,
and :func:`refuse_test_pki` lets a production configuration reject it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509

from .errors import SigningError, TestPkiRefused
from .trust import load_certificates, parse_certificates

ARCH = "hoso-dev"
MOUNT = "/dev-pki"
MARK = "KHÔNG DÙNG THẬT"
P12_PASSWORD = "hoso-dev-test"
MANIFEST = "dev-pki.json"
PEOPLE = {
    "principal": ("Nguyễn Văn Mẫu (TEST)", "Ban Giám Hiệu", "Hiệu trưởng"),
    "teacher": ("Trần Thị Thử (TEST)", "Tổ Ngữ Văn", "Giáo viên"),
    # enough people for a whole học bạ chain: subject teachers, a homeroom teacher
    "teacher2": ("Lê Văn Toán (TEST)", "Tổ Toán", "Giáo viên"),
    "teacher3": ("Phạm Thị Lý (TEST)", "Tổ Khoa học tự nhiên", "Giáo viên"),
    "teacher4": ("Hoàng Văn Sử (TEST)", "Tổ Khoa học xã hội", "Giáo viên"),
    "homeroom": ("Đỗ Thị Chủ Nhiệm (TEST)", "Tổ Ngữ Văn", "Giáo viên chủ nhiệm"),
}
KEY_NAMES = ("root", "interm", "tsa", "ocsp", "seal", *PEOPLE)
_TEST_NAME = re.compile(r"\btest\b|không dùng thật", re.IGNORECASE)
_lock = threading.Lock()


@dataclass(frozen=True)
class DevPki:
    directory: Path
    base_url: str
    root_cert: Path
    interm_cert: Path
    tsa_url: str
    ocsp_url: str
    crl_urls: tuple[str, ...]
    seal_p12: Path
    signer_p12: dict[str, Path]
    p12_password: str
    seal_image: Path
    signature_image: Path

    @property
    def trust_roots(self) -> list[Path]:
        return [self.root_cert]


def _prefix(base_url: str) -> str:
    return base_url.rstrip("/") + MOUNT


def _key_usage(*usages: str) -> dict[str, Any]:
    return {
        "id": "key_usage",
        "critical": True,
        "smart-value": {"schema": "key-usage", "params": list(usages)},
    }


def _config(base_url: str) -> dict[str, Any]:
    ca_ext = [_key_usage("digital_signature", "key_cert_sign", "crl_sign")]
    leaf_ext = [
        _key_usage("digital_signature", "non_repudiation"),
        {"id": "crl_distribution_points", "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}}},
        {"id": "authority_information_access", "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["interm"]}}},
    ]  # fmt: skip
    entities: dict[str, Any] = {
        "root": {"common-name": f"hoso TEST Root CA — {MARK}"},
        "interm": {"common-name": f"hoso TEST Intermediate CA — {MARK}"},
        "tsa": {"common-name": f"hoso TEST TSA — {MARK}"},
        "ocsp": {"common-name": f"hoso TEST OCSP — {MARK}"},
        "seal": {"common-name": f"Trường THPT Mẫu (TEST) — {MARK}", "organizational-unit-name": "Văn thư"},
    }
    for label, (name, unit, title) in PEOPLE.items():
        entities[label] = {"common-name": name, "organizational-unit-name": unit, "title": title}
    long = {"valid-from": "2024-01-01T00:00:00+0000", "valid-to": "2054-01-01T00:00:00+0000"}
    leaf_validity = {"valid-from": "2024-01-01T00:00:00+0000", "valid-to": "2044-01-01T00:00:00+0000"}
    certs: dict[str, Any] = {
        "root": {
            "subject": "root", "issuer": "root", "authority-key": "root", "validity": long,
            "extensions": [{"id": "basic_constraints", "critical": True, "value": {"ca": True}}, *ca_ext],
        },
        "interm": {
            "issuer": "root", "validity": long,
            "extensions": [
                {"id": "basic_constraints", "critical": True, "value": {"ca": True, "path-len-constraint": 0}},
                *ca_ext,
                {"id": "crl_distribution_points", "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
            ],
        },
        "ocsp": {
            "issuer": "interm", "validity": long,
            "extensions": [
                _key_usage("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                {"id": "ocsp_no_check"},
            ],
        },
        "tsa": {
            "issuer": "root", "validity": long,
            "extensions": [
                _key_usage("digital_signature"),
                {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                {"id": "crl_distribution_points", "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
            ],
        },
    }  # fmt: skip
    for label in ("seal", *PEOPLE):
        certs[label] = {"issuer": "interm", "validity": leaf_validity, "extensions": leaf_ext}
    return {
        "external-url-prefix": _prefix(base_url),
        "keysets": {ARCH: {"path-prefix": "keys", "keys": {k: {"path": f"{k}.key.pem"} for k in KEY_NAMES}}},
        "pki-architectures": {
            ARCH: {
                "keyset": ARCH,
                "entity-defaults": {"country-name": "VN", "organization-name": f"hoso TEST — {MARK}"},
                "entities": entities,
                "certs": certs,
                "services": {
                    "ocsp": {
                        "interm": {"for-issuer": "interm", "responder-cert": "ocsp", "signing-key": "ocsp"}
                    },
                    "crl-repo": {
                        "root": {
                            "for-issuer": "root",
                            "signing-key": "root",
                            "simulated-update-schedule": "P90D",
                        },
                        "interm": {
                            "for-issuer": "interm",
                            "signing-key": "interm",
                            "simulated-update-schedule": "P7D",
                        },
                    },
                    "cert-repo": {
                        "root": {"for-issuer": "root", "publish-issued-certs": True},
                        "interm": {"for-issuer": "interm", "publish-issued-certs": True},
                    },
                    "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
                },
            }
        },
    }


def _write_keys(key_dir: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key_dir.mkdir(parents=True, exist_ok=True)
    for name in KEY_NAMES:
        path = key_dir / f"{name}.key.pem"
        if path.exists():
            continue
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        tmp.chmod(0o600)
        tmp.replace(path)


def _certomancer(directory: Path, base_url: str):
    from certomancer.registry import CertomancerConfig

    return CertomancerConfig(_config(base_url), key_search_dir=str(directory))


def _sample_images(directory: Path) -> tuple[Path, Path]:
    """A red TEST seal and a blue TEST signature, transparent PNGs."""
    from PIL import Image, ImageDraw, ImageFont

    seal_path, sig_path = directory / "seal-TEST.png", directory / "signature-TEST.png"
    font_path = "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"

    def font(size: int):
        try:
            return ImageFont.truetype(font_path, size)
        except OSError:
            return ImageFont.load_default()

    if not seal_path.exists():
        img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        red = (200, 16, 32, 255)
        d.ellipse((10, 10, 390, 390), outline=red, width=14)
        d.ellipse((60, 60, 340, 340), outline=red, width=5)
        d.text((200, 170), "MẪU THỬ", fill=red, font=font(48), anchor="mm")
        d.text((200, 235), "TEST", fill=red, font=font(64), anchor="mm")
        d.text((200, 300), MARK, fill=red, font=font(22), anchor="mm")
        img.save(seal_path)
    if not sig_path.exists():
        img = Image.new("RGBA", (600, 240), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        blue = (20, 40, 180, 255)
        d.line(
            [(30, 180), (120, 60), (180, 190), (260, 50), (330, 170), (420, 80), (560, 140)],
            fill=blue,
            width=8,
        )
        d.text((300, 215), "TEST", fill=blue, font=font(32), anchor="mm")
        img.save(sig_path)
    return seal_path, sig_path


def ensure_dev_pki(directory: str | Path, base_url: str) -> DevPki:
    """Create the dev PKI in ``directory`` if it is not there yet (keys are kept; certificates are rewritten when
    ``base_url`` changes, since CRL/OCSP URLs are inside them)."""
    directory = Path(directory)
    with _lock:
        directory.mkdir(parents=True, exist_ok=True)
        manifest_path = directory / MANIFEST
        if manifest_path.exists():
            manifest = json.loads(manifest_path.read_text())
            # a PKI made before more people were added is made again (its keys are kept)
            if manifest.get("base_url") == base_url and set(PEOPLE) <= set(manifest.get("p12", {})):
                return _from_manifest(directory, manifest)
        _write_keys(directory / "keys")
        cfg = _certomancer(directory, base_url)
        arch = cfg.get_pki_arch(ARCH)
        for label in ("root", "interm", "tsa", "ocsp", "seal", *PEOPLE):
            (directory / f"{label}.cert.pem").write_bytes(_pem(arch.get_cert(label).dump()))
        p12 = {}
        for label in ("seal", *PEOPLE):
            path = directory / f"{label}.p12"
            path.write_bytes(arch.package_pkcs12(label, password=P12_PASSWORD.encode()))
            path.chmod(0o600)
            p12[label] = path.name
        _sample_images(directory)
        manifest = {"base_url": base_url, "arch": ARCH, "p12": p12, "p12_password": P12_PASSWORD}
        tmp = manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        tmp.replace(manifest_path)
        return _from_manifest(directory, manifest)


def _pem(der: bytes) -> bytes:
    from asn1crypto import pem

    return pem.armor("CERTIFICATE", der)


def _from_manifest(directory: Path, manifest: dict[str, Any]) -> DevPki:
    prefix = f"{_prefix(manifest['base_url'])}/{ARCH}"
    p12 = {label: directory / name for label, name in manifest["p12"].items()}
    return DevPki(
        directory=directory,
        base_url=manifest["base_url"],
        root_cert=directory / "root.cert.pem",
        interm_cert=directory / "interm.cert.pem",
        tsa_url=f"{prefix}/tsa/tsa",
        ocsp_url=f"{prefix}/ocsp/interm",
        crl_urls=(f"{prefix}/crls/root/latest.crl", f"{prefix}/crls/interm/latest.crl"),
        seal_p12=p12["seal"],
        signer_p12={k: v for k, v in p12.items() if k != "seal"},
        p12_password=manifest["p12_password"],
        seal_image=directory / "seal-TEST.png",
        signature_image=directory / "signature-TEST.png",
    )


def dev_pki_wsgi_app(directory: str | Path, base_url: str):
    """WSGI app serving the dev PKI's TSA, OCSP, CRLs and certificates. Mount it at ``/dev-pki`` (paths that still
    carry the ``/dev-pki`` prefix, e.g. when served on its own, work too)."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore

    ensure_dev_pki(directory, base_url)
    cfg = _certomancer(Path(directory), base_url)
    animator = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == MOUNT or path.startswith(MOUNT + "/"):
            environ = dict(
                environ, PATH_INFO=path[len(MOUNT) :], SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + MOUNT
            )
        return animator(environ, start_response)

    return app


def is_test_certificate(cert: x509.Certificate | bytes) -> bool:
    """True for certificates named as test material (ours say TEST / KHÔNG DÙNG THẬT) in subject or issuer."""
    if isinstance(cert, bytes):
        certs = parse_certificates(cert)
        if not certs:
            raise SigningError("no certificate in the given bytes")
        cert = certs[0]
    names = (cert.subject.human_friendly, cert.issuer.human_friendly)
    return any(_TEST_NAME.search(name) for name in names)


def _certs_of(item: Any) -> list[x509.Certificate]:
    from .signers import Pkcs11Signer, Pkcs12Signer, load_signer

    if isinstance(item, x509.Certificate):
        return [item]
    if isinstance(item, bytes):
        return parse_certificates(item)
    if isinstance(item, Pkcs12Signer | Pkcs11Signer):
        signer = load_signer(item)
        certs = [signer.signing_cert] if signer.signing_cert is not None else []
        return certs + list(signer.cert_registry)
    return load_certificates([item])


def refuse_test_pki(cert_or_paths: Any) -> None:
    """Raise :class:`TestPkiRefused` if any certificate given (objects, DER/PEM bytes, files, folders, signer
    configs, or an iterable of these) is test material. For production start-up checks."""
    items: Iterable[Any]
    if isinstance(cert_or_paths, (str, Path, bytes, x509.Certificate)) or not isinstance(
        cert_or_paths, Iterable
    ):
        items = [cert_or_paths]
    else:
        items = cert_or_paths
    for item in items:
        for cert in _certs_of(item):
            if is_test_certificate(cert):
                raise TestPkiRefused(
                    f"test certificate not allowed in production: {cert.subject.human_friendly} "
                    f"(issued by {cert.issuer.human_friendly})"
                )
