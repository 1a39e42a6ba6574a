""" "Ký bằng tài khoản ký từ xa": link a remote-signing account (VNPT SmartCA, Viettel MySign… through the CSC API),
sign one or many records with it, and the provider's callback.

The site's CSP has `form-action 'self'`: Chromium blocks a form POST whose answer redirects to another origin, so a
POST here never redirects to the provider; it answers a page with a link to it (remote_go.html) that the person
follows. The provider sends the browser back to CALLBACK_PATH with the sealed state (archive.remote_signing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from archive import remote_signing, signatures
from archive.documents import get_document
from archive.errors import ArchiveError, AuthError, InvalidInput
from archive.models import User
from hoso.web.common import Viewer, WebRoute, archive_of, form_viewer, render, viewer
from hoso.web.pages_inbox import inbox_data, refusals, selected_ids

router = APIRouter(route_class=WebRoute, include_in_schema=False)
PAGE = "/tai-khoan/ky-tu-xa"


def _accounts_page(request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session:
        me = session.merge(user)
        accounts = [
            {"id": a.id, "label": a.label, "provider": remote_signing.provider_name(archive.settings, a.provider),
             "credential": a.credential_id, "serial": a.certificate.serial, "not_after": a.certificate.not_after,
             "linked_at": a.linked_at}
            for a in remote_signing.accounts_of(session, me)
        ]  # fmt: skip
    providers = [{"key": p.key, "name": p.name} for p in archive.settings.remote_signing_providers]
    return render(
        request, "remote_accounts.html", status_code=status, accounts=accounts, providers=providers, **extra
    )


@router.get(PAGE)
def accounts_page(
    request: Request, xong: str | None = Query(None, max_length=20), who: Viewer = Depends(viewer)
) -> Response:
    return _accounts_page(request, who.user, done=xong)


@router.post(PAGE + "/lien-ket")
def link_start(
    request: Request, provider: str = Form(..., max_length=40), who: Viewer = Depends(form_viewer)
) -> Response:
    archive = archive_of(request)
    try:
        url = remote_signing.link_url(archive, who.user, provider)
    except ArchiveError as exc:
        return _accounts_page(request, who.user, exc.status, error=exc.message_vi, error_en=exc.message_en)
    name = remote_signing.provider_name(archive.settings, provider)
    return render(request, "remote_go.html", purpose="link", provider=name, url=url)


@router.post(PAGE + "/{account_id}/huy")
def unlink(request: Request, account_id: int, who: Viewer = Depends(form_viewer)) -> Response:
    remote_signing.unlink(archive_of(request), who.user, account_id)
    return RedirectResponse(PAGE + "?xong=huy", status_code=303)


@router.get(remote_signing.CALLBACK_PATH)
def callback(
    request: Request,
    state: str = Query("", max_length=20_000),
    code: str | None = Query(None, max_length=2000),
    error: str | None = Query(None, max_length=100),
    who: Viewer = Depends(viewer),
) -> Response:
    archive = archive_of(request)
    try:
        payload = remote_signing.open_state(archive.settings, who.user, state)
    except ArchiveError as exc:
        return _accounts_page(request, who.user, exc.status, error=exc.message_vi, error_en=exc.message_en)
    if payload.get("p") == "sign":
        items = remote_signing.finish_signing(archive, who.user, payload, code=code, error=error)
        return _results(request, who, items)
    try:
        if error or not code:
            raise remote_signing.remote_error(
                "denied" if error == "access_denied" else "refused", error or ""
            )
        remote_signing.finish_link(archive, who.user, payload, code)
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise
        return _accounts_page(request, who.user, exc.status, error=exc.message_vi, error_en=exc.message_en)
    return RedirectResponse(PAGE + "?xong=lien-ket", status_code=303)


def _results(request: Request, who: Viewer, items: list[signatures.BatchItem]) -> Response:
    rows = []
    with archive_of(request).sessions() as session:
        for i in items:
            try:
                title = get_document(session, i.document_id).title
            except ArchiveError:
                title = i.document_id
            rows.append({"id": i.document_id, "title": title, "version": i.version.number if i.version else None,
                         "reason": i.error.message_vi if i.error else ""})  # fmt: skip
        who.inbox_count = len(inbox_data(request, who.user)["items"])  # the menu's count after signing
    signed = sum(1 for r in rows if r["version"])
    return render(request, "remote_results.html", rows=rows, signed=signed, refused=len(rows) - signed)


@router.post("/cho-toi-ky/ky-tu-xa")
async def sign_start(
    request: Request,
    remote_account_id: str = Form("", max_length=20, pattern=r"^\d*$"),
    who: Viewer = Depends(form_viewer),
) -> Response:
    """Sign the selected records (one from a record's page, many from the inbox) with a linked account."""
    form = await request.form()
    archive = archive_of(request)
    try:
        ids = selected_ids([str(v) for v in form.getlist("doc")])
        if not remote_account_id:
            raise InvalidInput(
                "Chưa chọn tài khoản ký từ xa.", "No remote-signing account chosen", code="missing_account"
            )
        batch = await run_in_threadpool(
            remote_signing.start_signing, archive, who.user, int(remote_account_id), ids
        )
    except ArchiveError as exc:
        if isinstance(exc, AuthError) and exc.status == 401:
            raise
        data = await run_in_threadpool(inbox_data, request, who.user)
        return render(request, "inbox.html", status_code=exc.status, error=exc.message_vi, error_en=exc.message_en,
                      **data)  # fmt: skip
    refused = await run_in_threadpool(refusals, request, batch.items)
    if batch.authorize_url is None:
        data = await run_in_threadpool(inbox_data, request, who.user)
        who.inbox_count = len(data["items"])
        return render(request, "inbox.html", status_code=409, refused=refused, **data)
    count = sum(1 for i in batch.items if i.started is not None)
    name = remote_signing.provider_name(archive.settings, batch.provider)
    return render(
        request,
        "remote_go.html",
        purpose="sign",
        provider=name,
        url=batch.authorize_url,
        count=count,
        refused=refused,
    )
