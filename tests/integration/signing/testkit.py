"""Helpers and constants for the signing tests, shared by conftest.py and the test modules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# the test PKI configuration is kept in the repository (tests/pki), not read from where shared/ happens to be
SHARED_PKI = Path(__file__).resolve().parents[2] / "pki"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
P12_PASSWORD = b"test-p12-pass"
TOKEN_LABEL = "hoso-test"
USER_PIN = "123456"
EXTRA_KEYS = ["seal", "expired", "revoked", "other-root", "stranger"]


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


@dataclass(frozen=True)
class SoftHsm:
    module: str
    token_label: str
    pin: str
