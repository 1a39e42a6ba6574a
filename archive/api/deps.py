"""Request dependencies: the Archive built by the composition root, the authenticated user, and the permission guard.

Authentication: a bearer API token (machines) or the `hoso_session` cookie (browsers). Cookie-authenticated unsafe
requests (POST/PUT/PATCH/DELETE) must carry the session's CSRF token in `X-CSRF-Token` (see archive/sessions.py).

Authorisation: routes take `guard: Guard = Depends(get_guard)` and call `guard.check(session, action, org)` (or
`guard.school_ids(session, action)` to filter lists); global actions can use `Depends(require("org.manage"))`.
Every check goes through archive.permissions.authorize, the one place the matrix is enforced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..accounts import authenticate_api_token, token_scopes
from ..context import Archive
from ..errors import AuthError, PermissionDenied
from ..models import Organisation, User
from ..netaddr import resolve_client_ip
from ..permissions import authorize, record_denial, school_ids_for
from ..sessions import CSRF_HEADER, SESSION_COOKIE, authenticate_session, csrf_ok

bearer = HTTPBearer(auto_error=False, description="API token from `hoso token create`")
cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Web session from POST /auth/login")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def get_session(archive: Archive = Depends(get_archive)) -> Iterator[Session]:
    with archive.sessions() as session:
        yield session


def client_ip(request: Request) -> str:
    """The client's address for throttling and the audit trail (API and web pages alike): X-Forwarded-For is
    believed only from HOSO_TRUSTED_PROXIES (archive/netaddr.py), so a client cannot choose its own address."""
    archive: Archive | None = getattr(request.app.state, "archive", None)
    trusted = archive.settings.trusted_proxy_networks if archive is not None else []
    peer = request.client.host if request.client else ""
    return resolve_client_ip(peer, request.headers.getlist("x-forwarded-for"), trusted)


def current_user(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    session_secret: str | None = Depends(cookie),
    archive: Archive = Depends(get_archive),
) -> User:
    scopes: frozenset[str] | None = None
    session_id: int | None = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        with archive.sessions() as session, session.begin():
            user, token = authenticate_api_token(session, credentials.credentials)
            scopes = token_scopes(token)
            session.expunge(user)
    elif session_secret:
        with archive.sessions() as session, session.begin():
            user, row = authenticate_session(session, session_secret)
            session_id = row.id
            if request.method not in SAFE_METHODS and not csrf_ok(
                session_secret, request.headers.get(CSRF_HEADER)
            ):
                denied = PermissionDenied(
                    "Thiếu hoặc sai mã chống giả mạo yêu cầu (X-CSRF-Token)",
                    "Missing or wrong CSRF token (X-CSRF-Token header)",
                    code="csrf_failed",
                )
                record_denial(
                    session,
                    user,
                    "csrf",
                    user.organisation_id,
                    detail={"reason": "csrf", "path": request.url.path},
                )
                raise denied
            session.expunge(user)
    else:
        raise AuthError(
            "Cần đăng nhập (phiên đăng nhập hoặc mã truy cập Bearer)",
            "Authentication required (session cookie or Bearer token)",
        )
    request.state.user = user
    request.state.token_scopes = scopes
    request.state.web_session_id = session_id
    return user


@dataclass
class Guard:
    """The authenticated caller plus what their credential allows; every route check goes through it."""

    user: User
    scopes: frozenset[str] | None  # an API token's scopes; None = not narrowed

    def check(
        self,
        session: Session,
        action: str,
        organisation: Organisation | None,
        *,
        document_id: str | None = None,
    ) -> User:
        """Raise PermissionDenied (recorded) unless allowed; returns the user attached to `session`."""
        user = session.merge(self.user, load=True)
        authorize(session, user, action, organisation, scopes=self.scopes, document_id=document_id)
        return user

    def school_ids(self, session: Session, action: str) -> list[int] | None:
        return school_ids_for(session, session.merge(self.user), action, scopes=self.scopes)


def get_guard(request: Request, user: User = Depends(current_user)) -> Guard:
    return Guard(user, getattr(request.state, "token_scopes", None))


def require(action: str) -> Callable[..., Guard]:
    """A dependency for actions not tied to one organisation (only the system administrator holds those)."""

    def dependency(guard: Guard = Depends(get_guard), archive: Archive = Depends(get_archive)) -> Guard:
        with archive.sessions() as session:
            guard.check(session, action, None)
        return guard

    return dependency
