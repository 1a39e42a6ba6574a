"""Home, login and logout pages.

Login goes through archive.auth.login (throttling, TOTP, audit) exactly like POST /api/v1/auth/login and sets the same
cookies, so the API (e.g. the download link) accepts the browser afterwards.

The login form has no session yet, so its CSRF defence is a double-submit token: a random value in a short-lived
cookie that must match the form's hidden field (a cross-site page can neither read nor set our cookie)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from archive import auth, sessions
from archive.errors import AuthError
from hoso.api.deps import client_ip
from hoso.web.common import (
    CSRF_FIELD,
    HOME,
    LOGIN,
    LoginRequired,
    Viewer,
    WebRoute,
    archive_of,
    csrf_refused,
    form_viewer,
    load_viewer,
    render,
    safe_next,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)
LOGIN_CSRF_COOKIE = "hoso_login_csrf"


@router.get("/")
async def home(request: Request) -> RedirectResponse:
    try:
        await run_in_threadpool(load_viewer, request)
    except LoginRequired:
        return RedirectResponse(LOGIN, status_code=303)
    return RedirectResponse(HOME, status_code=303)


def _login_page(request: Request, status: int = 200, **context: Any) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    context.setdefault("next", safe_next(request.query_params.get("next")))
    response = render(request, "login.html", status_code=status, login_csrf=token, **context)
    settings = archive_of(request).settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
        secure=settings.secure_cookies, path=LOGIN,
    )  # fmt: skip
    return response


@router.get("/dang-nhap")
def login_form(request: Request) -> Response:
    try:
        load_viewer(request)
    except LoginRequired:
        return _login_page(request)
    # already signed in (a bookmark, the back button): go on instead of offering a second session
    return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)


@router.post("/dang-nhap")
def login_submit(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=1000),
    totp: str = Form("", max_length=12),
    next_url: str = Form(HOME, alias="next"),
    csrf_token: str = Form("", alias=CSRF_FIELD),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise csrf_refused()
    keep = {"username": username, "next": safe_next(next_url)}
    if not username.strip() or not password:
        return _login_page(request, 422, error="Hãy nhập tên đăng nhập và mật khẩu.", **keep)
    archive = archive_of(request)
    try:
        result = auth.login(
            archive.sessions, archive.settings, username=username, password=password, totp=totp or None,
            ip=client_ip(request), user_agent=request.headers.get("user-agent", ""),
        )  # fmt: skip
    except AuthError as exc:
        if exc.code == "totp_required":
            # the password was right: ask for the code (and the password again: we never echo it into the page)
            message = "Tài khoản dùng xác thực hai lớp: nhập lại mật khẩu và mã 6 số từ ứng dụng xác thực."
            return _login_page(request, 401, error=message, need_totp=True, **keep)
        return _login_page(request, exc.status, error=exc.message_vi, error_en=exc.message_en, **keep)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    sessions.set_cookies(response, archive.settings, result.issued)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN)
    return response


@router.post("/dang-xuat")
def logout(request: Request, who: Viewer = Depends(form_viewer)) -> Response:
    archive = archive_of(request)
    with archive.sessions() as session, session.begin():
        row = sessions.get_session_row(session, who.session_id)
        sessions.revoke_session(session, row, actor=session.merge(who.user), reason="logout")
    response = RedirectResponse(f"{LOGIN}?da_dang_xuat=1", status_code=303)
    sessions.clear_cookies(response, archive.settings)
    return response
