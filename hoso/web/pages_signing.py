"""A person's own signature, in two steps, without the server ever holding their key (Luật GDĐT 2023; NĐ 23/2025).

Step 1: the signer uploads their certificate (PEM or DER) and chooses how the signature looks; the server opens a
signing session (signatures.start_signing_session) and offers the request JSON for `hoso sign-digest` on the signer's
own computer. Step 2: the signer uploads the signature JSON; the server verifies it against the certificate and
embeds it (signatures.finish_signing_session) → a new signed version. A signature that does not match changes nothing.

Who may sign is decided by the rule the API uses too (archive.signatures.authorize_signing: document.sign, or
document.sign_own for a teacher named on the record), and only the person who opened a session may finish it
(authorize_session_owner)."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive import certificates, chains, signatures
from archive import documents as docs
from archive.context import Archive
from archive.errors import ArchiveError, AuthError, InvalidInput, NotFound
from archive.models import Document, User
from archive.signing_models import SigningSession
from hoso.api.schemas import DocumentSummary
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from hoso.web.remote_choices import remote_context
from hoso.web.signer_agent import agent_context, with_document

router = APIRouter(route_class=WebRoute, include_in_schema=False)
MAX_CERT_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 1024 * 1024
MAX_SIGNATURE_BYTES = 256 * 1024
REQUEST_FILE = "yeu-cau.json"
SIGNATURE_FILE = "chu-ky.json"


def may_sign_personally(session: Session, user: User, doc: Document) -> bool:
    return signatures.may_sign(session, user, doc)


def _certificate_der(data: bytes) -> bytes:
    """PEM or DER → DER, refusing anything that is not one X.509 certificate (before any session is opened)."""
    try:
        return certificates.certificate_der(data)
    except InvalidInput:
        raise InvalidInput(
            "Tệp chứng thư số không đọc được. Hãy chọn tệp chứng thư (.pem, .cer hoặc .crt) xuất từ USB token của bạn.",
            "Unreadable certificate file (PEM or DER expected)",
            code="bad_certificate",
        ) from None


def _appearance(kind: str, image: bytes | None) -> dict[str, Any] | None:
    """The title and name drawn come from the account and the signing chain (archive.signatures.person_appearance),
    never from what is typed here; the signer chooses only visible or not and their handwritten image."""
    if kind == "invisible":
        return None
    if kind != "person":
        raise InvalidInput(
            "Kiểu hiển thị chữ ký không hợp lệ", f"Unknown appearance {kind!r}", code="bad_appearance"
        )
    spec: dict[str, Any] = {"kind": "person"}
    if image:
        if not image.startswith(b"\x89PNG"):
            raise InvalidInput(
                "Ảnh chữ ký phải là tệp PNG (nền trong suốt, mực xanh).",
                "The signature image must be a PNG file",
                code="bad_image",
            )
        spec["signature_image"] = base64.b64encode(image).decode("ascii")
    return spec


async def _read_limited(upload: UploadFile | None, limit: int, what_vi: str) -> bytes | None:
    if upload is None or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"Tệp {what_vi} quá lớn.", f"The {what_vi} file is too large", code="too_large")
    return data


def _doc_summary(request: Request, doc_id: str) -> dict[str, Any]:
    with archive_of(request).sessions() as session:
        return DocumentSummary.of(docs.get_document(session, doc_id)).model_dump()


def _signing_context(request: Request, doc_id: str, user: User) -> dict[str, Any]:
    """What step 1 shows: my registered certificates, whether it is my turn, the title and name to be drawn."""
    archive = archive_of(request)
    with archive.sessions() as session:
        doc = docs.get_document(session, doc_id)
        me = session.merge(user)
        certs = certificates.certificate_choices(session, me)
        turn, blocked, chained, title = (
            "no_chain",
            "",
            False,
            signatures.role_title(session, me, doc.school_id),
        )
        try:
            row = chains.claim(session, doc, me)
            if row is not None:
                chained, turn = True, "mine"
                title = signatures.person_appearance(row, me, None).title or ""
        except ArchiveError as exc:
            chained, turn, blocked = True, exc.code, exc.message_vi
        session.rollback()  # looking only
        return remote_context(request, session, me) | {
            "certs": certs, "turn": turn, "blocked": blocked, "chained": chained,
            "preview": {"title": title.upper(), "full_name": me.full_name or me.username},
        }  # fmt: skip


def _step1(request: Request, doc: dict[str, Any], who: Viewer, status: int = 200, **extra: Any) -> Response:
    values = extra.pop("values", None) or {"kind": "person", "certificate_id": ""}
    context = _signing_context(request, doc["id"], who.user)
    return render(
        request, "sign_personal.html", status_code=status, doc=doc, values=values, **context,
        **agent_context(request), **extra,
    )  # fmt: skip


@router.get("/ho-so/{doc_id}/ky-ca-nhan")
def personal_sign_form(request: Request, doc_id: str, who: Viewer = Depends(viewer)) -> Response:
    archive = archive_of(request)
    signatures.authorize_signing(archive, who.user, doc_id, "document.sign")
    doc = _doc_summary(request, doc_id)
    if doc["media_type"] != "application/pdf" or doc["status"] != "active":
        raise InvalidInput("Chỉ ký số được hồ sơ PDF đang lưu trữ.", "Only stored PDF records can be signed")
    return _step1(request, doc, who)


def _registered_der(request: Request, user: User, certificate_id: str) -> bytes:
    with archive_of(request).sessions() as session:
        return certificates.own_certificate_der(session, session.merge(user), int(certificate_id or 0))


@router.post("/ho-so/{doc_id}/ky-ca-nhan")
async def personal_sign_start(
    request: Request,
    doc_id: str,
    certificate: UploadFile | None = File(None),
    certificate_id: str = Form("", max_length=20, pattern=r"^\d*$"),
    signature_image: UploadFile | None = File(None),
    kind: str = Form("person", max_length=20),
    who: Viewer = Depends(form_viewer),
) -> Response:
    archive = archive_of(request)
    user = await run_in_threadpool(signatures.authorize_signing, archive, who.user, doc_id, "document.sign")
    doc = await run_in_threadpool(_doc_summary, request, doc_id)
    values = {"kind": kind, "certificate_id": certificate_id}
    try:
        raw = await _read_limited(certificate, MAX_CERT_BYTES, "chứng thư số")
        if certificate_id:
            der = await run_in_threadpool(_registered_der, request, who.user, certificate_id)
        elif raw is not None:
            der = _certificate_der(raw)
        else:
            raise InvalidInput("Chưa chọn chứng thư số.", "No certificate chosen", code="missing_file")
        image = await _read_limited(signature_image, MAX_IMAGE_BYTES, "ảnh chữ ký")
        spec = _appearance(kind, image)
        reason = f"Ký số cá nhân bởi {who.user.full_name or who.user.username}"
        started = await run_in_threadpool(_start, archive, doc_id, der, spec, reason, user)
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise
        return _step1(
            request, doc, who, exc.status, values=values, error=exc.message_vi, error_en=exc.message_en
        )  # fmt: skip
    return RedirectResponse(f"/ho-so/{doc_id}/ky-ca-nhan/{started.id}", status_code=303)


def _start(
    archive: Archive, doc_id: str, der: bytes, spec: dict[str, Any] | None, reason: str, user: User
) -> signatures.StartedSession:
    appearance = signatures.appearance_from(spec, signatures.setup_of(archive))
    return signatures.start_signing_session(
        archive, doc_id, certificate=der, actor=user, appearance=appearance, reason=reason
    )


def _own_session(request: Request, who: Viewer, doc_id: str, session_id: str) -> tuple[SigningSession, User]:
    """The session, if it belongs to this document and was opened by this person (else 404 / 403, recorded)."""
    archive = archive_of(request)
    row = signatures.pending_session(archive, session_id)
    if row.document_id != doc_id:
        raise NotFound("Không tìm thấy phiên ký của hồ sơ này", "No such signing session for this document")
    user: User = signatures.authorize_session_owner(archive, who.user, row)
    return row, user


def _step2(request: Request, row: SigningSession, status: int = 200, **extra: Any) -> Response:
    doc = _doc_summary(request, row.document_id)
    return render(
        request, "sign_personal_step2.html", status_code=status, doc=doc, row=row,
        request_file=REQUEST_FILE, signature_file=SIGNATURE_FILE, **agent_context(request), **extra,
    )  # fmt: skip


@router.get("/ho-so/{doc_id}/ky-ca-nhan/{session_id}")
def personal_sign_session(
    request: Request, doc_id: str, session_id: str, who: Viewer = Depends(viewer)
) -> Response:
    row, _ = _own_session(request, who, doc_id, session_id)
    if row.status == "completed" and row.result_version:
        return RedirectResponse(f"/ho-so/{doc_id}?da_ky={row.result_version}", status_code=303)
    return _step2(request, row)


@router.get("/ho-so/{doc_id}/ky-ca-nhan/{session_id}/yeu-cau.json")
def personal_sign_request(
    request: Request, doc_id: str, session_id: str, who: Viewer = Depends(viewer)
) -> Response:
    row, _ = _own_session(request, who, doc_id, session_id)
    with archive_of(request).sessions() as session:
        body = with_document(session, json.loads(row.request) | {"session_id": row.id}, row.document_id)
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{REQUEST_FILE}"',
            "Cache-Control": "no-store",
        },
    )


def _signature_body(raw: bytes, row: SigningSession) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("signature"), str):
        raise InvalidInput(
            f"Tệp chữ ký không đúng định dạng: hãy nộp tệp {SIGNATURE_FILE} do lệnh hoso sign-digest tạo ra.",
            "Not a signature file from hoso sign-digest",
            code="bad_signature_file",
        )
    cert_sha = data.get("certificate_sha256")
    if cert_sha and cert_sha != row.certificate_sha256:
        raise InvalidInput(
            "Chữ ký được tạo bằng chứng thư khác với chứng thư đã khai báo ở bước 1.",
            "The signature was made with a different certificate than the session's",
            code="signature_mismatch",
        )
    return {"signature": data["signature"], "certificate_sha256": cert_sha}


@router.post("/ho-so/{doc_id}/ky-ca-nhan/{session_id}")
async def personal_sign_finish(
    request: Request,
    doc_id: str,
    session_id: str,
    signature: UploadFile | None = File(None),
    who: Viewer = Depends(form_viewer),
) -> Response:
    archive = archive_of(request)
    row, user = await run_in_threadpool(_own_session, request, who, doc_id, session_id)
    try:
        raw = await _read_limited(signature, MAX_SIGNATURE_BYTES, "chữ ký")
        if raw is None:
            raise InvalidInput(
                f"Chưa chọn tệp chữ ký ({SIGNATURE_FILE}).", "No signature file chosen", code="missing_file"
            )
        body = _signature_body(raw, row)
        version = await run_in_threadpool(
            lambda: signatures.finish_signing_session(archive, session_id, body, actor=user)
        )
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise
        return await run_in_threadpool(
            _step2, request, row, exc.status, error=exc.message_vi, error_en=exc.message_en, code=exc.code
        )
    return RedirectResponse(f"/ho-so/{doc_id}?da_ky={version.number}&ca_nhan=1", status_code=303)
