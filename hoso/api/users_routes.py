"""Managing people (create, roles, disable, password reset, sessions) and API tokens.

Who may manage whose account is archive/account_rules.py: `user.manage` over every organisation where the account
holds a role and over its home organisation; a system administrator's account only by a system administrator. A
caller who may not manage an account gets 403 whether it exists or not. Nobody grants roles to themself; the
principal's role is granted by a system administrator. Tokens are personal: each person mints their own, from a web
session and with their password; an administrator may list and revoke someone's tokens.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import account_rules, accounts, orgs, sessions
from archive.auth import disable_totp
from archive.context import Archive
from archive.errors import PermissionDenied
from archive.models import User
from archive.permissions import ROLES, record_denial
from hoso.api.auth_routes import check_own_password
from hoso.api.deps import ArchiveDep, Guard, GuardDep, WebSessionDep
from hoso.api.schemas import IssuedTokenOut, PasswordResetOut, SessionOut, TokenOut, UserOut

router = APIRouter(tags=["people"])


def _manage(session: Session, guard: Guard, target: User) -> User:
    """The acting user, once allowed to manage `target` (account_rules.check_may_manage)."""
    actor = session.merge(guard.user, load=True)
    account_rules.check_may_manage(session, actor, target, scopes=guard.scopes)
    return actor


def _managed(session: Session, guard: Guard, username: str) -> tuple[User, User]:
    """(the acting user, the account `username`) once allowed; 403 alike for a missing and a forbidden account."""
    actor = session.merge(guard.user, load=True)
    return actor, account_rules.managed_account(session, actor, username, scopes=guard.scopes)


class RoleIn(BaseModel):
    role: str = Field(description=", ".join(r for r in ROLES if r != "system_admin"))
    organisation: str


class UserIn(BaseModel):
    username: str = Field(max_length=64)
    full_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=200)
    organisation: str | None = None
    password: str | None = Field(default=None, max_length=1000)
    roles: list[RoleIn] = []


@router.get("/users", summary="People I may manage (optionally of one organisation)")
def list_users(
    guard: GuardDep,
    archive: ArchiveDep,
    organisation: str | None = None,
) -> list[UserOut]:
    with archive.sessions() as session:
        ids = guard.school_ids(session, "user.manage")
        stmt = select(User).order_by(User.username)
        if organisation:
            stmt = stmt.where(User.organisation_id == orgs.get_organisation(session, organisation).id)
        if ids is None:
            return [UserOut.of(session, u) for u in session.scalars(stmt)]
        stmt = stmt.where(User.organisation_id.in_(ids), User.is_system_admin.is_(False))
        actor = session.merge(guard.user, load=True)
        # only the accounts I may manage: not a colleague who also holds a role in another school
        return [
            UserOut.of(session, u)
            for u in session.scalars(stmt)
            if account_rules.may_manage(session, actor, u, scopes=guard.scopes)
        ]


@router.post("/users", status_code=201, summary="Create a person's account, optionally with roles")
def create_user(body: UserIn, guard: GuardDep, archive: ArchiveDep) -> UserOut:
    with archive.sessions() as session, session.begin():
        org = orgs.get_organisation(session, body.organisation) if body.organisation else None
        actor = guard.check(session, "user.manage", org)
        if body.password:
            accounts.check_new_password(body.password)
        wheres = [orgs.get_organisation(session, r.organisation) for r in body.roles]
        for r, where in zip(body.roles, wheres, strict=True):  # every refusal before anything is written
            guard.check(session, "user.manage", where)
            account_rules.check_role_change(session, actor, None, r.role)
        user = accounts.create_user(
            session,
            username=body.username,
            full_name=body.full_name,
            email=body.email,
            password=body.password,
            organisation_id=org.id if org else None,
            actor=actor,
        )
        for r, where in zip(body.roles, wheres, strict=True):
            accounts.grant_role(session, user, r.role, where, actor=actor)
        return UserOut.of(session, user)


@router.get("/users/{username}", summary="One account with its roles")
def get_user(username: str, guard: GuardDep, archive: ArchiveDep) -> UserOut:
    with archive.sessions() as session:
        target = _managed(session, guard, username)[1]
        return UserOut.of(session, target)


@router.post("/users/{username}/roles", status_code=201, summary="Assign a role in an organisation")
def grant(username: str, body: RoleIn, guard: GuardDep, archive: ArchiveDep) -> UserOut:
    with archive.sessions() as session, session.begin():
        actor, target = _managed(session, guard, username)  # whose account it is
        where = orgs.get_organisation(session, body.organisation)
        guard.check(session, "user.manage", where)  # and where the role is held
        account_rules.check_role_change(session, actor, target, body.role)
        accounts.grant_role(session, target, body.role, where, actor=actor)
        return UserOut.of(session, target)


@router.delete("/users/{username}/roles/{role}/{organisation}", summary="Revoke a role")
def revoke(
    username: str,
    role: str,
    organisation: str,
    guard: GuardDep,
    archive: ArchiveDep,
) -> UserOut:
    with archive.sessions() as session, session.begin():
        actor, target = _managed(session, guard, username)  # the same checks as granting
        where = orgs.get_organisation(session, organisation)
        guard.check(session, "user.manage", where)
        account_rules.check_role_change(session, actor, target, role, grant=False)
        accounts.revoke_role(session, target, role, where, actor=actor)
        return UserOut.of(session, target)


def _set_active(archive: Archive, guard: Guard, username: str, active: bool) -> UserOut:
    with archive.sessions() as session, session.begin():
        actor, target = _managed(session, guard, username)
        accounts.set_active(session, target, active, actor=actor)
        return UserOut.of(session, target)


@router.post(
    "/users/{username}/disable", summary="Disable an account: its sessions end, its tokens are revoked"
)
def disable(username: str, guard: GuardDep, archive: ArchiveDep) -> UserOut:
    return _set_active(archive, guard, username, False)


@router.post("/users/{username}/enable", summary="Enable an account again")
def enable(username: str, guard: GuardDep, archive: ArchiveDep) -> UserOut:
    return _set_active(archive, guard, username, True)


class PasswordReset(BaseModel):
    password: str | None = Field(
        default=None, max_length=1000, description="Empty: a random one is generated"
    )


@router.post(
    "/users/{username}/password",
    summary="Reset a password (administrator); ends the person's sessions and revokes their tokens",
)
def reset_password(
    username: str,
    body: PasswordReset,
    guard: GuardDep,
    archive: ArchiveDep,
) -> PasswordResetOut:
    with archive.sessions() as session, session.begin():
        actor, target = _managed(session, guard, username)
        new = accounts.reset_password(session, target, password=body.password, actor=actor)
    return PasswordResetOut(username=username, password=new if body.password is None else None)


@router.post("/users/{username}/totp/reset", status_code=204, summary="Remove a person's TOTP (lost phone)")
def reset_totp(username: str, guard: GuardDep, archive: ArchiveDep) -> Response:
    with archive.sessions() as session, session.begin():
        actor, target = _managed(session, guard, username)
        disable_totp(session, target, actor=actor)
    return Response(status_code=204)


@router.get("/users/{username}/sessions", summary="A person's open web sessions")
def user_sessions(username: str, guard: GuardDep, archive: ArchiveDep) -> list[SessionOut]:
    with archive.sessions() as session:
        if username == guard.user.username:
            target = session.merge(guard.user)
        else:
            target = _managed(session, guard, username)[1]
        return [SessionOut.of(r) for r in sessions.list_sessions(session, target)]


@router.delete(
    "/sessions/{session_id}", status_code=204, summary="Revoke one web session (mine, or as administrator)"
)
def revoke_session(session_id: int, guard: GuardDep, archive: ArchiveDep) -> Response:
    with archive.sessions() as session, session.begin():
        row = sessions.get_session_row(session, session_id)
        if row.user_id == guard.user.id:
            _full_credential(session, guard, "session.revoke")
        actor = (
            session.merge(guard.user) if row.user_id == guard.user.id else _manage(session, guard, row.user)
        )
        sessions.revoke_session(session, row, actor=actor, reason="revoked")
    return Response(status_code=204)


def _full_credential(session: Session, guard: Guard, action: str) -> None:
    """Ending my own sessions or tokens needs a credential that is not narrowed: a token scoped to, say,
    document.read only reads (another person's are covered by user.manage, which scopes already narrow)."""
    if guard.scopes is None or "*" in guard.scopes:
        return
    record_denial(
        session,
        guard.user,
        action,
        guard.user.organisation_id,
        detail={"action": action, "token_scopes": sorted(guard.scopes)},
    )
    raise PermissionDenied(
        "Mã truy cập này chỉ được cấp một số quyền; hãy dùng phiên đăng nhập trên trang web",
        "This token is narrowed to some actions; use a web session (or a full token) for this",
        code="token_scope",
    )


# --- API tokens ---------------------------------------------------------------------------------------------------
class TokenIn(BaseModel):
    password: str = Field(max_length=1000, description="My password, asked again")
    name: str = Field(default="", max_length=100)
    days: int | None = Field(
        default=None,
        ge=accounts.TOKEN_MIN_DAYS,
        le=accounts.TOKEN_MAX_DAYS,
        description="Lifetime (default: api_token_ttl_days)",
    )
    scopes: str = Field(
        default="*", description='"*" or comma-separated actions, e.g. "document.read,document.download"'
    )
    user: str | None = Field(
        default=None, description="Refused unless it is me: nobody issues tokens for another person"
    )


@router.get("/tokens", summary="My API tokens (or another person's, as administrator)")
def list_tokens(guard: GuardDep, archive: ArchiveDep, user: str | None = None) -> list[TokenOut]:
    with archive.sessions() as session:
        if user and user != guard.user.username:
            owner = _managed(session, guard, user)[1]
        else:
            owner = session.merge(guard.user)
        return [TokenOut.of(t) for t in accounts.list_tokens(session, owner)]


@router.post(
    "/tokens",
    status_code=201,
    summary="Issue myself an API token (web session and my password); the secret is in the answer, once",
)
def create_token(body: TokenIn, caller: WebSessionDep, archive: ArchiveDep) -> IssuedTokenOut:
    guard = caller.guard
    if body.user is None or body.user == guard.user.username:
        check_own_password(archive, caller, body.password)
    with archive.sessions() as session, session.begin():
        me = session.merge(guard.user)
        if body.user is not None and body.user != me.username:
            record_denial(
                session,
                me,
                "token.create",
                me.organisation_id,
                detail={"action": "token.create", "reason": "token_for_other", "username": body.user[:64]},
            )
            raise PermissionDenied(
                "Không được cấp mã truy cập cho người khác; mỗi người tự tạo mã của mình",
                "Tokens cannot be issued for another person; each person issues their own",
                code="token_for_other",
            )
        owner = me
        scopes = accounts.parse_scopes(body.scopes)
        if guard.scopes is not None and not set(scopes.split(",")) <= guard.scopes:
            # a narrowed token must not mint a broader one
            record_denial(session, me, "token.create", me.organisation_id, detail={"scopes": scopes})
            raise PermissionDenied(
                "Mã truy cập hiện tại không được cấp quyền rộng hơn chính nó",
                "A scoped token cannot issue a token with wider scopes",
            )
        issued = accounts.create_token(
            session,
            user=owner,
            name=body.name,
            ttl_days=body.days or archive.settings.api_token_ttl_days,
            scopes=scopes,
            actor=me,
        )
        return IssuedTokenOut.issued(issued.token, issued.secret)


@router.delete("/tokens/{token_id}", summary="Revoke an API token")
def revoke_token(token_id: int, guard: GuardDep, archive: ArchiveDep) -> TokenOut:
    with archive.sessions() as session, session.begin():
        token = accounts.get_token(session, token_id)
        actor = session.merge(guard.user, load=True)
        if token.user_id != guard.user.id:
            _manage(session, guard, token.user)
        else:
            _full_credential(session, guard, "token.revoke")
        accounts.revoke_token(session, token, actor=actor)
        return TokenOut.of(token)
