"""Logging in and out, and the signed-in person's own account (/me): password, TOTP, sessions, identity.

Changing one's own security settings (password, TOTP enrolment, confirmation, disabling) — and minting an API token,
hoso/api/users_routes.py — needs a web session (`WebSessionDep`, hoso/api/deps.py), never an API token: a token leaked from a
script or narrowed to `document.read` must not be able to take over the account. When TOTP is on, each change also
needs a current code, spent once (auth.require_fresh_code).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from archive import accounts, auth, sessions
from archive.context import Archive
from archive.errors import InvalidInput
from archive.models import Organisation
from archive.permissions import ACTIONS, school_ids_by_action
from hoso.api.deps import ArchiveDep, GuardDep, WebSession, WebSessionDep, client_ip
from hoso.api.schemas import LoginOut, MeOut, SessionOut, TotpEnrolOut, UserOut

router = APIRouter(tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1000)
    totp: str | None = Field(default=None, max_length=12)


@router.post("/auth/login", summary="Log in with username, password (and TOTP code); sets the session cookie")
def login(body: LoginIn, request: Request, response: Response, archive: ArchiveDep) -> LoginOut:
    result = auth.login(
        archive.sessions,
        archive.settings,
        username=body.username,
        password=body.password,
        totp=body.totp,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    sessions.set_cookies(response, archive.settings, result.issued)
    with archive.sessions() as session:
        user = session.merge(result.user)
        return LoginOut(
            user=UserOut.of(session, user),
            csrf_token=result.issued.csrf_token,
            expires_at=result.issued.session.expires_at.isoformat(),
        )


@router.post("/auth/logout", status_code=204, summary="End this web session (a bearer token is not affected)")
def logout(request: Request, response: Response, guard: GuardDep, archive: ArchiveDep) -> Response:
    session_id = getattr(request.state, "web_session_id", None)
    if session_id is not None:
        with archive.sessions() as session, session.begin():
            sessions.revoke_session(
                session,
                sessions.get_session_row(session, session_id),
                actor=session.merge(guard.user),
                reason="logout",
            )
    response.status_code = 204
    sessions.clear_cookies(response, archive.settings)
    return response


@router.get("/me", summary="Who I am: account, roles, and where I may do what")
def me(guard: GuardDep, archive: ArchiveDep) -> MeOut:
    with archive.sessions() as session:
        user = session.merge(guard.user)
        codes = {o.id: o.code for o in session.scalars(select(Organisation))}
        where: dict[str, Literal["*"] | list[str]] = {}
        for action, ids in school_ids_by_action(session, user, ACTIONS, scopes=guard.scopes).items():
            if ids is None:
                where[action] = "*"
            elif ids:
                where[action] = sorted(codes[i] for i in ids)
        scopes = sorted(guard.scopes) if guard.scopes is not None else None
        return MeOut.of_me(session, user, permissions=where, token_scopes=scopes)


def check_own_password(archive: Archive, me: WebSession, password: str) -> None:
    """The signed-in person proves they still know their password (counted and throttled like a login)."""
    auth.confirm_password(archive.sessions, archive.settings, user=me.guard.user, password=password, ip=me.ip)


class PasswordChange(BaseModel):
    old_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)
    totp: str | None = Field(default=None, max_length=12, description="A current code, when TOTP is on")


@router.post(
    "/me/password",
    status_code=204,
    summary="Change my password (web session; a current TOTP code when on); ends my sessions and tokens",
)
def change_password(body: PasswordChange, me: WebSessionDep, archive: ArchiveDep) -> Response:
    check_own_password(archive, me, body.old_password)
    with archive.sessions() as session, session.begin():
        user = session.merge(me.guard.user)
        auth.require_fresh_code(user, body.totp)
        accounts.reset_password(session, user, password=body.new_password, actor=user)
    return Response(status_code=204)


class TotpEnrol(BaseModel):
    code: str | None = Field(
        default=None, max_length=12, description="A current code, when TOTP is already on"
    )


@router.post(
    "/me/totp",
    summary="Start TOTP enrolment (web session; a current code when TOTP is on — the old secret stays in force "
    "until the new one is confirmed): returns the secret and an otpauth:// URI for the app",
)
def totp_enrol(me: WebSessionDep, archive: ArchiveDep, body: TotpEnrol | None = None) -> TotpEnrolOut:
    with archive.sessions() as session, session.begin():
        secret, uri = auth.enrol_totp(session, session.merge(me.guard.user), code=body.code if body else None)
    return TotpEnrolOut(secret=secret, uri=uri)


class TotpCode(BaseModel):
    code: str = Field(max_length=12)


@router.post(
    "/me/totp/confirm",
    status_code=204,
    summary="Confirm enrolment with one code of the new secret (web session); TOTP is then required",
)
def totp_confirm(body: TotpCode, me: WebSessionDep, archive: ArchiveDep) -> Response:
    with archive.sessions() as session, session.begin():
        auth.confirm_totp(session, session.merge(me.guard.user), body.code)
    return Response(status_code=204)


@router.post("/me/totp/disable", status_code=204, summary="Turn TOTP off (web session and a current code)")
def totp_disable(body: TotpCode, me: WebSessionDep, archive: ArchiveDep) -> Response:
    with archive.sessions() as session, session.begin():
        user = session.merge(me.guard.user)
        if not user.totp_enabled:
            raise InvalidInput("Mã xác thực không đúng", "Wrong one-time code", code="bad_totp")
        auth.require_fresh_code(user, body.code)
        auth.disable_totp(session, user)
    return Response(status_code=204)


@router.get("/me/sessions", summary="My open web sessions")
def my_sessions(guard: GuardDep, archive: ArchiveDep) -> list[SessionOut]:
    with archive.sessions() as session:
        return [SessionOut.of(r) for r in sessions.list_sessions(session, session.merge(guard.user))]
