"""Validation results as frozen dataclasses, with ETSI EN 319 102-1 indications and Vietnamese wording.

TT 15/2025/TT-BKHCN asks a verifier to show, in Vietnamese: valid / not valid, issuing CA, signer, the signer's
organisation, signing or timestamp time, integrity, validity at signing time, certificate validity period, and a
warning when neither a CRL nor an OCSP response was available.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .certinfo import CertificateInfo

Verdict = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]
Modification = Literal["none", "ltv_updates", "form_filling", "other"]
Revocation = Literal["good", "revoked", "unknown"]

PASSED: Verdict = "TOTAL_PASSED"
FAILED: Verdict = "TOTAL_FAILED"
INDETERMINATE: Verdict = "INDETERMINATE"

VERDICT_VI = {PASSED: "Hợp lệ", FAILED: "Không hợp lệ", INDETERMINATE: "Chưa xác định"}

# Reasons in Vietnamese for the sub-indications we produce (ETSI names plus a few of our own).
SUB_INDICATION_VI = {
    None: "chữ ký toàn vẹn, chứng thư số tin cậy và còn hiệu lực tại thời điểm ký",
    "HASH_FAILURE": "tài liệu đã bị thay đổi sau khi ký (mã băm không khớp)",
    "SIG_CRYPTO_FAILURE": "giá trị chữ ký không đúng với chứng thư số",
    "FORMAT_FAILURE": "cấu trúc chữ ký hoặc tệp không hợp lệ (có thể đã bị chỉnh sửa trái phép)",
    "REVOKED": "chứng thư số đã bị thu hồi",
    "REVOKED_NO_POE": "chứng thư số đã bị thu hồi và không có bằng chứng chữ ký có trước thời điểm thu hồi",
    "REVOKED_CA_NO_POE": "chứng thư số của tổ chức cấp đã bị thu hồi",
    "EXPIRED": "chứng thư số đã hết hạn",
    "OUT_OF_BOUNDS_NO_POE": "chữ ký được tạo ngoài thời hạn hiệu lực của chứng thư số",
    "OUT_OF_BOUNDS_NOT_REVOKED": "chứng thư số đã hết hạn tại thời điểm kiểm tra",
    "NOT_YET_VALID": "chứng thư số chưa có hiệu lực tại thời điểm ký",
    "NO_CERTIFICATE_CHAIN_FOUND": "không xây dựng được chuỗi chứng thư đến tổ chức cung cấp dịch vụ tin cậy",
    "CHAIN_CONSTRAINTS_FAILURE": "chuỗi chứng thư không thoả mãn ràng buộc",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": "lỗi khi kiểm tra chuỗi chứng thư",
    "CRYPTO_CONSTRAINTS_FAILURE": "thuật toán mật mã không còn đủ an toàn",
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": "thuật toán mật mã không còn đủ an toàn và thiếu bằng chứng thời gian",
    "NO_POE": "thiếu bằng chứng về thời điểm tồn tại của chữ ký",
    "TRY_LATER": "chưa có thông tin thu hồi chứng thư (CRL/OCSP), cần kiểm tra lại sau",
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": "thông tin thu hồi không phù hợp thời điểm ký",
    "TIMESTAMP_ORDER_FAILURE": "thứ tự dấu thời gian không hợp lệ",
    "SIG_CONSTRAINTS_FAILURE": "chữ ký không thoả mãn ràng buộc",
    "NO_SIGNING_CERTIFICATE_FOUND": "không tìm thấy chứng thư số của người ký",
    "SIGNED_DATA_NOT_FOUND": "không tìm thấy dữ liệu đã ký",
    "GENERIC": "không xác định được hiệu lực chữ ký",
    "NO_SIGNATURE": "tài liệu không có chữ ký số",
    "UNREADABLE": "không đọc được tệp PDF",
    "TIMEOUT": "kiểm tra vượt quá thời gian cho phép (tệp có thể độc hại)",
    "VALIDATION_ERROR": "lỗi khi kiểm tra chữ ký",
}


def reason_vi(sub_indication: str | None) -> str:
    return SUB_INDICATION_VI.get(sub_indication, SUB_INDICATION_VI["GENERIC"])


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


@dataclass(frozen=True)
class SignatureReport:
    """One signature or document timestamp of the file."""

    field_name: str
    kind: Literal["signature", "document_timestamp"]
    verdict: Verdict
    sub_indication: str | None
    signer: str | None
    organisation: str | None
    issuer: str | None
    certificate: CertificateInfo | None
    signing_time: datetime | None
    timestamp_time: datetime | None
    intact: bool
    valid: bool
    trusted: bool
    revocation: Revocation
    coverage: str | None
    modification: Modification
    level: str | None
    certification: str | None = None
    warnings: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    @property
    def verdict_vi(self) -> str:
        return VERDICT_VI[self.verdict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "field_name": self.field_name,
            "kind": self.kind,
            "verdict": self.verdict,
            "verdict_vi": self.verdict_vi,
            "sub_indication": self.sub_indication,
            "reason_vi": reason_vi(self.sub_indication),
            "signer": self.signer,
            "organisation": self.organisation,
            "issuer": self.issuer,
            "certificate": self.certificate.to_dict() if self.certificate else None,
            "signing_time": _iso(self.signing_time),
            "timestamp_time": _iso(self.timestamp_time),
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "revocation": self.revocation,
            "coverage": self.coverage,
            "modification": self.modification,
            "level": self.level,
            "certification": self.certification,
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignatureReport:
        """The report `to_dict` wrote (its Vietnamese wording is derived again, not read)."""
        values = {f: data[f] for f in cls.__dataclass_fields__}
        values["certificate"] = (
            CertificateInfo.from_dict(data["certificate"]) if data["certificate"] else None
        )
        values["signing_time"] = _moment(data["signing_time"])
        values["timestamp_time"] = _moment(data["timestamp_time"])
        values["warnings"] = tuple(data["warnings"])
        values["errors"] = tuple(data["errors"])
        return cls(**values)


@dataclass(frozen=True)
class ValidationReport:
    verdict: Verdict
    sub_indication: str | None
    signatures: tuple[SignatureReport, ...]
    validation_time: datetime
    error: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED

    @property
    def verdict_vi(self) -> str:
        return VERDICT_VI[self.verdict]

    @property
    def reason_vi(self) -> str:
        return reason_vi(self.sub_indication)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "sub_indication": self.sub_indication,
            "verdict_vi": self.verdict_vi,
            "reason_vi": self.reason_vi,
            "validation_time": self.validation_time.isoformat(),
            "error": self.error,
            "warnings": list(self.warnings),
            "signatures": [s.to_dict() for s in self.signatures],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        """The report `to_dict` wrote: how a validator process answers (JSON, never pickle)."""
        return cls(
            verdict=data["verdict"],
            sub_indication=data["sub_indication"],
            signatures=tuple(SignatureReport.from_dict(s) for s in data["signatures"]),
            validation_time=datetime.fromisoformat(data["validation_time"]),
            error=data["error"],
            warnings=tuple(data["warnings"]),
        )

    @classmethod
    def failure(cls, sub_indication: str, error: str, at: datetime, verdict: Verdict = INDETERMINATE):
        return cls(verdict, sub_indication, (), at, error=error)


def overall(signatures: tuple[SignatureReport, ...]) -> tuple[Verdict, str | None]:
    if not signatures:
        return INDETERMINATE, "NO_SIGNATURE"
    for wanted in (FAILED, INDETERMINATE):
        for sig in signatures:
            if sig.verdict == wanted:
                return wanted, sig.sub_indication
    return PASSED, None
