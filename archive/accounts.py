"""Accounts and API tokens. Tokens are random secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .account_rules import check_role_change
from .db import utcnow
from .errors import AuthError, Conflict, InvalidInput, NotFound, PermissionDenied
from .events import record_event
from .models import ApiToken, Organisation, RoleAssignment, User
from .permissions import ACTIONS, ROLE_ORG_KIND, check_role, record_denial
from .sessions import revoke_all_sessions

TOKEN_PREFIX = "hoso_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # how fresh a token's "last used" is kept
# a token lives at least a day and at most ten years; none lives for ever
TOKEN_MIN_DAYS, TOKEN_MAX_DAYS = 1, 3650
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(
            f"Không tìm thấy người dùng {username}", f"No user named {username}", code="user_not_found"
        )
    return user


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str = "",
    email: str | None = None,
    password: str | None = None,
    organisation_id: int | None = None,
    system_admin: bool = False,
    actor: User | None = None,
) -> User:
    username = username.strip()
    if not username or any(c.isspace() for c in username) or len(username) > 64:
        raise InvalidInput(
            "Tên đăng nhập không hợp lệ", "Invalid username (no spaces, at most 64 characters)"
        )
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(
            f"Tên đăng nhập {username} đã tồn tại", f"User {username} already exists", code="user_exists"
        )
    user = User(
        username=username,
        full_name=full_name,
        email=email,
        password_hash=hash_password(password) if password else None,
        organisation_id=organisation_id,
        is_system_admin=system_admin,
    )
    session.add(user)
    session.flush()
    record_event(
        session, "user.create", actor=actor, organisation_id=organisation_id, detail={"username": username}
    )
    return user


@dataclass(frozen=True)
class IssuedToken:
    secret: str
    token: ApiToken


def check_token_days(days: int) -> int:
    if not TOKEN_MIN_DAYS <= days <= TOKEN_MAX_DAYS:
        raise InvalidInput(
            f"Thời hạn mã truy cập phải từ {TOKEN_MIN_DAYS} đến {TOKEN_MAX_DAYS} ngày (nhận được {days})",
            f"A token's lifetime must be {TOKEN_MIN_DAYS} to {TOKEN_MAX_DAYS} days (got {days})",
            code="invalid_token_lifetime",
        )
    return days


def create_token(
    session: Session,
    *,
    user: User,
    name: str = "",
    ttl_days: int = 365,
    scopes: str = "*",
    actor: User | None = None,
) -> IssuedToken:
    """A new token for `user`. Tokens are personal: only their owner issues them (`actor`), or the server's operator
    on the command line (no actor); an administrator may revoke someone's tokens, never mint one in their name."""
    check_token_days(ttl_days)
    if actor is not None and actor.id != user.id:
        record_denial(
            session,
            actor,
            "token.create",
            user.organisation_id,
            detail={"action": "token.create", "reason": "token_for_other", "username": user.username},
        )
        raise PermissionDenied(
            "Không được cấp mã truy cập cho người khác; mỗi người tự tạo mã của mình",
            "Tokens cannot be issued for another person; each person issues their own",
            code="token_for_other",
        )
    scopes = parse_scopes(scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=token_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        name=name,
        scopes=scopes,
        expires_at=utcnow() + timedelta(days=ttl_days),
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        "token.create",
        actor=actor or user,
        organisation_id=user.organisation_id,
        detail={"user": user.username, "token_id": token.id, "name": name, "scopes": scopes},
    )
    return IssuedToken(secret, token)


def parse_scopes(scopes: str) -> str:
    """ "*" or a comma-separated list of actions (or "document.*"); refused when it names an unknown action."""

    parts = sorted({p.strip() for p in scopes.split(",") if p.strip()}) or ["*"]
    families = {a.split(".")[0] for a in ACTIONS}
    for p in parts:
        if p != "*" and p not in ACTIONS and not (p.endswith(".*") and p[:-2] in families):
            raise InvalidInput(
                f"Phạm vi không hợp lệ: {p}", f"Unknown token scope {p!r}", code="invalid_scope"
            )
    return ",".join(parts)


def token_scopes(token: ApiToken) -> frozenset[str] | None:
    parts = frozenset(p for p in token.scopes.split(",") if p)
    return None if not parts or "*" in parts else parts


def authenticate_api_token(session: Session, secret: str) -> tuple[User, ApiToken]:
    # the user in the same statement: every API request passes here
    query = (
        select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == token_digest(secret))
    )
    token = session.scalar(query)
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise AuthError("Mã truy cập không hợp lệ hoặc đã hết hạn", "Invalid, expired or revoked token")
    if not token.user.is_active:
        raise AuthError("Tài khoản đã bị khóa", "Account disabled")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # not on every request: the UPDATE would lock the token's row until commit, so a client's parallel requests
        # would take turns (issue 15: downloads)
        token.last_used_at = now
    return token.user, token


def authenticate_token(session: Session, secret: str) -> User:
    return authenticate_api_token(session, secret)[0]


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(
            f"Không tìm thấy mã truy cập {token_id}", f"No token {token_id}", code="token_not_found"
        )
    return token


def revoke_token(session: Session, token: ApiToken, *, actor: User | None = None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record_event(
            session,
            "token.revoke",
            actor=actor,
            organisation_id=token.user.organisation_id,
            detail={"user": token.user.username, "token_id": token.id, "name": token.name},
        )
    return token


def revoke_all_tokens(session: Session, user: User, *, reason: str, actor: User | None = None) -> int:
    """Revoke every live token of `user` (password reset, account disabled): whoever minted one with the old
    password keeps nothing."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    if rows:
        record_event(
            session,
            "token.revoke",
            actor=actor,
            organisation_id=user.organisation_id,
            detail={"user": user.username, "token_ids": [r.id for r in rows], "reason": reason},
        )
    return len(rows)


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        stmt = stmt.where(ApiToken.user_id == user.id)
    return list(session.scalars(stmt))


# --- account administration ----------------------------------------------------------------------------------
MIN_PASSWORD = 10


def check_new_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự",
            f"The password needs at least {MIN_PASSWORD} characters",
            code="weak_password",
        )
    return password


def reset_password(
    session: Session, user: User, *, password: str | None = None, actor: User | None = None
) -> str:
    """Set a new password (a random one when none is given, returned to be handed over in person) and end every
    web session and API token of the account, so whoever knew the old password keeps no way in."""

    new = check_new_password(password) if password else secrets.token_urlsafe(12)
    user.password_hash = hash_password(new)
    revoke_all_sessions(session, user, reason="password_reset")
    revoke_all_tokens(session, user, reason="password_reset", actor=actor)
    record_event(
        session,
        "user.password_reset",
        actor=actor,
        organisation_id=user.organisation_id,
        detail={"username": user.username, "generated": password is None},
    )
    return new


def set_active(session: Session, user: User, active: bool, *, actor: User | None = None) -> User:

    if user.is_active != active:
        user.is_active = active
        if not active:
            # tokens stop working while the account is disabled anyway; revoked, they stay dead once re-enabled
            revoke_all_sessions(session, user, reason="disabled")
            revoke_all_tokens(session, user, reason="disabled", actor=actor)
        record_event(
            session,
            "user.enable" if active else "user.disable",
            actor=actor,
            organisation_id=user.organisation_id,
            detail={"username": user.username},
        )
    return user


def grant_role(
    session: Session, user: User, role: str, organisation: Organisation, *, actor: User | None = None
) -> RoleAssignment:

    check_role(role)
    check_role_change(session, actor, user, role)
    if organisation.kind != ROLE_ORG_KIND[role]:
        raise InvalidInput(
            f"Vai trò {role} chỉ gán tại đơn vị loại {ROLE_ORG_KIND[role]}, không phải {organisation.code}",
            f"Role {role} is held in a {ROLE_ORG_KIND[role]} organisation, not {organisation.code}",
            code="role_org_mismatch",
        )
    existing = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role,
            RoleAssignment.organisation_id == organisation.id,
        )
    )
    if existing is not None:
        return existing  # idempotent: granting twice changes nothing and records nothing
    ra = RoleAssignment(
        user_id=user.id,
        role=role,
        organisation_id=organisation.id,
        granted_by_id=actor.id if actor else None,
        granted_at=utcnow(),
    )
    session.add(ra)
    session.flush()
    record_event(
        session,
        "role.grant",
        actor=actor,
        organisation_id=organisation.id,
        detail={"username": user.username, "role": role, "organisation": organisation.code},
    )
    return ra


def revoke_role(
    session: Session, user: User, role: str, organisation: Organisation, *, actor: User | None = None
) -> None:

    check_role_change(session, actor, user, role, grant=False)
    ra = session.scalar(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user.id,
            RoleAssignment.role == role,
            RoleAssignment.organisation_id == organisation.id,
        )
    )
    if ra is None:
        raise NotFound(
            f"{user.username} không giữ vai trò {role} tại {organisation.code}",
            f"{user.username} does not hold {role} at {organisation.code}",
            code="role_not_found",
        )
    session.delete(ra)
    record_event(
        session,
        "role.revoke",
        actor=actor,
        organisation_id=organisation.id,
        detail={"username": user.username, "role": role, "organisation": organisation.code},
    )
