"""Validation reports for any PDF: every signature and document timestamp, offline from embedded data by default.

Hostile input is expected: the work runs in another process (a forked worker of signing/workers.py, reused between
files that validate without error) with a time limit and a memory cap set for each file, so a PDF that makes the
parser loop or explode yields a report with an error, never a hang or a crash of the caller.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import multiprocessing
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from asn1crypto import x509

from . import workers
from ._runtime import quiet_pyhanko_logs, run_sync
from .algorithms import digest_mismatch
from .certinfo import certificate_info
from .coverage import covers_whole_file
from .errors import InvalidDocument, ValidationFailed
from .report import FAILED, INDETERMINATE, PASSED, SignatureReport, ValidationReport, Verdict, overall
from .tampering import prefilled_fields_changed, unexplained_tail, unreadable_timestamp_token
from .trust import PathLike, load_certificates

# A worker's address space over what it maps when the job starts (the PDF bytes included). pyHanko bounds every stream it
# decodes (DecodeLimits: 256 MiB per stream, 256 MiB or 100 × the file size for the whole document — we keep its
# defaults for untrusted input), so this is the backstop for what those do not count: parsed objects, certificates,
# CRLs. Relative to the file so a large legitimate B-LTA file (big CRLs embedded) still validates.
MEMORY_HEADROOM = 512 * 1024 * 1024
MEMORY_PER_INPUT_BYTE = 4
_CHAIN_PROBLEMS = {
    "NO_CERTIFICATE_CHAIN_FOUND",
    "CHAIN_CONSTRAINTS_FAILURE",
    "CERTIFICATE_CHAIN_GENERAL_FAILURE",
}
_REVINFO_MISSING = {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE"}
NO_REVINFO_WARNING = (
    "Không có CRL hoặc OCSP để kiểm tra tình trạng thu hồi chứng thư số (no CRL/OCSP available)"
)
_RANK = {PASSED: 0, INDETERMINATE: 1, FAILED: 2}


def validate_pdf(
    pdf_bytes: bytes,
    trust_roots: Sequence[PathLike | x509.Certificate] = (),
    at: datetime | None = None,
    allow_fetching: bool = False,
    time_limit: float = 60.0,
    *,
    isolate: bool = True,
) -> ValidationReport:
    """Validate every signature and document timestamp of ``pdf_bytes``.

    ``trust_roots``: certificate files, folders of them, or certificate objects. ``at``: validate as of that time
    (default now). ``allow_fetching``: fetch CRL/OCSP online; off by default so the verdict rests on embedded data.
    Raises :class:`ValidationFailed` only when the trust roots cannot be read; everything about the PDF is reported.
    """
    roots = load_certificates(trust_roots)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    started = at or datetime.now(UTC)
    if not isolate:
        return _validate_here(pdf_bytes, roots, at, allow_fetching)
    if "fork" in multiprocessing.get_all_start_methods():
        return _validate_in_child(pdf_bytes, roots, at, allow_fetching, time_limit, started)
    return _validate_in_thread(pdf_bytes, roots, at, allow_fetching, time_limit, started)


def _timeout_report(started: datetime, time_limit: float) -> ValidationReport:
    return ValidationReport.failure("TIMEOUT", f"validation did not finish within {time_limit:g} s", started)


def _validate_job(
    pdf_bytes: bytes, root_ders: tuple[bytes, ...], at, allow_fetching: bool
) -> ValidationReport:
    """What a worker runs: the roots travel as DER and are parsed once per worker (asn1crypto keeps what it derives
    from a certificate, such as normalised names, on the object)."""
    return _validate_here(pdf_bytes, _parsed_roots(root_ders), at, allow_fetching)


@functools.lru_cache(maxsize=4)
def _parsed_roots(root_ders: tuple[bytes, ...]) -> list[x509.Certificate]:
    return [x509.Certificate.load(der) for der in root_ders]


def _validate_in_child(pdf_bytes, roots, at, allow_fetching, time_limit, started) -> ValidationReport:
    args = (pdf_bytes, tuple(r.dump() for r in roots), at, allow_fetching)
    memory = MEMORY_HEADROOM + MEMORY_PER_INPUT_BYTE * len(pdf_bytes)
    try:
        finished, report = workers.run(
            _validate_job, args, memory=memory, time_limit=time_limit, reusable=lambda r: r.error is None,
            encode=ValidationReport.to_dict, decode=ValidationReport.from_dict,
        )  # fmt: skip
    except workers.JobFailed as exc:
        return ValidationReport.failure("VALIDATION_ERROR", str(exc), datetime.now(UTC))
    return report if finished else _timeout_report(started, time_limit)


def _validate_in_thread(pdf_bytes, roots, at, allow_fetching, time_limit, started) -> ValidationReport:
    box: list[ValidationReport] = []
    thread = threading.Thread(
        target=lambda: box.append(_validate_here(pdf_bytes, roots, at, allow_fetching)), daemon=True
    )
    thread.start()
    thread.join(time_limit)
    return box[0] if box else _timeout_report(started, time_limit)


def _validate_here(
    pdf_bytes: bytes, roots: list[x509.Certificate], at, allow_fetching: bool
) -> ValidationReport:
    quiet_pyhanko_logs()
    now = at or datetime.now(UTC)
    try:
        return run_sync(_async_validate(pdf_bytes, roots, at, allow_fetching, now))
    except InvalidDocument as exc:
        return ValidationReport.failure("UNREADABLE", str(exc), now)
    except Exception as exc:
        return ValidationReport.failure("VALIDATION_ERROR", f"{type(exc).__name__}: {exc}", now)


def open_reader(pdf_bytes: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader

    if b"%PDF-" not in pdf_bytes[:1024]:
        raise InvalidDocument("not a PDF file (no %PDF- header)")
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=True)
        sigs = list(reader.embedded_signatures)
        return reader, sigs, ()
    except Exception as strict_exc:
        try:
            reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
            sigs = list(reader.embedded_signatures)
        except Exception as exc:
            raise InvalidDocument(f"cannot parse PDF: {type(exc).__name__}: {exc}") from exc
        return reader, sigs, (f"PDF has structural errors, read leniently: {strict_exc}",)


async def _async_validate(pdf_bytes, roots, at, allow_fetching, now) -> ValidationReport:
    reader, sigs, read_warnings = open_reader(pdf_bytes)
    doc_ts_revisions = [s.signed_revision for s in sigs if s.sig_object_type == "/DocTimeStamp"]
    has_dss = "/DSS" in reader.root
    reports = []
    for sig in sigs:
        try:
            if sig.sig_object_type == "/DocTimeStamp":
                reports.append(
                    await _validate_doc_timestamp(sig, reader, pdf_bytes, roots, at, allow_fetching)
                )
            else:
                broken_token = unreadable_timestamp_token(sig.signer_info)
                if broken_token is not None:
                    reports.append(_broken_token_report(sig, broken_token))
                    continue
                lta = bool(has_dss and any(rev > sig.signed_revision for rev in doc_ts_revisions))
                reports.append(
                    await _validate_signature(sig, reader, pdf_bytes, roots, at, allow_fetching, lta, has_dss)
                )
        except Exception as exc:
            reports.append(_error_report(sig, exc))
    signatures = _after_the_last_revision(tuple(reports), pdf_bytes, reader, bool(read_warnings))
    counted = signatures
    if at is not None:
        # as of `at`, the document was what its signatures of that time made it: later ones are reported as not
        # made yet and count only when there is no other
        later = {i for i, r in enumerate(signatures) if (made := _made(r)) is not None and made > at}
        signatures = tuple(_not_made_yet(r, at) if i in later else r for i, r in enumerate(signatures))
        counted = tuple(r for i, r in enumerate(signatures) if i not in later) or signatures
    verdict, sub = overall(counted)
    return ValidationReport(verdict, sub, signatures, now, warnings=tuple(read_warnings))


def _after_the_last_revision(
    reports: tuple[SignatureReport, ...], pdf_bytes: bytes, reader, read_leniently: bool
) -> tuple[SignatureReport, ...]:
    """Bytes no revision accounts for (an appended update whose xref is broken or missing), and files whose later
    revisions could only be read leniently, make every signature that does not cover the whole file suspect."""
    if not reports or any(r.coverage == "entire_file" for r in reports):
        return reports
    tail = unexplained_tail(pdf_bytes, reader)
    if tail:
        message = (
            f"{tail} byte được nối thêm sau phiên bản cuối cùng mà không có bảng tham chiếu (xref) hợp lệ; trình xem "
            f"PDF có thể hiển thị nội dung này (incremental update with a broken or missing xref: {tail} bytes)"
        )
        verdict, sub = FAILED, "FORMAT_FAILURE"
    elif read_leniently:
        message = (
            "Cấu trúc tệp bị lỗi nên không kiểm tra chắc chắn được những thay đổi sau khi ký "
            "(changes after signing cannot be checked reliably: the file structure is broken)"
        )
        verdict, sub = INDETERMINATE, "FORMAT_FAILURE"
    else:
        return reports
    return tuple(
        r if r.coverage == "entire_file" else _flagged(r, verdict, sub, message, modification="other")
        for r in reports
    )


def _made(report: SignatureReport) -> datetime | None:
    """When the signature or document timestamp was made by its own account: its claimed signing time, or its
    timestamp when it claims none."""
    return report.signing_time or report.timestamp_time


def _not_made_yet(report: SignatureReport, at: datetime) -> SignatureReport:
    """Validating "as of" a moment before the signature was made: certvalidator checks the certificates at that
    moment and finds them good, but the signature did not exist yet, so nothing can be said for it at that moment."""
    made = _made(report)
    assert made is not None
    when, made_at = at.isoformat(timespec="seconds"), made.isoformat(timespec="seconds")
    message = (
        f"Chữ ký được tạo lúc {made_at}, sau thời điểm kiểm tra {when}: khi đó chữ ký chưa tồn tại "
        f"(the signature was made at {made_at}, after the validation time {when})"
    )
    return _flagged(report, INDETERMINATE, "NO_POE", message)


def _flagged(
    report: SignatureReport, verdict: Verdict, sub: str, message: str, modification: str | None = None
) -> SignatureReport:
    changes: dict = {"errors": (*report.errors, message)}
    if _RANK[verdict] > _RANK[report.verdict]:
        changes.update(verdict=verdict, sub_indication=sub)
    if modification is not None:
        changes["modification"] = modification
    return dataclasses.replace(report, **changes)


def _field_name(sig) -> str:
    try:
        return str(sig.field_name)
    except Exception:
        return "?"


def _error_report(sig, exc: Exception) -> SignatureReport:
    return SignatureReport(
        field_name=_field_name(sig),
        kind="document_timestamp" if _safe_type(sig) == "/DocTimeStamp" else "signature",
        verdict=INDETERMINATE,
        sub_indication="FORMAT_FAILURE",
        signer=None,
        organisation=None,
        issuer=None,
        certificate=None,
        signing_time=None,
        timestamp_time=None,
        intact=False,
        valid=False,
        trusted=False,
        revocation="unknown",
        coverage=None,
        modification="other",
        level=None,
        errors=(f"{type(exc).__name__}: {exc}",),
    )


def _broken_token_report(sig, problem: str) -> SignatureReport:
    report = _error_report(sig, ValueError(problem))
    return dataclasses.replace(
        report,
        verdict=FAILED,
        errors=(f"Dấu thời gian của chữ ký bị hỏng, không đọc được (timestamp token unreadable: {problem})",),
    )


def _safe_type(sig) -> str | None:
    try:
        return str(sig.sig_object_type)
    except Exception:
        return None


def _modification(status) -> str:
    from pyhanko.sign.diff_analysis import ModificationLevel

    level = status.modification_level
    if level is None:
        return "other"
    return {
        ModificationLevel.NONE: "none",
        ModificationLevel.LTA_UPDATES: "ltv_updates",
        ModificationLevel.FORM_FILLING: "form_filling",
    }.get(level, "other")


def _structural_problem(status) -> tuple[Verdict, str, str] | None:
    """Integrity, coverage and modification checks that trump any trust result (the known PDF attacks land here),
    with what failed in words."""
    from pyhanko.sign.diff_analysis import SuspiciousModification
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if not status.intact:
        return FAILED, "HASH_FAILURE", "Nội dung đã ký bị thay đổi: mã băm không khớp (signed bytes changed)"
    if not status.valid:
        return FAILED, "SIG_CRYPTO_FAILURE", "Giá trị chữ ký không đúng (signature value does not verify)"
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        coverage = status.coverage.name.lower() if status.coverage is not None else "unknown"
        return (
            FAILED,
            "FORMAT_FAILURE",
            f"Vùng ký (ByteRange) không bao trọn phiên bản đã ký (byte range does not cover the signed revision: "
            f"{coverage})",
        )
    if status.docmdp_ok is False or _modification(status) == "other":
        reason = status.diff_result if isinstance(status.diff_result, SuspiciousModification) else None
        detail = f": {str(reason).splitlines()[0]}" if reason is not None and str(reason) else ""
        return (
            FAILED,
            "FORMAT_FAILURE",
            f"Tệp bị sửa đổi không được phép sau khi ký (modified after signing beyond what is allowed{detail})",
        )
    return None


def _verdict_of(subindic) -> tuple[Verdict, str | None]:
    from pyhanko.sign.ades.report import AdESStatus

    if subindic is None or subindic.status is AdESStatus.PASSED:
        return PASSED, None
    return (FAILED if subindic.status is AdESStatus.FAILED else INDETERMINATE), subindic.standard_name


def _level(sig, lta: bool, has_dss: bool) -> str:
    from pyhanko.sign.validation.generic_cms import extract_tst_data_iter

    has_tst = any(True for _ in extract_tst_data_iter(sig.signer_info, signed=False))
    if not has_tst:
        return "B-B"
    if has_dss and lta:
        return "B-LTA"
    return "B-LT" if has_dss else "B-T"


def signature_level_of(pdf_bytes: bytes) -> str | None:
    """The PAdES level the file reaches: the lowest level among its signatures (``None`` when unsigned).

    Raises :class:`InvalidDocument` when the bytes are not a readable PDF.
    """
    reader, sigs, _ = open_reader(pdf_bytes)
    has_dss = "/DSS" in reader.root
    doc_ts = [s.signed_revision for s in sigs if s.sig_object_type == "/DocTimeStamp"]
    order = ["B-B", "B-T", "B-LT", "B-LTA"]
    levels = [
        _level(s, any(r > s.signed_revision for r in doc_ts), has_dss)
        for s in sigs
        if s.sig_object_type == "/Sig"
    ]
    return min(levels, key=order.index) if levels else None


def _base_fields(sig) -> dict:
    cert = sig.signer_cert
    info = certificate_info(cert)
    return {
        "field_name": _field_name(sig),
        "signer": info.common_name or info.subject,
        "organisation": info.organisation,
        "issuer": info.issuer_common_name or info.issuer,
        "certificate": info,
    }


def _certification(sig) -> str | None:
    perm = sig.docmdp_level
    return None if perm is None else perm.name.lower()


def _sound_coverage(status, sig, pdf_bytes: bytes):
    """The status with whole-file coverage when the bytes show it and pyHanko's arithmetic did not."""
    from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE or not status.intact:
        return status
    if not covers_whole_file(pdf_bytes, sig.byte_range, sig.pkcs7_content):
        return status
    return dataclasses.replace(
        status,
        coverage=SignatureCoverageLevel.ENTIRE_FILE,
        diff_result=DiffResult(ModificationLevel.NONE, set()),
        docmdp_ok=True,
    )


def _findings(sig, status, reader) -> list[tuple[Verdict, str, str]]:
    """(verdict, sub-indication, what changed or failed) for problems beyond pyHanko's own verdict."""
    from pyhanko.sign.diff_analysis import DiffResult

    found: list[tuple[Verdict, str, str]] = []
    tst = status.timestamp_validity
    if tst is not None and not tst.intact:
        found.append(
            (
                FAILED,
                "HASH_FAILURE",
                "Dấu thời gian của chữ ký không khớp với chữ ký (timestamp imprint mismatch)",
            )
        )
    elif tst is not None and not tst.valid:
        found.append(
            (
                FAILED,
                "SIG_CRYPTO_FAILURE",
                "Chữ ký của dấu thời gian không đúng, dấu thời gian bị hỏng (timestamp token signature invalid)",
            )
        )
    if isinstance(status.diff_result, DiffResult) and status.diff_result.changed_form_fields:
        changed = prefilled_fields_changed(reader, sig.signed_revision)
        if changed:
            names = ", ".join(changed)
            found.append(
                (
                    FAILED,
                    "FORMAT_FAILURE",
                    f"Trường biểu mẫu đã có nội dung khi ký bị thay giá trị hoặc hình hiển thị sau khi ký: {names} "
                    f"(form fields filled at signing time were changed afterwards: {names})",
                )
            )
    mismatch = digest_mismatch(sig.signer_info)
    if mismatch is not None:
        found.append((INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", mismatch))
    return found


async def _validate_signature(
    sig, reader, pdf_bytes, roots, at, allow_fetching, lta, has_dss
) -> SignatureReport:
    level = _level(sig, lta, has_dss)
    warnings: list[str] = []
    if lta:
        status, verdict, sub = await _lta(sig, roots, at, allow_fetching)
        revocation = "good" if verdict == PASSED else "unknown"
    else:
        status, verdict, sub, revocation = await _classic(sig, reader, roots, at, allow_fetching, warnings)
    if status is None:
        raise ValidationFailed(f"no status for {sig.field_name}: {sub}")
    status = _sound_coverage(status, sig, pdf_bytes)
    errors: list[str] = []
    problem = _structural_problem(status)
    if problem is not None:
        verdict, sub, message = problem
        errors.append(message)
    modification = _modification(status)
    for found_verdict, found_sub, message in _findings(sig, status, reader):
        errors.append(message)
        if (
            found_sub == "FORMAT_FAILURE"
        ):  # signed content re-drawn: not the harmless form filling pyHanko saw
            modification = "other"
        # a crypto-constraint failure names the reason even when the chain is unknown too (both INDETERMINATE)
        if _RANK[found_verdict] > _RANK[verdict] or (
            found_verdict == verdict == INDETERMINATE and found_sub == "CRYPTO_CONSTRAINTS_FAILURE"
        ):
            verdict, sub = found_verdict, found_sub
    if status.revoked or (sub or "").startswith("REVOKED"):
        revocation = "revoked"
    tst = status.timestamp_validity
    trusted = status.validation_path is not None and sub not in _CHAIN_PROBLEMS
    return SignatureReport(
        kind="signature",
        verdict=verdict,
        sub_indication=sub,
        signing_time=status.signer_reported_dt,
        timestamp_time=tst.timestamp if tst is not None else None,
        intact=status.intact,
        valid=status.valid,
        trusted=trusted,
        revocation=revocation,  # type: ignore[arg-type]
        coverage=status.coverage.name.lower() if status.coverage is not None else None,
        modification=modification,  # type: ignore[arg-type]
        level=level,
        certification=_certification(sig),
        warnings=tuple(warnings),
        errors=tuple(errors),
        **_base_fields(sig),
    )


def _revinfo_policy():
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy

    return CertRevTrustPolicy(REQUIRE_REVINFO)


async def _lta(sig, roots, at, allow_fetching):
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.registry import SimpleTrustManager

    rule = RevinfoOnlineFetchingRule.ALWAYS_FETCH if allow_fetching else RevinfoOnlineFetchingRule.LOCAL_ONLY
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=roots), revinfo_policy=_revinfo_policy()
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=rule),
        )
    )
    timing = (
        ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=True)
        if at is not None
        else None
    )
    result = await ades_lta_validation(sig, spec, timing_info=timing)
    verdict, sub = _verdict_of(result.ades_subindic)
    return result.api_status, verdict, sub


def _validation_context(reader, roots, at, allow_fetching, mode: str, *, use_dss: bool = True):
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko_certvalidator import ValidationContext

    kwargs = {"trust_roots": roots, "allow_fetching": allow_fetching, "revocation_mode": mode}
    if at is not None:
        kwargs["moment"] = at
    if use_dss:
        try:
            return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
        except Exception:  # no DSS (NoDSSFoundError) or an unreadable one: validate without it
            pass
    return ValidationContext(**kwargs)


async def _classic(sig, reader, roots, at, allow_fetching, warnings: list[str]):
    from pyhanko.sign.validation import async_validate_pdf_signature

    # first demand revocation data; when there is none, TT 15/2025 wants a warning, not a rejection
    try:
        vc = _validation_context(reader, roots, at, allow_fetching, "require")
    except ValueError:  # certvalidator refuses "require" outright when there is no CRL/OCSP and no fetching
        vc = None
    revocation = "good"
    missing_revinfo = vc is None
    maybe_missing_revinfo = False
    if vc is not None:
        try:
            status = await async_validate_pdf_signature(sig, vc)
        finally:
            await vc.aclose()
        verdict, sub = _verdict_of(status.trust_problem_indic)
        ts_missing_revinfo = (
            status.timestamp_validity is not None
            and _verdict_of(status.timestamp_validity.trust_problem_indic)[1] in _REVINFO_MISSING
        )
        missing_revinfo = sub in _REVINFO_MISSING or ts_missing_revinfo
        # a B-T signature added after B-LT/B-LTA ones: the DSS holds OCSP responses for the other signers only, and
        # certvalidator counts those against this certificate (a general chain failure, even in soft-fail mode)
        maybe_missing_revinfo = sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    if missing_revinfo or maybe_missing_revinfo:
        vc = _validation_context(reader, roots, at, allow_fetching, "soft-fail", use_dss=missing_revinfo)
        try:
            soft_status = await async_validate_pdf_signature(sig, vc)
        finally:
            await vc.aclose()
        soft_verdict, soft_sub = _verdict_of(soft_status.trust_problem_indic)
        if missing_revinfo or soft_verdict == PASSED:  # the latter: it was only the revocation data
            status, verdict, sub = soft_status, soft_verdict, soft_sub
            revocation = "unknown"
            warnings.append(NO_REVINFO_WARNING)
    tst = status.timestamp_validity
    details = status.revocation_details
    # the signature timestamp is proof of existence: signed after revocation means definitely revoked
    if (
        sub == "REVOKED_NO_POE"
        and tst is not None
        and details is not None
        and tst.trusted
        and tst.timestamp >= details.revocation_date
    ):
        verdict, sub = FAILED, "REVOKED"
    # a broken token (imprint or signature) is a finding of _validate_signature; here: a token we cannot trust
    if verdict == PASSED and tst is not None and tst.intact and tst.valid:
        tst_verdict, tst_sub = _verdict_of(tst.trust_problem_indic)
        if tst_verdict != PASSED:
            verdict, sub = INDETERMINATE, tst_sub or "GENERIC"
            warnings.append("Dấu thời gian của chữ ký không hợp lệ (signature timestamp not valid)")
    return status, verdict, sub, revocation


async def _validate_doc_timestamp(sig, reader, pdf_bytes, roots, at, allow_fetching) -> SignatureReport:
    from pyhanko.sign.validation import async_validate_pdf_timestamp

    warnings: list[str] = []
    vc = _validation_context(reader, roots, at, allow_fetching, "soft-fail")
    try:
        status = await async_validate_pdf_timestamp(sig, vc)
    finally:
        await vc.aclose()
    verdict, sub = _verdict_of(status.trust_problem_indic)
    status = _sound_coverage(status, sig, pdf_bytes)
    problem = _structural_problem(status)
    errors: list[str] = []
    if problem is not None:
        verdict, sub, message = problem
        errors.append(message)
    return SignatureReport(
        kind="document_timestamp",
        verdict=verdict,
        sub_indication=sub,
        signing_time=status.timestamp,
        timestamp_time=status.timestamp,
        intact=status.intact,
        valid=status.valid,
        trusted=status.validation_path is not None and sub not in _CHAIN_PROBLEMS,
        revocation="revoked" if status.revoked else ("good" if verdict == PASSED else "unknown"),
        coverage=status.coverage.name.lower() if status.coverage is not None else None,
        modification=_modification(status),  # type: ignore[arg-type]
        level=None,
        warnings=tuple(warnings),
        errors=tuple(errors),
        **_base_fields(sig),
    )
