"""Request dependencies: the Archive built by the composition root, the authenticated user, and the permission guard.

Authentication: a bearer API token (machines) or the `hoso_session` cookie (browsers). Cookie-authenticated unsafe
requests (POST/PUT/PATCH/DELETE) must carry the session's CSRF token in `X-CSRF-Token` (see archive/sessions.py).

Routes declare what they need with the `Annotated` aliases defined here next to each dependency, one parameter each:
`archive: ArchiveDep, guard: GuardDep`, `me: WebSessionDep` for a security-settings change, `OrgManagerDep` /
`AuditAllDep` for actions not tied to one organisation.

Authorisation: routes take the guard and call `guard.check(session, action, org)` (or
`guard.school_ids(session, action)` to filter lists); global actions use a `require(action)` guard.
Every check goes through archive.permissions.authorize, the one place the matrix is enforced.

Token scopes: `current_user` publishes the request's credential (user, scopes, client address) as
`permissions.CREDENTIAL`; `permitted()` applies its scopes whenever a caller passes none, so services that take a
plain `user` (retention, accounts …) are narrowed too. `Guard` still passes them explicitly; both are the same scopes.

Refusals in the audit trail: a presented-but-invalid credential (unknown, revoked or expired token, disabled account,
expired or forged session) and a missing CSRF token are recorded as `access.denied` (401/403) with the reason; a
request with no credential at all is refused without an event (nothing to attribute, and anyone may send it at any
rate). 403s from `authorize` are recorded by permissions.record_denial once the refused transaction has ended; all
of it is bounded per client address and reason (permissions.DENIALS_PER_MINUTE).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from archive.accounts import authenticate_api_token, token_digest, token_scopes
from archive.context import Archive
from archive.db import utcnow
from archive.errors import AuthError, PermissionDenied
from archive.models import ApiToken, Organisation, User
from archive.permissions import (
    CREDENTIAL,
    Credential,
    authorize,
    record_denial,
    record_refusal,
    school_ids_for,
)
from archive.sessions import CSRF_HEADER, SESSION_COOKIE, authenticate_session, csrf_ok
from hoso.netaddr import resolve_client_ip

bearer = HTTPBearer(auto_error=False, description="API token from `hoso token create`")
cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Web session from POST /auth/login")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]


def get_session(archive: ArchiveDep) -> Iterator[Session]:
    with archive.sessions() as session:
        yield session


def client_ip(request: Request) -> str:
    """The client's address for throttling and the audit trail (API and web pages alike): X-Forwarded-For is
    believed only from HOSO_TRUSTED_PROXIES (hoso/netaddr.py), so a client cannot choose its own address."""
    archive: Archive | None = getattr(request.app.state, "archive", None)
    trusted = archive.settings.trusted_proxy_networks if archive is not None else []
    peer = request.client.host if request.client else ""
    return resolve_client_ip(peer, request.headers.getlist("x-forwarded-for"), trusted)


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session_secret: Annotated[str | None, Depends(cookie)],
    archive: ArchiveDep,
) -> User:
    """The authenticated caller. Async on purpose: the database work runs in the thread pool, but the credential is
    published here, in the request's own task, as `permissions.CREDENTIAL` — a ContextVar set in a sync dependency
    would stay in its worker thread, while one set here is copied into the thread of every sync dependency and
    endpoint that follows. `permitted()` applies that credential's scopes whenever its caller passes none, so a
    service that checks a permission cannot forget the token's scopes (finding: scopes ignored on /retention/*).
    A web session is never narrowed (scopes None)."""
    ip = client_ip(request)
    user, scopes, session_id = await run_in_threadpool(
        authenticate_request, request, archive, credentials, session_secret, ip
    )
    CREDENTIAL.set(Credential(user.id, scopes, ip))
    request.state.user = user
    request.state.token_scopes = scopes
    request.state.web_session_id = session_id
    return user


def authenticate_request(
    request: Request,
    archive: Archive,
    credentials: HTTPAuthorizationCredentials | None,
    session_secret: str | None,
    ip: str,
) -> tuple[User, frozenset[str] | None, int | None]:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        try:
            with archive.sessions() as session, session.begin():
                user, token = authenticate_api_token(session, credentials.credentials)
                scopes = token_scopes(token)
                session.expunge(user)
        except AuthError:
            _record_bad_token(archive, credentials.credentials, ip, request.url.path)
            raise
        return user, scopes, None
    if session_secret:
        try:
            with archive.sessions() as session, session.begin():
                user, row = authenticate_session(session, session_secret)
                session_id = row.id
                session.expunge(user)
        except AuthError as exc:
            record_refusal(
                archive.engine, user_id=None, reason=exc.code, status=401, ip=ip, path=request.url.path
            )
            raise
        if request.method not in SAFE_METHODS and not csrf_ok(
            session_secret, request.headers.get(CSRF_HEADER)
        ):
            record_refusal(
                archive.engine,
                user_id=user.id,
                reason="csrf",
                status=403,
                ip=ip,
                path=request.url.path,
                organisation_id=user.organisation_id,
            )
            raise PermissionDenied(
                "Thiếu hoặc sai mã chống giả mạo yêu cầu (X-CSRF-Token)",
                "Missing or wrong CSRF token (X-CSRF-Token header)",
                code="csrf_failed",
            )
        return user, None, session_id
    # no credentials at all: refused, not recorded (nothing was presented; anyone can send this at any rate)
    raise AuthError(
        "Cần đăng nhập (phiên đăng nhập hoặc mã truy cập Bearer)",
        "Authentication required (session cookie or Bearer token)",
    )


def _record_bad_token(archive: Archive, secret: str, ip: str, path: str) -> None:
    """Why a presented token was refused, and whose it was when it is one of ours (revoked, expired, disabled)."""
    with archive.sessions() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
        if token is None:
            reason, user_id, detail = "token_unknown", None, {}
        else:
            if token.revoked_at is not None:
                reason = "token_revoked"
            elif token.expires_at is not None and token.expires_at <= utcnow():
                reason = "token_expired"
            else:
                reason = "account_disabled"
            user_id, detail = token.user_id, {"token_id": token.id, "token_prefix": token.prefix}
    record_refusal(
        archive.engine, user_id=user_id, reason=reason, status=401, ip=ip, path=path, detail=detail
    )


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
        # load=False: the user was read moments ago by this request's authentication; what authorize needs beyond
        # its columns (roles) it loads in this session
        user = session.merge(self.user, load=False)
        authorize(session, user, action, organisation, scopes=self.scopes, document_id=document_id)
        return user

    def school_ids(self, session: Session, action: str) -> list[int] | None:
        return school_ids_for(session, session.merge(self.user), action, scopes=self.scopes)


def get_guard(request: Request, user: Annotated[User, Depends(current_user)]) -> Guard:
    return Guard(user, getattr(request.state, "token_scopes", None))


GuardDep = Annotated[Guard, Depends(get_guard)]


def require(action: str) -> Callable[..., Guard]:
    """A dependency for actions not tied to one organisation (only the system administrator holds those)."""

    def dependency(guard: GuardDep, archive: ArchiveDep) -> Guard:
        with archive.sessions() as session:
            guard.check(session, action, None)
        return guard

    return dependency


OrgManagerDep = Annotated[Guard, Depends(require("org.manage"))]
AuditAllDep = Annotated[Guard, Depends(require("audit.read"))]  # the whole trail: the system administrator


@dataclass(frozen=True)
class WebSession:
    """The caller of a security-settings change: signed in through a web session (its id), not an API token."""

    guard: Guard
    session_id: int
    ip: str = ""  # for the throttle on typing the password again (auth.confirm_password)


def web_session(request: Request, guard: GuardDep, archive: ArchiveDep) -> WebSession:
    """Refuse (403 `session_required`, recorded) a caller who came with an API token."""
    session_id = getattr(request.state, "web_session_id", None)
    if session_id is None:
        with archive.sessions() as session:
            record_denial(
                session,
                guard.user,
                "session_required",
                guard.user.organisation_id,
                detail={"reason": "session_required", "path": request.url.path},
            )
        raise PermissionDenied(
            "Thao tác này chỉ làm được khi đăng nhập trên trang web, không bằng mã truy cập API",
            "This needs a web session (log in with your password), not an API token",
            code="session_required",
        )
    return WebSession(guard, session_id, client_ip(request))


WebSessionDep = Annotated[WebSession, Depends(web_session)]
