"""Pure scope rules (archive.permissions.covers), TOTP steps and the CSRF token."""

from __future__ import annotations

import time

import pyotp

from archive.auth import verify_totp
from archive.models import User
from archive.permissions import MATRIX, ROLE_ORG_KIND, ROLES, OrgFacts, covers, upload_action
from archive.sessions import csrf_ok, csrf_token_for

SO, OTHER_SO = OrgFacts(1, "so", (), None, None), OrgFacts(2, "so", (), None, None)
PHONG = OrgFacts(10, "phong", (), 1, None)
THCS = OrgFacts(100, "truong", ("THCS",), 10, 1)
GDTX_IN_PHONG = OrgFacts(101, "truong", ("GDTX",), 10, 1)
THPT = OrgFacts(102, "truong", ("THPT",), 1, None)
MULTI = OrgFacts(103, "truong", ("multi",), 10, 1)


def test_phong_inspector_sees_only_its_thcs_schools():
    assert covers("inspector_phong", PHONG, THCS)
    assert covers("inspector_phong", PHONG, MULTI)
    assert not covers("inspector_phong", PHONG, GDTX_IN_PHONG)
    assert not covers("inspector_phong", PHONG, THPT)
    assert not covers("inspector_phong", SO, THCS)  # held in the wrong kind of organisation: nothing


def test_so_inspector_sees_thpt_and_gdtx_of_its_province_only():
    assert covers("inspector_so", SO, THPT) and covers("inspector_so", SO, GDTX_IN_PHONG)
    assert not covers("inspector_so", SO, THCS)
    assert not covers("inspector_so", OTHER_SO, THPT)


def test_school_roles_see_their_school_only():
    for role in ("hieu_truong", "gvbm", "van_thu"):
        assert covers(role, THCS, THCS) and not covers(role, THCS, MULTI) and not covers(role, PHONG, THCS)


def test_every_role_is_described_and_held_somewhere():
    assert set(MATRIX) == set(ROLES) and set(ROLE_ORG_KIND) == set(ROLES) - {"system_admin"}
    assert (
        upload_action("giao-vien") == "document.upload_own" and upload_action("to") == "document.upload_group"
    )
    assert upload_action("truong") == upload_action("something-new") == "document.upload"


def test_totp_accepts_one_step_of_drift_and_refuses_replay():
    secret = pyotp.random_base32()
    user = User(username="x", totp_secret=secret, totp_last_step=None)
    totp = pyotp.TOTP(secret)
    now = time.time()
    step = verify_totp(user, totp.at(now - 30), at=now)
    assert step == int((now - 30) // 30)
    assert verify_totp(user, totp.at(now - 90), at=now) is None  # too old
    user.totp_last_step = int(now // 30)
    assert verify_totp(user, totp.at(now), at=now) is None  # already used
    user.totp_last_step = None
    assert verify_totp(User(username="y"), totp.at(now), at=now) is None  # not enrolled


def test_csrf_token_is_bound_to_the_session():
    assert csrf_ok("secret-a", csrf_token_for("secret-a"))
    assert not csrf_ok("secret-b", csrf_token_for("secret-a"))
    assert not csrf_ok("secret-a", None) and not csrf_ok("secret-a", "")
