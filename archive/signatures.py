"""Signing stored documents: server-held organisation keys, the two-step flow for a person's own token, validation.

The archive never holds a person's private key (Luật Giao dịch điện tử 2023; Nghị định 23/2025): personal signatures
go through signing sessions (deferred signing); server-side keys are the organisation's (the school seal).
Every signature is a new immutable version stored in all replicas, with its validation report.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import signing
from signing import Appearance, SigningError
from signing import trust as signing_trust
from signing.signers import SignerConfig

from . import certificates, chain_layout, chains, validation_cache
from .access_events import after_commit
from .certificates import registered_certificate
from .chain_models import SigningRequest
from .context import Archive
from .db import utcnow
from .documents import get_document, open_content, open_verified_content
from .errors import ArchiveError, Conflict, InvalidInput, NotFound, PermissionDenied
from .events import record_event
from .ingest import add_version_from_bytes
from .models import Document, User, Version
from .permissions import authorize, permitted
from .signing_models import SigningSession
from .signing_setup import ArchiveSigning, SigningSetup

SESSION_TTL = timedelta(hours=24)


# --- who may sign: the one rule the API, the web pages and the CLI apply ------------------------------------------
def is_own_record(user: User, doc: Document) -> bool:
    """A teacher's own record: one they uploaded, or one naming them as its teacher."""
    return doc.created_by_id == user.id or (bool(doc.teacher) and doc.teacher == user.full_name)


def signing_action(
    session: Session, user: User, doc: Document, *, scopes: frozenset[str] | None = None
) -> str:
    """The right a personal signature on `doc` needs: document.sign for a competent person (principal …); a teacher
    may sign only their own records, with document.sign_own."""
    own = is_own_record(user, doc) or chains.is_step_signer(session, doc, user)
    if own and not permitted(session, user, "document.sign", doc.school, scopes=scopes):
        return "document.sign_own"
    return "document.sign"


def may_sign(session: Session, user: User, doc: Document) -> bool:
    """`authorize_signing` as a yes/no for showing a button (records nothing)."""
    return permitted(session, user, signing_action(session, user, doc), doc.school)


def authorize_signing(
    archive: Archive, user: User, doc_id: str, action: str, *, scopes: frozenset[str] | None = None
) -> User:
    """Raise PermissionDenied (recorded) unless `user` may do `action` (document.sign, document.seal,
    document.validate) on the document; returns the user, detached."""
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        attached = session.merge(user, load=True)
        if action == "document.sign":
            action = signing_action(session, attached, doc, scopes=scopes)
        authorize(session, attached, action, doc.school, scopes=scopes, document_id=doc.id)
        session.expunge(attached)
        return attached


def authorize_session_owner(
    archive: Archive, user: User, row: SigningSession, *, scopes: frozenset[str] | None = None
) -> User:
    """Only the person who opened a signing session (or the system administrator) may see or complete it, and only
    while they may still sign the document."""
    if user.id != row.created_by_id and not user.is_system_admin:
        with archive.sessions() as session, session.begin():
            record_event(
                session, "access.denied", actor=session.merge(user), document_id=row.document_id,
                outcome="denied", detail={"action": "signing_session", "session": row.id},
            )  # fmt: skip
        raise PermissionDenied(
            "Chỉ người đã mở phiên ký mới được dùng phiên ký này",
            "Only the person who opened this signing session may use it",
        )
    return authorize_signing(archive, user, row.document_id, "document.sign", scopes=scopes)


def certificate_der(text: str) -> bytes:
    """A certificate given as text (PEM, or base64 of the DER) → DER; unreadable is a bilingual 422."""
    return certificates.certificate_der(text)


def signing_of(archive: Archive) -> ArchiveSigning:
    """The archive's signing; a process built without it (archive.signing None) cannot sign or validate."""
    if archive.signing is None:
        raise SigningError("this process has no signing setup")
    return archive.signing


def setup_of(archive: Archive) -> SigningSetup:
    return signing_of(archive).setup


def signing_error(exc: SigningError) -> ArchiveError:
    """Map signing/ failures to a clear, bilingual API error."""
    if isinstance(exc, signing.SignatureMismatch):
        return InvalidInput(
            "Chữ ký gửi về không khớp với chứng thư số hoặc với tài liệu đã chuẩn bị",
            f"The returned signature does not match the certificate or the prepared document: {exc}",
            code="signature_mismatch",
        )
    if isinstance(exc, signing.CertificateRejected):
        return InvalidInput(
            "Chứng thư số không hợp lệ tại thời điểm ký (hết hạn, chưa có hiệu lực hoặc bị từ chối)",
            f"The certificate is not acceptable for signing now: {exc}",
            code="certificate_rejected",
        )
    if isinstance(
        exc, signing.TimestampUnavailable | signing.ValidationDataUnavailable | signing.SignerUnavailable
    ):
        return ArchiveError(
            "Dịch vụ ký số tạm thời không sẵn sàng (khóa, dấu thời gian hoặc dữ liệu kiểm tra chứng thư)",
            f"Signing service unavailable: {exc}",
            code="signing_unavailable",
            status=503,
        )
    if isinstance(exc, signing.InvalidDocument):
        return InvalidInput(
            "Tài liệu không ký được (không phải PDF hợp lệ)",
            f"Cannot sign this file: {exc}",
            code="not_signable",
        )
    return ArchiveError("Ký số không thành công", f"Signing failed: {exc}", code="signing_failed", status=422)


def _current_pdf(archive: Archive, doc_id: str, actor: User | None) -> tuple[bytes, Version]:
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        version = doc.current
        if version is None:
            raise NotFound("Hồ sơ chưa có tệp", "The document has no file yet")
        if version.media_type != "application/pdf":
            raise InvalidInput(
                "Chỉ ký số được tệp PDF", "Only PDF files can be signed (PAdES)", code="not_signable"
            )
        if doc.status != "active":
            raise Conflict("Hồ sơ đã bị hủy", "The document has been disposed of", code="disposed")
    content = open_content(archive, doc_id, version=version.number, actor=actor)
    return b"".join(content.chunks), version


def _signer_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            k: s.get(k)
            for k in ("signer", "organisation", "signing_time", "timestamp_time", "level", "verdict")
        }
        for s in report.get("signatures", [])
    ]


def appearance_from(spec: dict[str, Any] | None, setup: SigningSetup) -> Appearance:
    """Build an Appearance from an API/CLI spec: {"kind": "invisible"|"text"|"person"|"seal", …}."""
    if not spec or spec.get("kind", "invisible") == "invisible":
        return Appearance.invisible()
    kind = spec["kind"]
    if kind == "text":
        lines = tuple(str(x) for x in spec.get("lines", ()))
        if not lines:
            raise InvalidInput(
                "Cần nội dung dòng chữ cho chữ ký dạng văn bản", "A text-form signature needs lines"
            )
        return Appearance.text_form(*lines)
    if kind in ("person", "seal"):
        sig = _image(spec.get("signature_image"))
        seal = _image(spec.get("seal_image"))
        if kind == "seal" and seal is None and setup.dev_pki is not None:
            seal = setup.dev_pki.seal_image.read_bytes()
        return Appearance.person(
            title=str(spec.get("title", "")), full_name=str(spec.get("full_name", "")), signature_image=sig,
            seal_image=seal,
        )  # fmt: skip
    raise InvalidInput(f"Kiểu hiển thị chữ ký không hợp lệ: {kind}", f"Unknown appearance kind {kind!r}")


def _image(value: Any) -> bytes | None:
    if not value:
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise InvalidInput(
            "Ảnh chữ ký phải là PNG mã hóa base64", "Images must be base64-encoded PNG"
        ) from None
    if not data.startswith(b"\x89PNG"):
        raise InvalidInput("Ảnh chữ ký phải là tệp PNG", "Images must be PNG files")
    return data


def sign_document(
    archive: Archive,
    doc_id: str,
    *,
    signer: SignerConfig | None = None,
    level: str | None = None,
    appearance: Appearance | None = None,
    reason: str | None = None,
    certify: bool = False,
    actor: User | None = None,
) -> Version:
    """Sign the current version with a server-held key (the organisation's by default) → a new version."""
    setup = setup_of(archive)
    signer = signer or setup.org_signer
    if signer is None:
        raise ArchiveError(
            "Chưa cấu hình khóa ký của đơn vị",
            "No organisation signing key is configured",
            code="no_signer",
            status=503,
        )
    data, base = _current_pdf(archive, doc_id, actor)
    lvl = level or setup.default_level
    step = _claim_step(archive, doc_id, actor, seal=True)
    field_name: str | None = None
    if step is not None:
        with archive.sessions() as session, session.begin():
            doc = get_document(session, doc_id)
            row = session.get(SigningRequest, step)
            assert row is not None
            chain_layout.assign(session, doc, data)
            place = chain_layout.place_of(row, doc, data)
            seal = setup.dev_pki.seal_image.read_bytes() if setup.dev_pki is not None else None
            if appearance is not None and appearance.seal_image is not None:
                seal = appearance.seal_image  # type: ignore[assignment]
            appearance = (
                Appearance.person(title="", full_name="", seal_image=seal).placed(
                    place.page, place.box, place.new_page_heading
                )
                if seal is not None
                else Appearance.invisible()
            )
            field_name = place.field_name
    try:
        signed = signing.sign_pdf(
            data, signer, level=lvl, tsa_url=setup.tsa_url, trust_roots=setup.trust_roots,
            appearance=appearance, reason=reason, certify=certify, field_name=field_name,
        )  # fmt: skip
    except SigningError as exc:
        raise signing_error(exc) from None
    report = signing_of(archive).validate(signed)
    newest = report["signatures"][-1] if report.get("signatures") else {}
    version = add_version_from_bytes(
        archive, doc_id, signed, base_version=base.number, actor=actor, signed=True, validation=report,
        reason=reason or "Ký số / signed", event="document.sign",
        event_detail={"level": lvl, "signer": newest.get("signer"), "verdict": report.get("verdict"),
                      "signers": _signer_summary(report)},
        appends=True, then=_record_step(step, actor),
    )  # fmt: skip
    return after_step(archive, doc_id, version, step)


def ensure_own_certificate(archive: Archive, actor: User, doc_id: str, certificate: bytes) -> None:
    """403 `certificate_not_yours` (recorded) unless the certificate is registered to the signer's account."""
    with archive.sessions() as session:
        if registered_certificate(session, actor.id, certificate) is not None:
            return
    subject = _subject_name(certificate)
    with archive.sessions() as session, session.begin():
        doc = get_document(session, doc_id)
        record_event(
            session, "access.denied", actor=session.merge(actor), document_id=doc_id,
            organisation_id=doc.school_id, outcome="denied",
            detail={"action": "document.sign", "error": "certificate_not_yours", "certificate": subject,
                    "sha256": hashlib.sha256(certificate).hexdigest()},
        )  # fmt: skip
    raise PermissionDenied(
        f"Chứng thư số ({subject or 'không rõ tên'}) không được đăng ký cho tài khoản của bạn. "
        "Hãy đăng ký chứng thư ở trang Tài khoản trước khi ký.",
        f"The certificate ({subject or 'unnamed'}) is not registered to your account; register it first",
        code="certificate_not_yours",
    )


TITLE_BY_ROLE = (  # the most senior role a person holds at the school names them on the page
    ("hieu_truong", "HIỆU TRƯỞNG"),
    ("pho_hieu_truong", "PHÓ HIỆU TRƯỞNG"),
    ("to_truong", "TỔ TRƯỞNG CHUYÊN MÔN"),
    ("gvcn", "GIÁO VIÊN CHỦ NHIỆM"),
    ("gvbm", "GIÁO VIÊN"),
    ("school_admin", "CÁN BỘ QUẢN TRỊ"),
    ("van_thu", "VĂN THƯ"),
)


def role_title(session: Session, user: User, school_id: int) -> str:
    from .models import RoleAssignment

    held = set(
        session.scalars(
            select(RoleAssignment.role).where(
                RoleAssignment.user_id == user.id, RoleAssignment.organisation_id == school_id
            )
        )
    )
    return next((title for role, title in TITLE_BY_ROLE if role in held), "")


def person_appearance(
    row: SigningRequest | None, user: User, requested: Appearance | None, *, title: str = ""
) -> Appearance:
    """The visible signature of a person: title from the chain step (or the person's role), name from the account,
    never typed by the signer; only the handwritten image may come from them."""
    if row is not None:
        title = f"GVBM {row.subject}" if row.who == "subject_teachers" and row.subject else row.title_vi
    image = requested.signature_image if requested is not None else None
    return Appearance.person(
        title=title.upper(), full_name=user.full_name or user.username, signature_image=image
    )


def _claim_step(archive: Archive, doc_id: str, actor: User | None, *, seal: bool) -> int | None:
    """The chain's waiting step this signature is for (409 when it is not the signer's turn); None: no chain."""
    if actor is None:
        return None
    with archive.sessions() as session, session.begin():
        doc = get_document(session, doc_id)
        row = chains.claim(session, doc, session.merge(actor), seal=seal)
        return row.id if row is not None else None


def _record_step(step: int | None, actor: User | None):
    def then(session: Session, doc: Document, version: Version) -> None:
        if step is not None and actor is not None:
            chains.record_signed(session, doc, step, session.merge(actor), version.number)

    return then


def after_step(archive: Archive, doc_id: str, version: Version, step: int | None) -> Version:
    """When the signature finished the chain, the system extends the record to B-LTA (its validation data and a
    document timestamp), an append that a year lock does not stop."""
    if step is None:
        return version
    with archive.sessions() as session:
        doc = get_document(session, doc_id)
        complete = chains.state_of(session, doc).status == "complete"
    if not complete:
        return version
    return extend_to_lta(archive, doc_id, version)


def extend_to_lta(archive: Archive, doc_id: str, version: Version) -> Version:
    ours = signing_of(archive)
    content = open_content(archive, doc_id, version=version.number, actor=None)
    data = b"".join(content.chunks)
    if ours.lta_inspect(data)[0] is not None:
        return version  # already B-LTA (the seal was applied at that level)
    try:
        extended = ours.lta_renew(data)
    except SigningError as exc:
        raise signing_error(exc) from None
    report = ours.validate(extended)
    return add_version_from_bytes(
        archive, doc_id, extended, base_version=version.number, actor=None, signed=True, validation=report,
        reason="Hoàn tất quy trình ký: bổ sung dữ liệu kiểm tra và dấu thời gian (B-LTA)", event="chain.complete",
        event_detail={"verdict": report.get("verdict")}, appends=True,
    )  # fmt: skip


@dataclass(frozen=True)
class StartedSession:
    id: str
    request: dict[str, Any]
    expires_at: datetime
    base_version: int


def start_signing_session(
    archive: Archive,
    doc_id: str,
    *,
    certificate: bytes,
    chain: list[bytes] | None = None,
    level: str | None = None,
    appearance: Appearance | None = None,
    reason: str | None = None,
    actor: User | None = None,
) -> StartedSession:
    """Prepare the document for a signature by the holder of `certificate` (the key stays on their token)."""
    setup = setup_of(archive)
    data, base = _current_pdf(archive, doc_id, actor)
    lvl = level or setup.default_level
    field_name: str | None = None
    if actor is not None:
        ensure_own_certificate(archive, actor, doc_id, certificate)
        with archive.sessions() as session, session.begin():
            doc = get_document(session, doc_id)
            step = chains.claim(session, doc, session.merge(actor))
            if step is not None:
                chain_layout.assign(session, doc, data)
                place = chain_layout.place_of(step, doc, data)
                appearance = person_appearance(step, session.merge(actor), appearance).placed(
                    place.page, place.box, place.new_page_heading
                )
                field_name = place.field_name
            elif appearance is not None and appearance.kind == "person":
                who = session.merge(actor)
                appearance = person_appearance(
                    None, who, appearance, title=role_title(session, who, doc.school_id)
                )
    try:
        from asn1crypto import x509

        chain_certs = [x509.Certificate.load(c) for c in (chain or [])]
        if not chain_certs and setup.dev_pki is not None:
            # the dev PKI's personal certificates come from its intermediate CA; tokens usually carry it too
            chain_certs = signing_trust.load_certificates([setup.dev_pki.interm_cert])
        prepared = signing.prepare_deferred(
            data,
            certificate,
            chain=chain_certs,
            level=lvl,
            tsa_url=setup.tsa_url,
            appearance=appearance,
            reason=reason,
            field_name=field_name,
        )
    except SigningError as exc:
        raise signing_error(exc) from None
    except ValueError as exc:
        raise InvalidInput(
            "Chứng thư số không đọc được", f"Unreadable certificate: {exc}", code="bad_certificate"
        ) from None
    request = prepared.to_request_dict()
    now = utcnow()
    with archive.sessions() as session, session.begin():
        row = SigningSession(
            document_id=doc_id,
            base_version=base.number,
            certificate_sha256=hashlib.sha256(prepared.certificate).hexdigest(),
            signer_name=_subject_name(prepared.certificate),
            level=str(lvl),
            state=prepared.state.to_json(),
            request=json.dumps(request),
            reason=reason or "",
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
        session.add(row)
        session.flush()
        request["session_id"] = row.id
        doc = get_document(session, doc_id)
        record_event(
            session, "signing_session.start", actor=session.merge(actor) if actor else None, document_id=doc_id,
            organisation_id=doc.school_id, detail={"session": row.id, "signer": row.signer_name, "level": str(lvl)},
        )  # fmt: skip
        return StartedSession(row.id, request, row.expires_at, base.number)


def _subject_name(cert_der: bytes) -> str:
    from asn1crypto import x509

    try:
        return str(x509.Certificate.load(cert_der).subject.native.get("common_name", ""))
    except ValueError:
        return ""


def finish_signing_session(
    archive: Archive, session_id: str, signature: bytes | str | dict[str, Any], *, actor: User | None = None
) -> Version:
    setup = setup_of(archive)
    row = pending_session(archive, session_id)
    if row.status != "pending":
        raise Conflict(
            f"Phiên ký đã kết thúc ({row.status})",
            f"The signing session is {row.status}",
            code="session_closed",
        )
    if row.expires_at <= utcnow():
        raise Conflict("Phiên ký đã hết hạn", "The signing session has expired", code="session_expired")
    state, doc_id, base, level, signer_name = (
        row.state,
        row.document_id,
        row.base_version,
        row.level,
        row.signer_name,
    )
    try:
        signed = signing.finish_deferred(
            state, signature, trust_roots=setup.trust_roots, tsa_url=setup.tsa_url
        )
    except SigningError as exc:
        err = signing_error(exc)
        with archive.sessions() as session, session.begin():
            doc = get_document(session, doc_id)
            record_event(
                session, "signing_session.rejected", actor=session.merge(actor) if actor else None,
                document_id=doc_id, organisation_id=doc.school_id, outcome="error",
                detail={"session": session_id, "error": err.code, "reason": str(exc)[:500]},
            )  # fmt: skip
        raise err from None
    report = signing_of(archive).validate(signed)
    step = _claim_step(archive, doc_id, actor, seal=False)
    version = add_version_from_bytes(
        archive, doc_id, signed, base_version=base, actor=actor, signed=True, validation=report,
        reason=row.reason or f"Ký số bởi {signer_name}", event="document.sign",
        event_detail={"level": level, "signer": signer_name, "session": session_id, "verdict": report.get("verdict"),
                      "signers": _signer_summary(report)},
        appends=True, then=_record_step(step, actor),
    )  # fmt: skip
    with archive.sessions() as session, session.begin():
        done = session.get(SigningSession, session_id)
        assert done is not None
        done.status = "completed"
        done.completed_at = utcnow()
        done.result_version = version.number
    return after_step(archive, doc_id, version, step)


def validate_document(
    archive: Archive,
    doc_id: str,
    *,
    version: int | None = None,
    at: datetime | None = None,
    actor: User | None = None,
) -> dict[str, Any]:
    """The validation report of a stored version, from archive/validation_cache.py when the same bytes were validated
    against the same trust roots in the same hour; each request is recorded (document.validate) either way.

    A report "as of" a given moment (`at`) is that moment's alone, validated each time and never kept: within one
    hour a signature may not exist yet at one moment and exist at the next, so the hour's report would be wrong for
    one of them (and a report as of a moment of this hour would be served as now's)."""
    arch_signing = signing_of(archive)
    cached = at is None
    trust = validation_cache.trust_version(arch_signing.setup.trust_roots)
    bucket = validation_cache.bucket_of(at)
    with archive.sessions() as session, session.begin():
        found = validation_cache.lookup(session, doc_id, version, trust, bucket)
        if found.media_type != "application/pdf":
            raise InvalidInput(
                "Chỉ kiểm tra chữ ký số trên tệp PDF", "Only PDF files carry PAdES signatures", code="not_pdf"
            )
        doc, sha, report = found.doc, found.sha256, found.report if cached else None
        if report is not None:
            _record_validation(session, doc, actor, report, sha)
    if report is None:
        # the version as just looked up: no second visit to the catalog before the replicas are read
        content = open_verified_content(
            archive, sha, found.filename, found.media_type, found.size, doc.id, doc.school_id, None,
            saved_as=found.filename, record_download=False,
        )  # fmt: skip
        report = arch_signing.validate(b"".join(content.chunks), at=at)
        with archive.sessions() as session, session.begin():
            if cached:
                validation_cache.keep(session, sha, trust, bucket, report)
            _record_validation(session, doc, actor, report, sha)
    return report | {"document_id": doc_id, "sha256": sha}


def _record_validation(
    session: Session, doc: Document, actor: User | None, report: dict[str, Any], sha: str
) -> None:
    # an access, not work: group-committed with the other accesses once the caller's transaction has committed
    after_commit(
        session, "document.validate", actor=actor, document_id=doc.id, organisation_id=doc.school_id,
        detail={"verdict": report.get("verdict"), "sha256": sha},
    )  # fmt: skip


def pending_session(archive: Archive, session_id: str) -> SigningSession:
    with archive.sessions() as session:
        row = session.scalar(select(SigningSession).where(SigningSession.id == session_id))
        if row is None:
            raise NotFound(
                "Không tìm thấy phiên ký", f"No signing session {session_id}", code="session_not_found"
            )
        session.expunge(row)
        return row


@dataclass(frozen=True)
class BatchItem:
    document_id: str
    started: StartedSession | None = None
    version: Version | None = None
    error: ArchiveError | None = None


def start_batch(
    archive: Archive,
    doc_ids: list[str],
    *,
    certificate: bytes,
    chain: list[bytes] | None = None,
    level: str | None = None,
    actor: User,
    scopes: frozenset[str] | None = None,
) -> list[BatchItem]:
    """Open one signing session per document (a principal's 40 class books → one file to sign with one PIN entry).
    A document that cannot be signed now is reported with its error; the others go on."""
    out: list[BatchItem] = []
    for doc_id in dict.fromkeys(doc_ids):
        try:
            user = authorize_signing(archive, actor, doc_id, "document.sign", scopes=scopes)
            started = start_signing_session(
                archive, doc_id, certificate=certificate, chain=chain, level=level, actor=user,
                appearance=Appearance.person(title="", full_name=""),
                reason=f"Ký số bởi {actor.full_name or actor.username}",
            )  # fmt: skip
            out.append(BatchItem(doc_id, started=started))
        except ArchiveError as exc:
            out.append(BatchItem(doc_id, error=exc))
    return out


def finish_batch(
    archive: Archive,
    answers: list[dict[str, Any]],
    *,
    actor: User,
    scopes: frozenset[str] | None = None,
) -> list[BatchItem]:
    """Embed each returned signature value in its session's document; each one checked like a single signature."""
    out: list[BatchItem] = []
    for answer in answers:
        session_id = str(answer.get("session_id") or "")
        doc_id = ""
        try:
            row = pending_session(archive, session_id)
            doc_id = row.document_id
            user = authorize_session_owner(archive, actor, row, scopes=scopes)
            if answer.get("certificate_sha256") and answer["certificate_sha256"] != row.certificate_sha256:
                raise InvalidInput(
                    "Chữ ký được tạo bằng chứng thư khác với chứng thư đã khai báo",
                    "The signature was made with a different certificate than the session's",
                    code="signature_mismatch",
                )
            version = finish_signing_session(archive, session_id, answer, actor=user)
            out.append(BatchItem(doc_id, version=version))
        except ArchiveError as exc:
            out.append(BatchItem(doc_id, error=exc))
    return out
