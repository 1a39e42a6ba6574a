""" "Chờ tôi ký": what waits for my signature, oldest first, and signing many records at once.

A person's signatures go through one batch of signing sessions (archive.signatures.start_batch): one request file
that `hoso sign-digest` signs with one PIN entry, one signature file back (finish_batch), each signature checked and
embedded on its own. The office applies the school seal to the selected records with the server-held key. Records
that cannot be signed now are listed with their reason; the others go on."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from archive import certificates, chains, signatures
from archive.errors import ArchiveError, AuthError, InvalidInput
from archive.models import User
from archive.permissions import permitted
from hoso.api.schemas import DocumentSummary
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from hoso.web.remote_choices import remote_context
from hoso.web.signer_agent import agent_context, with_document

router = APIRouter(route_class=WebRoute, include_in_schema=False)
BATCH_REQUEST_FILE = "yeu-cau-ky-nhieu.json"
BATCH_SIGNATURE_FILE = "chu-ky-nhieu.json"
MAX_BATCH_SIGNATURE_BYTES = 8 * 1024 * 1024
MAX_SELECTED = 200


def inbox_data(request: Request, user: User) -> dict[str, Any]:
    with archive_of(request).sessions() as session:
        me = session.merge(user)
        items = []
        for row, doc in chains.inbox(session, me):
            items.append(
                {
                    "doc": DocumentSummary.of(doc).model_dump(),
                    "step": chains.describe(row),
                    "before": chains.signed_before(session, doc.id, row.round),
                    "seal": row.who == "seal",
                }
            )
        certs = certificates.certificate_choices(session, me)
        return (
            {"items": items, "certs": certs} | agent_context(request) | remote_context(request, session, me)
        )


@router.get("/cho-toi-ky")
def inbox_page(request: Request, xong: int | None = Query(None), who: Viewer = Depends(viewer)) -> Response:
    data = inbox_data(request, who.user)
    return render(request, "inbox.html", done=xong, **data)


def selected_ids(form_ids: list[str]) -> list[str]:
    ids = [i for i in dict.fromkeys(form_ids) if i]
    if not ids:
        raise InvalidInput("Chưa chọn hồ sơ nào.", "No record selected", code="nothing_selected")
    if len(ids) > MAX_SELECTED:
        raise InvalidInput(
            f"Mỗi lần ký tối đa {MAX_SELECTED} hồ sơ.",
            f"At most {MAX_SELECTED} records at once",
            code="too_many",
        )
    return ids


def _registered_der(request: Request, user: User, certificate_id: str) -> bytes:
    with archive_of(request).sessions() as session:
        return certificates.own_certificate_der(session, session.merge(user), int(certificate_id or 0))


@router.post("/cho-toi-ky/ky-nhieu")
async def start_many(
    request: Request,
    certificate_id: str = Form("", max_length=20, pattern=r"^\d*$"),
    who: Viewer = Depends(form_viewer),
) -> Response:
    form = await request.form()
    ids = selected_ids([str(v) for v in form.getlist("doc")])
    der = await run_in_threadpool(_registered_der, request, who.user, certificate_id)
    items = await run_in_threadpool(
        lambda: signatures.start_batch(archive_of(request), ids, certificate=der, actor=who.user)
    )
    started = [i.started.id for i in items if i.started]
    refused = await run_in_threadpool(refusals, request, items)
    if not started:
        data = await run_in_threadpool(inbox_data, request, who.user)
        who.inbox_count = len(data["items"])  # the menu's count after this action, not before it
        return render(request, "inbox.html", status_code=409, refused=refused, **data)
    return render(request, "inbox_batch.html", sessions=",".join(started), count=len(started), refused=refused,
                  request_file=BATCH_REQUEST_FILE, signature_file=BATCH_SIGNATURE_FILE,
                  **agent_context(request))  # fmt: skip


def refusals(request: Request, items: list[signatures.BatchItem]) -> list[dict[str, str]]:
    out = []
    with archive_of(request).sessions() as session:
        from archive.documents import get_document

        for i in items:
            if i.error is None:
                continue
            try:
                title = get_document(session, i.document_id).title
            except ArchiveError:
                title = i.document_id
            out.append({"title": title, "reason": i.error.message_vi, "code": i.error.code})
    return out


def _own_rows(request: Request, user: User, session_ids: str) -> list[Any]:
    rows = []
    for sid in [s for s in session_ids.split(",") if s][:MAX_SELECTED]:
        row = signatures.pending_session(archive_of(request), sid)
        signatures.authorize_session_owner(archive_of(request), user, row)
        rows.append(row)
    return rows


@router.get("/cho-toi-ky/lo/" + BATCH_REQUEST_FILE)
def batch_request(
    request: Request, phien: str = Query(..., max_length=40 * MAX_SELECTED), who: Viewer = Depends(viewer)
) -> Response:
    rows = _own_rows(request, who.user, phien)
    with archive_of(request).sessions() as session:
        requests = [
            with_document(session, json.loads(r.request) | {"session_id": r.id}, r.document_id)
            for r in rows
            if r.status == "pending"
        ]
    body = {"version": 1, "type": "hoso-sign-batch-request", "requests": requests}
    return Response(
        json.dumps(body, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{BATCH_REQUEST_FILE}"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/cho-toi-ky/lo")
async def finish_many(
    request: Request,
    phien: str = Form(..., max_length=40 * MAX_SELECTED),
    signature: UploadFile | None = File(None),
    who: Viewer = Depends(form_viewer),
) -> Response:
    raw = (
        await signature.read(MAX_BATCH_SIGNATURE_BYTES + 1)
        if signature is not None and signature.filename
        else None
    )
    try:
        if raw is None:
            raise InvalidInput(
                f"Chưa chọn tệp chữ ký ({BATCH_SIGNATURE_FILE}).", "No signature file", code="missing_file"
            )
        try:
            answers = json.loads(raw.decode("utf-8")).get("signatures")
        except (UnicodeDecodeError, ValueError, AttributeError):
            answers = None
        if not isinstance(answers, list) or not all(isinstance(a, dict) for a in answers):
            raise InvalidInput(
                f"Tệp chữ ký không đúng định dạng: hãy nộp tệp {BATCH_SIGNATURE_FILE} do lệnh hoso sign-digest tạo ra.",
                "Not a batch signature file from hoso sign-digest",
                code="bad_signature_file",
            )
        wanted = set(phien.split(","))
        answers = [a for a in answers if a.get("session_id") in wanted]
        items = await run_in_threadpool(
            lambda: signatures.finish_batch(archive_of(request), answers, actor=who.user)
        )
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise
        return render(request, "inbox_batch.html", status_code=exc.status, sessions=phien, count=len(phien.split(",")),
                      error=exc.message_vi, error_en=exc.message_en, request_file=BATCH_REQUEST_FILE,
                      signature_file=BATCH_SIGNATURE_FILE, **agent_context(request))  # fmt: skip
    signed = [i for i in items if i.version is not None]
    refused = await run_in_threadpool(refusals, request, items)
    data = await run_in_threadpool(inbox_data, request, who.user)
    who.inbox_count = len(data["items"])  # the menu's count after this action, not before it
    return render(request, "inbox.html", signed_count=len(signed), refused=refused, **data)


@router.post("/cho-toi-ky/dong-dau")
async def seal_many(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    """The office applies the school seal to every selected record whose seal step waits."""
    form = await request.form()
    ids = selected_ids([str(v) for v in form.getlist("doc")])

    def run() -> list[signatures.BatchItem]:
        archive = archive_of(request)
        out = []
        for doc_id in ids:
            try:
                with archive.sessions() as session:
                    from archive.documents import get_document

                    doc = get_document(session, doc_id)
                    if not permitted(session, session.merge(who.user), "document.seal", doc.school):
                        raise InvalidInput("Bạn không có quyền đóng dấu hồ sơ này.", "You may not seal this record",
                                           code="forbidden")  # fmt: skip
                version = signatures.sign_document(
                    archive, doc_id, actor=who.user, reason="Ký số bằng con dấu của trường / school seal"
                )
                out.append(signatures.BatchItem(doc_id, version=version))
            except ArchiveError as exc:
                out.append(signatures.BatchItem(doc_id, error=exc))
        return out

    items = await run_in_threadpool(run)
    refused = await run_in_threadpool(refusals, request, items)
    data = await run_in_threadpool(inbox_data, request, who.user)
    who.inbox_count = len(data["items"])  # the menu's count after this action, not before it
    sealed = sum(1 for i in items if i.version is not None)
    return render(request, "inbox.html", sealed_count=sealed, refused=refused, **data)
