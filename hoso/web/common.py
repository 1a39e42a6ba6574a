"""What every page shares: templates, who is looking (the session cookie), CSRF for forms, and HTML errors.

The API's exception handlers answer in JSON; pages must answer in HTML. Rather than touching those handlers, every web
route uses `WebRoute`, which turns archive errors into a Vietnamese error page with the same status code, and a
missing or expired session into a redirect to the login page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive import chains, sessions
from archive.context import Archive
from archive.errors import ArchiveError, AuthError, PermissionDenied
from archive.models import User
from archive.permissions import record_denial, school_ids_by_action
from archive.signatures import signing_error
from hoso.redact import redact
from hoso.web import labels
from signing import SigningError
from storage import StorageError

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters.update(vn_time=labels.vn_time, vn_date=labels.vn_date, size=labels.size)
TEMPLATES.env.globals.update(labels=labels)

LOGIN = "/dang-nhap"
HOME = "/ho-so"
CSRF_FIELD = "csrf_token"
UPLOAD_ACTIONS = ("document.upload", "document.upload_group", "document.upload_own")
CORRECTING = ("correction.request", "correction.approve")


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login page (never a bare 401 to a browser)."""


@dataclass
class Viewer:
    """The signed-in person (detached from any database session) and their session's CSRF token."""

    user: User
    session_id: int
    csrf_token: str
    can_upload: bool
    can_audit: bool = False
    inbox_count: int = 0  # signatures waiting for this person ("Chờ tôi ký" in the navigation)
    can_roster: bool = False
    can_package: bool = False  # may take files of some school: the inspection package page
    can_lock: bool = False
    can_correct: bool = False  # files or decides corrections of locked records somewhere ("Chỉnh sửa")


def archive_of(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def load_viewer(request: Request) -> Viewer:
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if not secret:
        raise LoginRequired
    archive = archive_of(request)
    try:
        with archive.sessions() as session, session.begin():
            user, row = sessions.authenticate_session(session, secret)
            reach = school_ids_by_action(
                session,
                user,
                (
                    *UPLOAD_ACTIONS,
                    "audit.read",
                    "roster.manage",
                    "document.download",
                    "lock.manage",
                    *CORRECTING,
                ),
            )
            can_upload = any(reach[a] != [] for a in UPLOAD_ACTIONS)
            can_audit = reach["audit.read"] != []
            inbox_count = len(chains.inbox(session, user))
            can_roster = reach["roster.manage"] != []
            can_lock = reach["lock.manage"] != []
            can_correct = can_lock or any(reach[a] != [] for a in CORRECTING)
            session.expunge(user)
            session_id = row.id
    except AuthError:
        raise LoginRequired from None
    viewer = Viewer(
        user,
        session_id,
        sessions.csrf_token_for(secret),
        can_upload,
        can_audit,
        inbox_count,
        can_roster,
        reach["document.download"] != [],
        can_lock,
        can_correct,
    )
    request.state.viewer = viewer
    return viewer


async def viewer(request: Request) -> Viewer:
    """Dependency for pages read with GET."""
    return await run_in_threadpool(load_viewer, request)


async def form_viewer(request: Request) -> Viewer:
    """Dependency for form POSTs: a valid session AND the session's CSRF token in the form's hidden field.

    The token is the one the API expects in X-CSRF-Token (archive/sessions.py); a form cannot set headers, so it
    travels as a hidden field instead. Refusals are recorded like the API's."""
    who = await viewer(request)
    form = await request.form()
    secret = request.cookies.get(sessions.SESSION_COOKIE, "")
    presented = form.get(CSRF_FIELD)
    if not sessions.csrf_ok(secret, presented if isinstance(presented, str) else None):
        await run_in_threadpool(_record_csrf_denial, request, who)
        raise csrf_refused()
    return who


def csrf_refused() -> PermissionDenied:
    return PermissionDenied(
        "Biểu mẫu không hợp lệ hoặc đã cũ (thiếu mã chống giả mạo yêu cầu). Hãy tải lại trang rồi thử lại.",
        "The form is invalid or stale (missing CSRF token). Reload the page and try again.",
        code="csrf_failed",
    )


def _record_csrf_denial(request: Request, who: Viewer) -> None:
    with archive_of(request).sessions() as session:
        record_denial(
            session,
            who.user,
            "csrf",
            who.user.organisation_id,
            detail={"reason": "csrf", "path": request.url.path},
        )


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    for key in ("error", "error_en", "message_vi", "message_en"):  # a refusal quoting a library error
        if isinstance(context.get(key), str):
            context[key] = redact(context[key], archive_of(request).settings)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def pager(
    path: str, filters: dict[str, str], page: int, total: int, size: int, *, more: bool = False
) -> dict[str, Any]:
    """What _pager.html needs: this page, how many there are, and each page's address keeping the filters. `more`:
    the total was only counted up to a cap and this page is full, so a next page is offered without a last one."""
    kept = {k: v for k, v in filters.items() if v}

    def page_url(n: int) -> str:
        return f"{path}?" + urlencode(kept | {"page": n})

    return {"page": page, "pages": max(1, math.ceil(total / size)), "page_url": page_url, "more": more}


def safe_next(target: str | None) -> str:
    """Only local paths: a crafted ?next= must not send a teacher to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def login_redirect(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?next={quote(here, safe='')}", status_code=303)


ERROR_TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Cần đăng nhập",
    403: "Không có quyền truy cập",
    404: "Không tìm thấy",
    408: "Gửi dữ liệu quá chậm",
    409: "Xung đột dữ liệu",
    413: "Tệp quá lớn",
    410: "Hồ sơ đã được tiêu hủy",
    415: "Loại tệp không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    503: "Dịch vụ tạm thời không sẵn sàng",
}


def error_page(request: Request, status: int, message_vi: str, message_en: str = "") -> HTMLResponse:
    parts = request.url.path.split("/")
    # a failed action on a document (seal, validation) offers the way back to that document
    back = "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "ho-so" else None
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=ERROR_TITLES.get(status, "Đã xảy ra lỗi"),
        message_vi=message_vi,
        message_en=message_en,
        back=back,
    )


class WebRoute(APIRoute):
    """An APIRoute whose failures become HTML pages (or a login redirect) instead of the API's JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired:
                return login_redirect(request)
            except AuthError as exc:
                if exc.status == 401:
                    return login_redirect(request)
                return error_page(request, exc.status, exc.message_vi, exc.message_en)
            except ArchiveError as exc:
                return error_page(request, exc.status, exc.message_vi, exc.message_en)
            except SigningError as exc:
                err = signing_error(exc)
                return error_page(request, err.status, err.message_vi, err.message_en)
            except StorageError as exc:
                return error_page(
                    request, 503, "Kho lưu trữ tạm thời không sẵn sàng, vui lòng thử lại sau", str(exc)
                )
            except RequestValidationError:
                return error_page(
                    request, 422, "Địa chỉ trang có tham số không hợp lệ", "Invalid parameters in the address"
                )
            except StarletteHTTPException as exc:
                vi = ERROR_TITLES.get(exc.status_code, "Đã xảy ra lỗi")
                return error_page(request, exc.status_code, vi, str(exc.detail))

        return route
