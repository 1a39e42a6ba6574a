"""Browser sessions: a random secret in an HttpOnly cookie, only its SHA-256 in the database (web_sessions).

Sessions expire (settings.session_ttl_hours, counted from login, not sliding: a stolen cookie is bounded in time) and
can be revoked one by one (logout, an administrator) or all at once (password reset, account disabled).

CSRF defence for cookie-authenticated unsafe requests: a token bound to the session (HMAC-free: SHA-256 of a fixed
label and the session secret, so it needs no storage and cannot be computed without the session cookie) is handed to
the page at login, in the readable `hoso_csrf` cookie and in the response body, and must come back in the
`X-CSRF-Token` header. Cookies are also SameSite=Lax, so a cross-site form post does not even carry the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import AuthError, NotFound
from .events import record_event
from .models import User, WebSession

if TYPE_CHECKING:
    from starlette.responses import Response

    from .settings import Settings

SESSION_COOKIE = "hoso_session"
CSRF_COOKIE = "hoso_csrf"
CSRF_HEADER = "X-CSRF-Token"
# last_seen_at is refreshed at most this often, so reading pages does not turn into a write per request
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(secret: str) -> str:
    return hashlib.sha256(b"hoso-csrf:" + secret.encode()).hexdigest()


def csrf_ok(secret: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token_for(secret), presented or "")


@dataclass(frozen=True)
class IssuedSession:
    secret: str
    csrf_token: str
    session: WebSession


def create_session(
    session: Session, user: User, *, ttl_hours: int, ip: str = "", user_agent: str = ""
) -> IssuedSession:
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        secret_hash=digest(secret),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=ttl_hours),
        last_seen_at=now,
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    session.flush()
    return IssuedSession(secret, csrf_token_for(secret), row)


def authenticate_session(session: Session, secret: str) -> tuple[User, WebSession]:
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == digest(secret)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise AuthError(
            "Phiên đăng nhập không hợp lệ hoặc đã hết hạn, vui lòng đăng nhập lại",
            "Session invalid, expired or revoked; please log in again",
            code="session_expired",
        )
    if not row.user.is_active:
        raise AuthError("Tài khoản đã bị khóa", "Account disabled", code="account_disabled")
    if row.last_seen_at is None or now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row.user, row


def set_cookies(response: Response, settings: Settings, issued: IssuedSession) -> None:
    """The session cookies, the same for POST /api/v1/auth/login and the login page: the HttpOnly session secret,
    and the CSRF token readable by the page's script (echoed in X-CSRF-Token)."""
    common: dict[str, Any] = {
        "max_age": settings.session_ttl_hours * 3600,
        "secure": settings.secure_cookies,
        "samesite": settings.cookie_samesite,
        "path": "/",
    }
    response.set_cookie(SESSION_COOKIE, issued.secret, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, issued.csrf_token, httponly=False, **common)


def clear_cookies(response: Response, settings: Settings) -> None:
    """Forget the session cookies in the browser (logout, a password change, the session ended)."""
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path="/", secure=settings.secure_cookies, samesite=settings.cookie_samesite
        )


def get_session_row(session: Session, session_id: int) -> WebSession:
    row = session.get(WebSession, session_id)
    if row is None:
        raise NotFound(
            f"Không tìm thấy phiên {session_id}", f"No session {session_id}", code="session_not_found"
        )
    return row


def revoke_session(
    session: Session, row: WebSession, *, actor: User | None = None, reason: str = "logout"
) -> None:
    if row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    record_event(
        session,
        "auth.logout" if reason == "logout" else "session.revoke",
        actor=actor,
        organisation_id=row.user.organisation_id,
        detail={"username": row.user.username, "session_id": row.id, "reason": reason},
    )


def revoke_all_sessions(session: Session, user: User, *, reason: str, actor: User | None = None) -> int:
    rows = session.scalars(
        select(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    if rows and actor is not None:
        record_event(
            session,
            "session.revoke",
            actor=actor,
            organisation_id=user.organisation_id,
            detail={"username": user.username, "sessions": len(rows), "reason": reason},
        )
    return len(rows)


def list_sessions(session: Session, user: User) -> list[WebSession]:
    now = utcnow()
    return [
        r
        for r in session.scalars(
            select(WebSession).where(WebSession.user_id == user.id).order_by(WebSession.id)
        )
        if r.revoked_at is None and r.expires_at > now
    ]
