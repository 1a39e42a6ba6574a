"""Accounts and API tokens. Tokens are random secrets shown once; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import utcnow
from .errors import AuthError, Conflict, InvalidInput, NotFound
from .events import record_event
from .models import ApiToken, User

TOKEN_PREFIX = "hoso_"
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


def create_token(
    session: Session,
    *,
    user: User,
    name: str = "",
    ttl_days: int | None = 365,
    scopes: str = "*",
    actor: User | None = None,
) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        token_hash=token_digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        name=name,
        scopes=scopes,
        expires_at=utcnow() + timedelta(days=ttl_days) if ttl_days else None,
    )
    session.add(token)
    session.flush()
    record_event(
        session,
        "token.create",
        actor=actor or user,
        detail={"user": user.username, "token_id": token.id, "name": name},
    )
    return IssuedToken(secret, token)


def authenticate_token(session: Session, secret: str) -> User:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    now = utcnow()
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        raise AuthError("Mã truy cập không hợp lệ hoặc đã hết hạn", "Invalid, expired or revoked token")
    if not token.user.is_active:
        raise AuthError("Tài khoản đã bị khóa", "Account disabled")
    token.last_used_at = now
    return token.user
