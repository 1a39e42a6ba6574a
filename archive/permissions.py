"""The one permission matrix and the one place it is enforced (`authorize`). Documented in docs/permissions.md.

A person holds role assignments (role, organisation). Each role grants a fixed set of actions (MATRIX) over a scope
of schools that depends on the role and the organisation it is held in (`covers`):
- school roles: the school they are assigned in;
- Phòng inspector: the THCS schools directly under that Phòng (its district);
- Sở inspector: the THPT and GDTX schools under that Sở, directly or through one of its Phòngs;
- system administrator (User.is_system_admin): every action everywhere (it is the operator of the service).
A school whose level is only "multi" (level not detailed) counts as every level, so no inspector loses sight of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction, aliased, joinedload

from .errors import InvalidInput, PermissionDenied
from .events import record_event
from .models import Organisation, RoleAssignment, User

# --- vocabulary ---------------------------------------------------------------------------------------------------
ACTIONS: dict[str, tuple[str, str]] = {
    "document.read": ("xem thông tin hồ sơ", "see a document's record"),
    "document.download": ("tải tệp hồ sơ", "download a document's file"),
    "document.validate": ("kiểm tra chữ ký số", "validate signatures"),
    "document.upload": ("tải lên hồ sơ của trường", "upload school records"),
    "document.upload_group": ("tải lên hồ sơ của tổ chuyên môn", "upload professional-group records"),
    "document.upload_own": (
        "tải lên hồ sơ của giáo viên (kế hoạch bài dạy …)",
        "upload teachers' own records",
    ),
    "document.review": ("duyệt hồ sơ chuyên môn", "review lesson plans and group records"),
    "document.sign": ("ký số với tư cách người có thẩm quyền", "sign as the competent person"),
    "document.sign_own": ("ký số hồ sơ của chính mình", "sign one's own records"),
    "document.seal": ("ký số của cơ quan (con dấu)", "apply the school seal signature"),
    "correction.request": ("đề nghị chỉnh sửa dữ liệu đã khóa", "request a correction of locked records"),
    "correction.approve": ("phê duyệt chỉnh sửa dữ liệu", "approve a correction"),
    "lock.manage": ("khóa / mở khóa hồ sơ theo năm học", "lock / unlock a school year's records"),
    "user.manage": ("quản lý tài khoản và phân quyền", "manage accounts and roles"),
    "roster.manage": (
        "phân công giảng dạy (lớp, GVCN, GVBM, tổ chuyên môn)",
        "keep classes, teachers and groups",
    ),
    "org.manage": ("quản lý đơn vị", "manage organisations"),
    "chain.manage": ("sửa quy trình ký theo loại hồ sơ", "edit the signing chains of document types"),
    "audit.read": ("xem nhật ký truy vết", "read the audit trail"),
    "retention.propose_disposal": ("lập danh sách hồ sơ hết hạn", "propose records for disposal"),
    "retention.approve_disposal": ("phê duyệt tiêu hủy hồ sơ", "approve disposal"),
}

ROLES: dict[str, tuple[str, str]] = {
    "system_admin": ("Quản trị hệ thống", "System administrator"),
    "school_admin": ("Cán bộ quản trị", "School administrator"),
    "van_thu": ("Văn thư", "Registry clerk (văn thư)"),
    "hieu_truong": ("Hiệu trưởng", "Principal"),
    "pho_hieu_truong": ("Phó hiệu trưởng", "Deputy principal"),
    "to_truong": ("Tổ trưởng chuyên môn", "Head of professional group"),
    "gvcn": ("Giáo viên chủ nhiệm", "Homeroom teacher"),
    "gvbm": ("Giáo viên bộ môn", "Subject teacher"),
    "inspector_phong": ("Thanh tra / chuyên viên Phòng GDĐT", "Inspector of a Phòng GDĐT"),
    "inspector_so": ("Thanh tra / chuyên viên Sở GDĐT", "Inspector of the Sở GDĐT"),
}

# Which organisation kind each role is held in (system_admin is the User flag, not an assignment).
ROLE_ORG_KIND = {role: "truong" for role in ROLES} | {"inspector_phong": "phong", "inspector_so": "so"}
del ROLE_ORG_KIND["system_admin"]

_READ = {"document.read", "document.download", "document.validate"}
MATRIX: dict[str, frozenset[str]] = {
    "system_admin": frozenset(ACTIONS),
    # accounts, locks on the principal's instruction, backups; signs correction records with principal and teacher
    "school_admin": frozenset(
        _READ
        | {"user.manage", "lock.manage", "audit.read", "document.sign_own", "retention.propose_disposal"}
        | {"roster.manage"}
    ),
    # the office: registers school records and applies the organisation's signature after the competent person
    "van_thu": frozenset(_READ | {"document.upload", "document.seal", "retention.propose_disposal"}),
    "hieu_truong": frozenset(
        _READ
        | {
            "document.upload",
            "document.review",
            "document.sign",
            "correction.approve",
            "lock.manage",
            "audit.read",
            "retention.approve_disposal",
            "roster.manage",
        }
    ),
    "pho_hieu_truong": frozenset(_READ | {"document.upload", "document.review", "document.sign"}),
    "to_truong": frozenset(
        _READ
        | {"document.upload_own", "document.upload_group", "document.review", "document.sign_own"}
        | {"correction.request"}
    ),
    "gvcn": frozenset(_READ | {"document.upload_own", "document.sign_own", "correction.request"}),
    "gvbm": frozenset(_READ | {"document.upload_own", "document.sign_own", "correction.request"}),
    # inspectors look, never touch
    "inspector_phong": frozenset(_READ),
    "inspector_so": frozenset(_READ),
}

# document_types.kept_by -> the action that uploading such a record needs
UPLOAD_ACTION_BY_KEEPER = {
    "truong": "document.upload",
    "to": "document.upload_group",
    "giao-vien": "document.upload_own",
}


def upload_action(kept_by: str) -> str:
    return UPLOAD_ACTION_BY_KEEPER.get(kept_by, "document.upload")


def check_action(action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")  # a programming error, not user input
    return action


def check_role(role: str) -> str:
    if role not in ROLE_ORG_KIND:
        names = ", ".join(ROLE_ORG_KIND)
        raise InvalidInput(f"Vai trò không hợp lệ: {role} ({names})", f"Unknown role {role!r} ({names})")
    return role


# --- scope: pure functions of plain data --------------------------------------------------------------------------
@dataclass(frozen=True)
class OrgFacts:
    id: int
    kind: str
    levels: tuple[str, ...]
    parent_id: int | None
    grandparent_id: int | None

    @classmethod
    def of(cls, org: Organisation) -> OrgFacts:
        parent = org.parent
        return cls(
            org.id,
            org.kind,
            tuple(org.levels),
            org.parent_id,
            parent.parent_id if parent is not None else None,
        )

    def has_level(self, *wanted: str) -> bool:
        return "multi" in self.levels or any(level in self.levels for level in wanted)


def covers(role: str, held_in: OrgFacts, target: OrgFacts) -> bool:
    """Does an assignment of `role` in `held_in` reach `target`?"""
    if role == "inspector_phong":
        return (
            held_in.kind == "phong"
            and target.kind == "truong"
            and target.parent_id == held_in.id
            and target.has_level("THCS")
        )
    if role == "inspector_so":
        return (
            held_in.kind == "so"
            and target.kind == "truong"
            and held_in.id in (target.parent_id, target.grandparent_id)
            and target.has_level("THPT", "GDTX")
        )
    return held_in.kind == "truong" and target.id == held_in.id


def allows(assignments: Iterable[tuple[str, OrgFacts]], action: str, target: OrgFacts) -> bool:
    return any(action in MATRIX.get(role, ()) and covers(role, held, target) for role, held in assignments)


# --- database-backed checks ---------------------------------------------------------------------------------------
def assignments_of(session: Session, user: User) -> list[tuple[str, OrgFacts]]:
    rows = session.scalars(
        select(RoleAssignment)
        .where(RoleAssignment.user_id == user.id)
        .options(joinedload(RoleAssignment.organisation).joinedload(Organisation.parent))
    ).all()
    return [(r.role, OrgFacts.of(r.organisation)) for r in rows]


# --- the credential of the request being served ------------------------------------------------------------------
@dataclass(frozen=True)
class Credential:
    """Who is calling in this request and what their credential allows (set by the API's authentication)."""

    user_id: int | None
    scopes: frozenset[str] | None  # an API token's scopes; None: not narrowed (web session, CLI, jobs)
    ip: str | None = None


CREDENTIAL: ContextVar[Credential | None] = ContextVar("hoso_credential", default=None)


def effective_scopes(user: User, scopes: frozenset[str] | None) -> frozenset[str] | None:
    """The scopes to apply when checking `user`: the caller's, or else those of the credential this request was
    authenticated with — so that no service can forget a token's scopes by not passing them. They apply only to the
    credential's own user (a check about another person, e.g. "who may sign next", is not narrowed by my token)."""
    if scopes is not None:
        return scopes
    cred = CREDENTIAL.get()
    if cred is not None and cred.user_id is not None and cred.user_id == user.id:
        return cred.scopes
    return None


def permitted(
    session: Session,
    user: User,
    action: str,
    organisation: Organisation | None,
    *,
    scopes: frozenset[str] | None = None,
) -> bool:
    """`organisation` None means "not tied to one organisation" (creating a Sở, reading the whole trail): only the
    system administrator. `scopes` narrows what an API token may do; when None, the scopes of the credential the
    current request was authenticated with apply (`effective_scopes`); outside a request nothing is narrowed."""
    check_action(action)
    scopes = effective_scopes(user, scopes)
    if not user.is_active or (scopes is not None and not scope_allows(scopes, action)):
        return False
    if user.is_system_admin:
        return True
    if organisation is None:
        return False
    return allows(assignments_of(session, user), action, OrgFacts.of(organisation))


def scope_allows(scopes: frozenset[str], action: str) -> bool:
    return "*" in scopes or action in scopes or f"{action.split('.')[0]}.*" in scopes


def authorize(
    session: Session,
    user: User,
    action: str,
    organisation: Organisation | None,
    *,
    scopes: frozenset[str] | None = None,
    document_id: str | None = None,
) -> None:
    """Raise PermissionDenied (and record "access.denied") unless `user` may do `action` on `organisation`."""
    if permitted(session, user, action, organisation, scopes=scopes):
        return
    scopes = effective_scopes(user, scopes)
    vi, en = ACTIONS[action]
    where_vi = f" tại {organisation.code}" if organisation is not None else ""
    where_en = f" at {organisation.code}" if organisation is not None else ""
    record_denial(
        session,
        user,
        action,
        organisation.id if organisation is not None else None,
        document_id=document_id,
        detail={"action": action, "organisation": organisation.code if organisation is not None else None}
        | ({"token_scopes": sorted(scopes)} if scopes is not None else {}),
    )
    raise PermissionDenied(
        f"Bạn không có quyền {vi}{where_vi}", f"You are not allowed to {en}{where_en}", code="forbidden"
    )


def authorize_scope(session: Session, user: User, action: str, scopes: frozenset[str] | None = None) -> None:
    """Before work on many records at once: refuse (recorded) a credential whose scopes exclude `action` outright,
    so that the per-record errors of a batch never hide a token that may not do this at all."""
    scopes = effective_scopes(user, scopes)
    if scopes is None or scope_allows(scopes, action):
        return
    vi, en = ACTIONS[action]
    record_denial(session, user, action, None, detail={"action": action, "token_scopes": sorted(scopes)})
    raise PermissionDenied(f"Bạn không có quyền {vi}", f"You are not allowed to {en}", code="forbidden")


# --- recording refusals -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Denial:
    user_id: int | None
    action: str
    organisation_id: int | None
    document_id: str | None
    detail: dict[str, Any]
    reason: str  # what the flood limit counts by, with the client's address


_PENDING = "hoso_pending_denials"
# per (client address, reason); the rest are counted and reported with the next one written
DENIALS_PER_MINUTE = 30
_window_lock = threading.Lock()
_windows: dict[
    tuple[str, str, str], tuple[int, int, int]
] = {}  # (catalog, ip, reason) -> (minute, written, suppressed)
log = logging.getLogger(__name__)


def record_denial(
    session: Session,
    user: User | None,
    action: str,
    organisation_id: int | None,
    *,
    document_id: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record "access.denied" once, after the refused transaction has ended.

    A refusal rolls the caller's transaction back, so the event cannot be written in it; and it must not be written
    by a second writer *while* that transaction is open: on SQLite the caller may hold the write lock (it wrote
    something before the check) and the second writer waits for it until the busy timeout (finding 9), on
    PostgreSQL it waits on the chain head row for ever. So the denial is parked on the caller's session and written
    by `_write_parked` in its own short transaction as soon as the caller's transaction ends (commit, rollback or
    close); with no transaction open, it is written at once."""
    denial = Denial(
        user.id if user is not None else None,
        action,
        organisation_id,
        document_id,
        dict(detail or {"action": action}),
        reason=f"forbidden:{action}",
    )
    if session.in_transaction():
        session.info.setdefault(_PENDING, []).append(denial)
    else:
        write_denial(session.get_bind(), denial)


def record_refusal(
    bind: Any,
    *,
    user_id: int | None,
    reason: str,
    status: int,
    ip: str | None,
    path: str,
    organisation_id: int | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Record a refusal that happened outside any transaction of the caller (a bad credential: 401)."""
    write_denial(
        bind,
        Denial(
            user_id,
            reason,
            organisation_id,
            None,
            {"reason": reason, "status": status, "path": path} | dict(detail or {}),
            reason=reason,
        ),
        ip=ip,
    )


def _admit(catalog: str, ip: str | None, reason: str) -> tuple[bool, int]:
    """The flood bound: may this denial be written, and how many of its kind were only counted before it.
    Kept in this process's memory (per catalog): with several server processes, the bound is per process."""
    if ip is None:
        return True, 0  # not a network request (command line, jobs): nothing to flood with
    minute = int(time.monotonic() // 60)
    key = (catalog, ip, reason)
    with _window_lock:
        start, written, suppressed = _windows.get(key, (minute, 0, 0))
        carried = 0
        if start != minute:  # a new minute: the first one written reports what the last minute only counted
            if suppressed:
                log.warning("%d access.denied (%s from %s) counted, not written", suppressed, reason, ip)
            if len(_windows) > 10_000:  # many addresses: forget old windows rather than grow without bound
                _windows.clear()
            carried, start, written, suppressed = suppressed, minute, 0, 0
        if written >= DENIALS_PER_MINUTE:
            _windows[key] = (start, written, suppressed + 1)
            return False, 0
        _windows[key] = (start, written + 1, suppressed)
        return True, carried


def write_denial(bind: Any, denial: Denial, *, ip: str | None = None) -> None:
    cred = CREDENTIAL.get()
    ip = ip or (cred.ip if cred is not None else None)
    admitted, suppressed = _admit(str(getattr(bind, "url", "")), ip, denial.reason)
    if not admitted:
        return
    detail = denial.detail | ({"ip": ip} if ip else {})
    if suppressed:
        detail["suppressed_before"] = suppressed  # refusals of this kind counted but not written, last minute
    # record_event takes the write lock before reading the chain head (archive/db.py lock_for_write), so a concurrent
    # writer cannot take the same event id: one short transaction, no retry
    with Session(bind) as own, own.begin():
        record_event(
            own,
            "access.denied",
            actor=own.get(User, denial.user_id) if denial.user_id is not None else None,
            document_id=denial.document_id,
            organisation_id=denial.organisation_id,
            outcome="denied",
            detail=detail,
        )


@event.listens_for(Session, "after_transaction_end")
def _write_parked(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or not session.info.get(_PENDING):
        return
    parked = session.info.pop(_PENDING)
    # the refused transaction's connection has gone back to the pool: no lock of its own is held any more
    bind = session.get_bind()
    for denial in parked:
        try:
            write_denial(bind, denial)
        except Exception:  # the refusal stands whatever happens to its record; a 403 must not become a 500
            log.exception("could not record access.denied for %s", denial.action)


def school_ids_for(
    session: Session, user: User, action: str, *, scopes: frozenset[str] | None = None
) -> list[int] | None:
    """The ids of every school where `user` may do `action`; None means every school (system administrator)."""
    return school_ids_by_action(session, user, (action,), scopes=scopes)[action]


def school_ids_by_action(
    session: Session, user: User, actions: Iterable[str], *, scopes: frozenset[str] | None = None
) -> dict[str, list[int] | None]:
    """`school_ids_for` for several actions at once (a page's menu, GET /me): the person's assignments and the
    schools are read once, not once per action."""
    wanted = [check_action(a) for a in actions]
    scopes = effective_scopes(user, scopes)
    out: dict[str, list[int] | None] = {a: [] for a in wanted}
    if not user.is_active:
        return out
    allowed = [a for a in wanted if scopes is None or scope_allows(scopes, a)]
    if user.is_system_admin:
        return out | dict.fromkeys(allowed, None)
    assignments = assignments_of(session, user)
    held = {a: [(role, facts) for role, facts in assignments if a in MATRIX.get(role, ())] for a in allowed}
    if not any(held.values()):
        return out
    parent = aliased(Organisation)
    rows = session.execute(
        select(Organisation, parent.parent_id)
        .outerjoin(parent, Organisation.parent_id == parent.id)
        .where(Organisation.kind == "truong")
    ).all()
    schools = [OrgFacts(o.id, o.kind, tuple(o.levels), o.parent_id, grandparent) for o, grandparent in rows]
    for action, h in held.items():
        if h:
            out[action] = [s.id for s in schools if any(covers(role, f, s) for role, f in h)]
    return out


def roles_of(session: Session, user: User) -> list[dict[str, str | None]]:
    out: list[dict[str, str | None]] = []
    if user.is_system_admin:
        out.append({"role": "system_admin", "organisation": None, "name_vi": ROLES["system_admin"][0]})
    for r in session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id).order_by(RoleAssignment.id)
    ):
        out.append({"role": r.role, "organisation": r.organisation.code, "name_vi": ROLES[r.role][0]})
    return out
