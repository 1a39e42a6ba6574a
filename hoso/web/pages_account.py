"""My account: where I may do what, my signing certificates, my password, the TOTP second factor, my open sessions.

Every change goes through the API's own /me handlers (hoso/api/auth_routes.py), called with the viewer's web session
(deps.WebSession), so the page and the API cannot drift apart: the same current password, and a current TOTP
code when it is on. Only "end one of my sessions" has no API route and uses archive.sessions directly, refusing anyone
else's session."""

from __future__ import annotations

import base64
from typing import Any

import pyotp
from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from archive import auth, certificates, sessions
from archive.errors import ArchiveError, AuthError, InvalidInput, NotFound
from archive.models import User, WebSession
from archive.permissions import ACTIONS
from hoso.api import auth_routes, certificates_routes, deps
from hoso.api.deps import Guard, client_ip
from hoso.api.schemas import SessionOut
from hoso.web.common import LOGIN, Viewer, WebRoute, archive_of, form_viewer, render, viewer

router = APIRouter(route_class=WebRoute, include_in_schema=False)
HERE = "/tai-khoan"


def secret_groups(secret: str) -> str:
    """JBSWY3DPEHPK3PXP → 'JBSW Y3DP EHPK 3PXP': easier to type into an authenticator app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(uri: str) -> str | None:
    """An inline SVG QR code if a pure-Python QR library is installed (segno or qrcode); otherwise None."""
    try:
        import segno
    except ImportError:
        return None
    svg: str = segno.make(uri, error="m").svg_inline(scale=4)
    return svg


def _state(request: Request, who: Viewer) -> dict[str, Any]:
    archive = archive_of(request)
    me = auth_routes.me(Guard(who.user, None), archive).model_dump()  # the same data as GET /api/v1/me
    with archive.sessions() as session:
        user = session.get(User, who.user.id)
        assert user is not None
        # the stored value is encrypted (archive/secrets_box.py): show the person the secret itself
        secret = None if user.totp_enabled else auth.pending_totp_secret(user)
        totp: dict[str, Any] = {"enabled": user.totp_enabled, "pending": bool(secret)}
        if secret:
            uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="hoso")
            totp |= {"secret": secret_groups(secret), "uri": uri, "qr": qr_svg(uri)}
        open_sessions = [
            SessionOut.of(r).model_dump() | {"current": r.id == who.session_id}
            for r in sessions.list_sessions(session, user)
        ]
    where = [(action, ACTIONS[action], schools) for action, schools in me["permissions"].items()]
    mine = certificates_routes.list_certificates(who.user.username, Guard(who.user, None), archive)
    return {
        "me": me,
        "where": where,
        "totp": totp,
        "open_sessions": open_sessions,
        "certificates": [c.model_dump() for c in mine],
    }


def _page(request: Request, who: Viewer, status: int = 200, **extra: Any) -> Response:
    return render(request, "account.html", status_code=status, **_state(request, who), **extra)


@router.get("/tai-khoan")
def account_page(request: Request, who: Viewer = Depends(viewer)) -> Response:
    done = request.query_params.get("xong", "")
    return _page(request, who, done=done)


def _signed_out(request: Request, message: str) -> Response:
    response = RedirectResponse(f"{LOGIN}?{message}=1", status_code=303)
    sessions.clear_cookies(response, archive_of(request).settings)
    return response


def _mine(request: Request, who: Viewer) -> deps.WebSession:
    return deps.WebSession(Guard(who.user, None), who.session_id, client_ip(request))


def _refused(request: Request, who: Viewer, exc: ArchiveError, where: str) -> Response:
    if isinstance(exc, AuthError) and exc.status == 401:
        raise exc
    return _page(request, who, exc.status, error=exc.message_vi, error_en=exc.message_en, error_at=where)


@router.post("/tai-khoan/mat-khau")
def change_password(
    request: Request,
    old_password: str = Form("", max_length=1000),
    new_password: str = Form("", max_length=1000),
    new_password_again: str = Form("", max_length=1000),
    totp: str = Form("", max_length=12),
    who: Viewer = Depends(form_viewer),
) -> Response:
    try:
        if new_password != new_password_again:
            raise InvalidInput("Hai lần nhập mật khẩu mới không giống nhau.", "The new passwords differ")
        body = auth_routes.PasswordChange(
            old_password=old_password, new_password=new_password, totp=totp or None
        )
        auth_routes.change_password(body, _mine(request, who), archive_of(request))
    except ArchiveError as exc:
        return _refused(request, who, exc, "mat-khau")
    # the change ended every session of the account, this one included: log in again with the new password
    return _signed_out(request, "da_doi_mat_khau")


@router.post("/tai-khoan/totp")
def totp_enrol(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session:
        user = session.get(User, who.user.id)
        enabled = bool(user and user.totp_enabled)
    if enabled:
        # re-enrolling would switch the second factor off without a code: turning it off needs a code first
        exc = InvalidInput(
            "Xác thực hai lớp đang bật. Muốn đổi thiết bị, hãy tắt (cần mã hiện tại) rồi đăng ký lại.",
            "Two-factor authentication is on; turn it off with a code before enrolling again",
        )
        return _refused(request, who, exc, "totp")
    auth_routes.totp_enrol(_mine(request, who), archive)
    return RedirectResponse(f"{HERE}#xac-thuc-hai-lop", status_code=303)


@router.post("/tai-khoan/totp/xac-nhan")
def totp_confirm(
    request: Request, code: str = Form("", max_length=12), who: Viewer = Depends(form_viewer)
) -> Response:
    try:
        auth_routes.totp_confirm(auth_routes.TotpCode(code=code), _mine(request, who), archive_of(request))
    except ArchiveError as exc:
        return _refused(request, who, exc, "totp")
    return RedirectResponse(f"{HERE}?xong=totp_bat#xac-thuc-hai-lop", status_code=303)


@router.post("/tai-khoan/totp/tat")
def totp_disable(
    request: Request, code: str = Form("", max_length=12), who: Viewer = Depends(form_viewer)
) -> Response:
    try:
        auth_routes.totp_disable(auth_routes.TotpCode(code=code), _mine(request, who), archive_of(request))
    except ArchiveError as exc:
        return _refused(request, who, exc, "totp")
    return RedirectResponse(f"{HERE}?xong=totp_tat#xac-thuc-hai-lop", status_code=303)


@router.post("/tai-khoan/phien/{session_id}/dang-xuat")
def end_session(request: Request, session_id: int, who: Viewer = Depends(form_viewer)) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        row = session.get(WebSession, session_id)
        if row is None or row.user_id != who.user.id:
            raise NotFound("Không tìm thấy phiên đăng nhập này của bạn", f"No session {session_id} of yours")
        sessions.revoke_session(session, row, actor=session.merge(who.user), reason="revoke")
    if session_id == who.session_id:
        return _signed_out(request, "da_dang_xuat")
    return RedirectResponse(f"{HERE}?xong=phien#phien", status_code=303)


# --- my signing certificates (the API's handlers, hoso/api/certificates_routes.py) ---------------------------------
@router.post("/tai-khoan/chung-thu")
async def certificate_add(
    request: Request, certificate: UploadFile | None = File(None), who: Viewer = Depends(form_viewer)
) -> Response:
    try:
        data = await certificate.read(certificates.MAX_CERTIFICATE_BYTES + 1) if certificate else b""
        if not data:
            raise InvalidInput(
                "Chưa chọn tệp chứng thư số.", "No certificate file chosen", code="missing_file"
            )
        # the API takes text: a PEM file as it is, a binary .cer/.crt as base64 of its DER
        pem_text = data.lstrip().startswith(b"-----")
        text = data.decode("ascii", "replace") if pem_text else base64.b64encode(data).decode()
        body = certificates_routes.CertificateIn(certificate=text)
        await run_in_threadpool(
            certificates_routes.add_certificate,
            who.user.username,
            body,
            Guard(who.user, None),
            archive_of(request),
        )
    except ArchiveError as exc:
        return await run_in_threadpool(_refused, request, who, exc, "chung-thu")
    except ValueError:  # the model's length limit: a file far larger than any certificate
        too_large = InvalidInput(
            "Tệp chứng thư số quá lớn.", "The certificate file is too large", code="bad_certificate"
        )
        return await run_in_threadpool(_refused, request, who, too_large, "chung-thu")
    return RedirectResponse(f"{HERE}?xong=chung_thu#chung-thu", status_code=303)


@router.post("/tai-khoan/chung-thu/{certificate_id}/go")
def certificate_remove(request: Request, certificate_id: int, who: Viewer = Depends(form_viewer)) -> Response:
    try:
        certificates_routes.remove_certificate(
            who.user.username, certificate_id, Guard(who.user, None), archive_of(request)
        )
    except ArchiveError as exc:
        return _refused(request, who, exc, "chung-thu")
    return RedirectResponse(f"{HERE}?xong=chung_thu_go#chung-thu", status_code=303)
