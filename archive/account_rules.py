"""Who may manage whose account, and what nobody may do to themself: the one rule the API, the pages and the
command line share (issue 8, findings 4, 5 and 15).

Managing an account (reading it, its roles, disabling, resetting its password or TOTP, its sessions and tokens) acts on
everything the person can do, so it needs `user.manage` over **every** organisation where they hold a role and over
their home organisation: a school administrator manages the people of their school, not a teacher who also teaches
elsewhere or works at the Phòng (resetting that teacher's password would hand over the other school too). A system
administrator's account, or one tied to no organisation, is managed only by a system administrator.

A caller who may not manage an account gets the same 403 whether it exists or not, and the refusal never names where
the account belongs, so usernames cannot be probed.

Separation of duties: nobody grants a role to themself, and the principal's role (hiệu trưởng) is granted — and taken
away — only by the level above (a system administrator). The command line acts as the server's operator (no actor).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound, PermissionDenied
from .models import Organisation, RoleAssignment, User
from .permissions import permitted, record_denial

# roles that only a system administrator grants or revokes: who holds them decides over the school administrator
RESERVED_ROLES = frozenset({"hieu_truong"})


def organisations_of(session: Session, user: User) -> list[Organisation]:
    """The account's home organisation and every organisation where it holds a role."""
    ids = set(
        session.scalars(select(RoleAssignment.organisation_id).where(RoleAssignment.user_id == user.id))
    )
    if user.organisation_id is not None:
        ids.add(user.organisation_id)
    if not ids:
        return []
    return list(
        session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.id))
    )


def may_manage(session: Session, actor: User, target: User, *, scopes: frozenset[str] | None = None) -> bool:
    if target.is_system_admin:
        return permitted(session, actor, "user.manage", None, scopes=scopes)
    where = organisations_of(session, target)
    if not where:
        return permitted(session, actor, "user.manage", None, scopes=scopes)
    return all(permitted(session, actor, "user.manage", org, scopes=scopes) for org in where)


def _refused(session: Session, actor: User, username: str, scopes: frozenset[str] | None) -> PermissionDenied:
    record_denial(
        session,
        actor,
        "user.manage",
        None,
        detail={"action": "user.manage", "username": username[:64]}
        | ({"token_scopes": sorted(scopes)} if scopes is not None else {}),
    )
    return PermissionDenied(
        "Bạn không có quyền quản lý tài khoản này",
        "You are not allowed to manage this account",
        code="forbidden",
    )


def check_may_manage(
    session: Session, actor: User, target: User, *, scopes: frozenset[str] | None = None
) -> None:
    """Raise PermissionDenied (recorded) unless `actor` may manage `target` (see the module's rule)."""
    if not may_manage(session, actor, target, scopes=scopes):
        raise _refused(session, actor, target.username, scopes)


def managed_account(
    session: Session, actor: User, username: str, *, scopes: frozenset[str] | None = None
) -> User:
    """The account `username`, once `actor` may manage it. Only someone who could manage any account (a system
    administrator) learns that a name does not exist; everyone else gets the same 403 as for an existing account."""
    target = session.scalar(select(User).where(User.username == username))
    if target is None:
        if permitted(session, actor, "user.manage", None, scopes=scopes):
            raise NotFound(
                f"Không tìm thấy người dùng {username}", f"No user named {username}", code="user_not_found"
            )
        raise _refused(session, actor, username, scopes)
    check_may_manage(session, actor, target, scopes=scopes)
    return target


def check_role_change(
    session: Session, actor: User | None, target: User | None, role: str, *, grant: bool = True
) -> None:
    """Separation of duties for granting (or revoking, grant=False) `role` to `target` (None: an account being
    created). Actor None is the server's operator on the command line. Call it before writing anything: the refusal
    is recorded. Giving up one's own role is allowed; taking one is not."""
    if actor is None:
        return
    if grant and target is not None and actor.id == target.id:
        _deny(
            session,
            actor,
            role,
            "self_grant",
            "Không ai được tự phân vai trò cho chính mình",
            "Nobody grants roles to themself",
        )
    if role in RESERVED_ROLES and not actor.is_system_admin:
        _deny(
            session,
            actor,
            role,
            "role_reserved",
            f"Chỉ quản trị hệ thống (cấp trên) mới được phân hoặc thu hồi vai trò {role}",
            f"Only a system administrator (the level above) grants or revokes the role {role}",
        )


def _deny(session: Session, actor: User, role: str, code: str, vi: str, en: str) -> None:
    record_denial(
        session, actor, "user.manage", None, detail={"action": "user.manage", "reason": code, "role": role}
    )
    raise PermissionDenied(vi, en, code=code)
