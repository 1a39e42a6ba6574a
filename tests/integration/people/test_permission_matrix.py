"""The whole permission matrix: every role × every action × (own school / another school / outside the
jurisdiction), against a table written here from the rules in the issue, not derived from archive.permissions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from archive import accounts, orgs
from archive.context import Archive
from archive.errors import PermissionDenied
from archive.models import Event
from archive.permissions import ACTIONS, authorize, permitted, school_ids_for

SCHOOL_STAFF = {"school_admin", "van_thu", "hieu_truong", "pho_hieu_truong", "to_truong", "gvcn", "gvbm"}
INSPECTORS = {"inspector_phong", "inspector_so"}
TEACHERS = {"to_truong", "gvcn", "gvbm"}

# action -> the roles allowed it within their own scope (system_admin: always, everywhere)
ALLOWED = {
    "document.read": SCHOOL_STAFF | INSPECTORS,
    "document.download": SCHOOL_STAFF | INSPECTORS,
    "document.validate": SCHOOL_STAFF | INSPECTORS,
    "document.upload": {"van_thu", "hieu_truong", "pho_hieu_truong"},
    "document.upload_group": {"to_truong"},
    "document.upload_own": TEACHERS,
    "document.review": {"to_truong", "hieu_truong", "pho_hieu_truong"},
    "document.sign": {"hieu_truong", "pho_hieu_truong"},
    "document.sign_own": TEACHERS | {"school_admin"},
    "document.seal": {"van_thu"},
    "correction.request": TEACHERS,
    "correction.approve": {"hieu_truong"},
    "lock.manage": {"hieu_truong", "school_admin"},
    "user.manage": {"school_admin"},
    "roster.manage": {"hieu_truong", "school_admin"},
    "org.manage": set(),
    "chain.manage": set(),  # the system administrator alone
    "audit.read": {"hieu_truong", "school_admin"},
    "retention.propose_disposal": {"van_thu", "school_admin"},
    "retention.approve_disposal": {"hieu_truong"},
}

# role -> (username, own scope, another school, outside the jurisdiction)
SUBJECTS = {
    "system_admin": ("admin", "C01", "C02", "T80"),
    "school_admin": ("quantri", "C01", "C02", "T80"),
    "van_thu": ("vanthu", "C01", "C02", "T80"),
    "hieu_truong": ("hieutruong", "C01", "C02", "T80"),
    "pho_hieu_truong": ("phohieutruong", "C01", "C02", "T80"),
    "to_truong": ("totruong", "C01", "C02", "T80"),
    "gvcn": ("gvcn", "C01", "C02", "T80"),
    "gvbm": ("gvbm", "C01", "C02", "T80"),
    # Phòng Q1: its THCS school / a THCS school of another district / a GDTX centre in its own district
    "inspector_phong": ("thanhtraphong", "C01", "C02", "G01"),
    # Sở 79: a THPT school of the province / a THPT school of another province / a THCS school of its province
    "inspector_so": ("thanhtraso", "T01", "T80", "C01"),
}


def expected(role: str, action: str, scope: str) -> bool:
    if role == "system_admin":
        return True
    return scope == "own" and role in ALLOWED[action]


def test_the_table_names_every_action():
    assert set(ALLOWED) == set(ACTIONS)


def test_whole_matrix(world: Archive):
    mismatches = []
    denials = 0
    with world.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Event)) or 0
        for role, (username, *targets) in SUBJECTS.items():
            user = accounts.get_user(s, username)
            for action in ACTIONS:
                for scope, code in zip(("own", "another", "outside"), targets, strict=True):
                    org = orgs.get_organisation(s, code)
                    want = expected(role, action, scope)
                    try:
                        authorize(s, user, action, org)
                        got = True
                    except PermissionDenied as exc:
                        got = False
                        denials += 1
                        assert exc.status == 403 and exc.message_vi and exc.message_en
                        assert code in exc.message_vi and code in exc.message_en
                    if got != want:
                        mismatches.append((role, action, scope, code, "allowed" if got else "denied"))
    assert mismatches == []
    with world.sessions() as s:
        after = s.scalar(select(func.count()).select_from(Event)) or 0
        denied = s.scalars(select(Event).where(Event.action == "access.denied").order_by(Event.id)).all()
    # every refusal is in the audit trail, with who, what and where
    assert after - before == denials == len(denied)
    assert {e.actor for e in denied} == {u for r, (u, *_) in SUBJECTS.items() if r != "system_admin"}
    assert all(e.outcome == "denied" and e.detail["action"] in ACTIONS and e.organisation_id for e in denied)


def test_actions_not_tied_to_an_organisation_are_for_the_system_administrator(world: Archive):
    with world.sessions() as s:
        for role, (username, *_) in SUBJECTS.items():
            user = accounts.get_user(s, username)
            for action in ("org.manage", "user.manage", "audit.read"):
                assert permitted(s, user, action, None) is (role == "system_admin"), (role, action)


@pytest.mark.parametrize(
    "username, schools",
    [
        ("gvbm", {"C01"}),
        ("hieutruong", {"C01"}),
        ("thanhtraphong", {"C01", "M01"}),  # its THCS schools (M01 teaches THCS and THPT); not G01 (GDTX)
        ("thanhtraso", {"T01", "X01", "G01", "M01"}),  # THPT/GDTX/multi, directly or through its Phòngs
    ],
)
def test_readable_schools(world: Archive, username: str, schools: set[str]):
    with world.sessions() as s:
        user = accounts.get_user(s, username)
        ids = school_ids_for(s, user, "document.read")
        assert ids is not None
        assert {o.code for o in orgs.list_organisations(s) if o.id in ids} == schools
        # and nothing to upload for an inspector, anywhere
        if username.startswith("thanhtra"):
            assert school_ids_for(s, user, "document.upload") == []
        assert school_ids_for(s, accounts.get_user(s, "admin"), "document.read") is None


def test_a_person_with_two_roles_gets_both(world: Archive):
    with world.sessions() as s, s.begin():
        gv = accounts.get_user(s, "gvbm")
        c01, c02 = orgs.get_organisation(s, "C01"), orgs.get_organisation(s, "C02")
        assert not permitted(s, gv, "document.read", c02)
        accounts.grant_role(s, gv, "gvbm", c02)  # teaches at two schools
        accounts.grant_role(s, gv, "to_truong", c01)
        assert permitted(s, gv, "document.read", c02) and permitted(s, gv, "document.review", c01)
        assert not permitted(s, gv, "document.review", c02)
        accounts.revoke_role(s, gv, "gvbm", c02)
        assert not permitted(s, gv, "document.read", c02)
        actions = s.scalars(select(Event.action).where(Event.action.like("role.%")).order_by(Event.id)).all()
        assert actions[-3:] == ["role.grant", "role.grant", "role.revoke"]


def test_disabled_accounts_and_token_scopes_narrow_everything(world: Archive):
    with world.sessions() as s, s.begin():
        ht = accounts.get_user(s, "hieutruong")
        c01 = orgs.get_organisation(s, "C01")
        read_only = frozenset({"document.read", "document.download"})
        assert permitted(s, ht, "document.read", c01, scopes=read_only)
        assert not permitted(s, ht, "lock.manage", c01, scopes=read_only)
        assert permitted(s, ht, "lock.manage", c01, scopes=frozenset({"lock.*"}))
        accounts.set_active(s, ht, False)
        assert not permitted(s, ht, "document.read", c01)


def test_school_ids_by_action_is_school_ids_for_per_action_in_one_pass(world: Archive):
    """The batched form used by page menus and GET /me answers exactly what one call per action would, and reads the
    schools once however many actions are asked (not once per action)."""
    from sqlalchemy import event

    from archive.permissions import school_ids_by_action

    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with world.sessions() as s:
        people = [accounts.get_user(s, u) for u in ("admin", *PEOPLE_NAMES)]
        scopes_cases = (None, frozenset({"document.read", "lock.*"}), frozenset())
        for user in people:
            for scopes in scopes_cases:
                one_by_one = {a: school_ids_for(s, user, a, scopes=scopes) for a in ACTIONS}
                event.listen(world.engine, "before_cursor_execute", count)
                try:
                    statements.clear()
                    batched = school_ids_by_action(s, user, ACTIONS, scopes=scopes)
                finally:
                    event.remove(world.engine, "before_cursor_execute", count)
                assert batched == one_by_one, (user.username, scopes)
                assert len(statements) <= 2, (user.username, statements)  # assignments, then schools


PEOPLE_NAMES = ("quantri", "vanthu", "hieutruong", "totruong", "gvbm", "thanhtraphong", "thanhtraso")
