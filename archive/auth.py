"""Logging in: password (argon2), login throttling stored in the database, optional TOTP second factor.

TOTP secrets are stored encrypted (`fernet:<token>`, archive/secrets_box.py) with a key outside the database; a legacy
plaintext secret still verifies and is re-encrypted the first time it is used.

Throttling: `login_max_failures` failures for one username, or `login_max_failures_per_ip` from one address, within
`login_lockout_minutes` lock further attempts until that window has passed. Attempts refused by the lock are not
counted (otherwise an attacker could keep a teacher locked out forever) but are recorded in the audit trail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, object_session, sessionmaker

from . import secrets_box
from .accounts import check_password
from .db import lock_for_write, utcnow
from .errors import AuthError, InvalidInput
from .events import record_event
from .models import LoginFailure, User
from .secrets_box import SecretKeyError
from .sessions import IssuedSession, create_session
from .settings import Settings

# verifying against this keeps the time of "no such user" close to "wrong password"
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$E6wVPQ3CF4Z724s9mH//Vg$kc88P7cDVsFlXVN39WhAvNdiKThLLgTA9YrML/dpDuM"
)


class LoginThrottled(AuthError):
    status = 429
    code = "login_throttled"


@dataclass(frozen=True)
class LoginResult:
    user: User
    issued: IssuedSession


def _keys(username: str, ip: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"ip:{ip}"


def locked_until(session: Session, key: str, limit: int, window: timedelta, now: datetime) -> datetime | None:
    """When the lock on `key` ends, or None if it is not locked."""
    times = session.scalars(
        select(LoginFailure.at)
        .where(LoginFailure.key == key, LoginFailure.at > now - window)
        .order_by(LoginFailure.at.desc())
    ).all()
    if len(times) < limit:
        return None
    return times[limit - 1] + window  # the lock lifts once the limit-th most recent failure leaves the window


def _reserve(
    sessions: sessionmaker[Session], settings: Settings, username: str, ip: str, throttled: str
) -> list[int]:
    """Under a lock on the account's and the address's keys, count their recent failures and, below the limits,
    record this attempt as a failure *before* the password is checked (the ids returned; withdrawn once the password
    proves right). Parallel attempts therefore see each other: 30 at once get at most `login_max_failures` password
    checks. Over a limit: the attempt is recorded (`throttled` event) and LoginThrottled raised."""
    window = timedelta(minutes=settings.login_lockout_minutes)
    user_key, ip_key = _keys(username, ip)
    now = utcnow()
    with sessions() as session, session.begin():
        lock_for_write(session, user_key, ip_key)
        # old rows are of no further use: keep the table small
        session.execute(delete(LoginFailure).where(LoginFailure.at < now - 2 * window))
        until = max(
            (
                t
                for t in (
                    locked_until(session, user_key, settings.login_max_failures, window, now),
                    locked_until(session, ip_key, settings.login_max_failures_per_ip, window, now),
                )
                if t is not None
            ),
            default=None,
        )
        if until is None:
            rows = [LoginFailure(key=user_key, at=now), LoginFailure(key=ip_key, at=now)]
            session.add_all(rows)
            session.flush()
            return [r.id for r in rows]
        record_event(
            session,
            throttled,
            actor_name=username[:64],
            outcome="denied",
            detail={"username": username[:64], "ip": ip, "until": until.isoformat()},
        )
    raise LoginThrottled(
        f"Đăng nhập sai quá nhiều lần; thử lại sau {until.astimezone().strftime('%H:%M')}",
        f"Too many failed logins; try again after {until.isoformat(timespec='seconds')}",
    )


def _withdraw(sessions: sessionmaker[Session], reserved: list[int]) -> None:
    with sessions() as session, session.begin():
        session.execute(delete(LoginFailure).where(LoginFailure.id.in_(reserved)))


def confirm_password(
    sessions: sessionmaker[Session], settings: Settings, *, user: User, password: str, ip: str = ""
) -> None:
    """The signed-in person types their password again (minting a token, changing the password). Counted and
    throttled like a login, so a stolen session cannot be used to guess the password; wrong: 422 `bad_password`."""
    reserved = _reserve(sessions, settings, user.username, ip, "auth.reauth_throttled")
    if check_password(user.password_hash or _DUMMY_HASH, password) and user.password_hash:
        _withdraw(sessions, reserved)
        return
    with sessions() as session, session.begin():
        record_event(
            session,
            "auth.reauth_failed",
            actor=session.get(User, user.id),
            organisation_id=user.organisation_id,
            outcome="denied",
            detail={"username": user.username, "ip": ip},
        )
    raise InvalidInput("Mật khẩu hiện tại không đúng", "The current password is wrong", code="bad_password")


def login(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    username: str,
    password: str,
    totp: str | None = None,
    ip: str = "",
    user_agent: str = "",
) -> LoginResult:
    if settings.environment == "production":
        # fail before anyone types a code: production never generates a key, so a missing one is an operator's
        # mistake to report plainly (503, bilingual), not a surprise at the first TOTP user
        secrets_box.fernet_for(settings)
    # 1. Decide and reserve, atomically (see _reserve); the slow argon2 check runs afterwards, holding no lock.
    reserved = _reserve(sessions, settings, username, ip, "auth.login_throttled")

    # 2. Check the password: always exactly one argon2 verification, whether the account exists, has a password or
    # not, so the time taken does not tell which usernames exist.
    with sessions() as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        stored = user.password_hash if user is not None else None
    ok = check_password(stored or _DUMMY_HASH, password) and stored is not None

    # 3. Record the outcome.
    try:
        result, reason = _conclude(sessions, settings, username, totp, ok, reserved, ip, user_agent)
    except Exception:
        # the server could not finish (a secret key it cannot use, the database): not held against the person
        _withdraw(sessions, reserved)
        raise
    if result is not None:
        return result
    if reason == "totp_required":
        raise AuthError(
            "Cần mã xác thực hai lớp (TOTP)", "A one-time code (TOTP) is required", code="totp_required"
        )
    if reason == "disabled":
        raise AuthError("Tài khoản đã bị khóa", "Account disabled", code="account_disabled")
    raise AuthError(
        "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng",
        "Wrong username, password or one-time code",
        code="invalid_credentials",
    )


def _conclude(
    sessions: sessionmaker[Session],
    settings: Settings,
    username: str,
    totp: str | None,
    ok: bool,
    reserved: list[int],
    ip: str,
    user_agent: str,
) -> tuple[LoginResult | None, str | None]:
    """Step 3 of login: the new session, or the reason of the refusal (recorded). Under the account's lock again, so
    one TOTP code cannot serve two logins at once."""
    user_key = _keys(username, ip)[0]
    with sessions() as session, session.begin():
        lock_for_write(session, user_key)
        user = session.scalar(
            select(User).where(User.username == username.strip()).execution_options(populate_existing=True)
        )
        reason: str | None = None
        if user is None or not ok:
            reason = "bad_credentials"
        elif not user.is_active:
            reason = "disabled"
        else:
            # the password proved who this is: a good moment to encrypt a secret stored before encryption existed
            reseal_totp_secret(user, settings)
            if user.totp_enabled and not totp:
                # the password was right; the client asks for the code next. Not a failure: withdraw the reservation
                session.execute(delete(LoginFailure).where(LoginFailure.id.in_(reserved)))
                return None, "totp_required"
            if user.totp_enabled:
                step = verify_totp(user, totp or "", settings=settings)
                if step is None:
                    reason = "bad_totp"
                else:
                    user.totp_last_step = step
        if reason is not None:
            # the reserved rows stay: they are this failure
            record_event(
                session,
                "auth.login_failed",
                actor=user if user is not None and reason != "bad_credentials" else None,
                actor_name=username[:64],
                organisation_id=user.organisation_id if user else None,
                outcome="denied",
                detail={"username": username[:64], "ip": ip, "reason": reason},
            )
            return None, reason
        assert user is not None
        # success clears the account's counter (and this attempt's reservation for the address)
        session.execute(
            delete(LoginFailure).where((LoginFailure.key == user_key) | LoginFailure.id.in_(reserved))
        )
        issued = create_session(
            session, user, ttl_hours=settings.session_ttl_hours, ip=ip, user_agent=user_agent
        )
        record_event(
            session,
            "auth.login",
            actor=user,
            organisation_id=user.organisation_id,
            detail={"ip": ip, "session_id": issued.session.id, "totp": user.totp_enabled},
        )
        return LoginResult(user, issued), None


def count_failures(session: Session, key: str) -> int:
    return session.scalar(select(func.count()).select_from(LoginFailure).where(LoginFailure.key == key)) or 0


# --- TOTP ---------------------------------------------------------------------------------------------------------
# users.totp_secret holds the sealed secret(s), separated by a space (base32 has none):
#   off: NULL · first enrolment, not yet confirmed: "PENDING" (totp_enabled false) · on: "ACTIVE" (totp_enabled true)
#   · on and re-enrolling: "ACTIVE PENDING" — the old secret keeps working until the new one is confirmed, so
#   re-enrolment never switches the second factor off. One sealed value keeps them in the one column (~190 characters).
def _settings_for(user: User, settings: Settings | None) -> Settings | None:
    return settings if settings is not None else secrets_box.settings_of(object_session(user))


def _secrets(user: User, settings: Settings | None) -> tuple[str | None, str | None]:
    """(active, pending) secrets in clear."""
    if not user.totp_secret:
        return None, None
    parts = secrets_box.unseal(_settings_for(user, settings), user.totp_secret).split()
    if not parts:
        return None, None
    if user.totp_enabled:
        return parts[0], parts[1] if len(parts) > 1 else None
    return None, parts[-1]


def _store(user: User, settings: Settings, active: str | None, pending: str | None) -> None:
    kept = " ".join(s for s in (active, pending) if s)
    user.totp_secret = secrets_box.seal(settings, kept) if kept else None


def totp_secret(user: User, *, settings: Settings | None = None) -> str | None:
    """The secret in clear (base32) the person's app holds: the active one when TOTP is on, else the one awaiting
    confirmation; whether stored encrypted or (legacy) in clear."""
    active, pending = _secrets(user, settings)
    return active if user.totp_enabled else pending


def pending_totp_secret(user: User, *, settings: Settings | None = None) -> str | None:
    """The secret of an enrolment not yet confirmed, in clear (shown to the person until they confirm it)."""
    return _secrets(user, settings)[1]


def reseal_totp_secret(user: User, settings: Settings | None = None) -> None:
    """Encrypt a legacy plaintext secret in place (saved with the caller's transaction); no-op otherwise.

    Without settings (a User built outside any archive session) there is no key to use: left as it is."""
    settings = _settings_for(user, settings)
    if settings is not None and user.totp_secret and not secrets_box.is_sealed(user.totp_secret):
        user.totp_secret = secrets_box.seal(settings, user.totp_secret)


def _match(secret: str, code: str, at: float | None) -> int | None:
    """The time step `code` belongs to for `secret` (±1 step of clock drift), or None."""
    totp = pyotp.TOTP(secret)
    now = time.time() if at is None else at
    code = code.strip().replace(" ", "")
    for drift in (0, -1, 1):
        moment = now + drift * totp.interval
        if pyotp.utils.strings_equal(totp.at(moment), code):
            return int(moment // totp.interval)
    return None


def verify_totp(
    user: User, code: str, *, at: float | None = None, settings: Settings | None = None
) -> int | None:
    """The time step the code belongs to (±1 step of clock drift), or None; a step already used is refused.

    Raises SecretKeyError (503, bilingual) when the stored secret cannot be decrypted with the configured key."""
    secret = totp_secret(user, settings=settings)
    if not secret:
        return None
    reseal_totp_secret(user, settings)
    step = _match(secret, code, at)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return None  # wrong, or a replay
    return step


def require_fresh_code(user: User, code: str | None, *, settings: Settings | None = None) -> None:
    """When TOTP is on, changing a security setting needs a current code never used before (then spent); a stolen
    session or a password alone is not enough. No-op when TOTP is off."""
    if not user.totp_enabled:
        return
    if not code:
        raise InvalidInput(
            "Cần mã xác thực hai lớp hiện tại", "The current one-time code is required", code="totp_required"
        )
    step = verify_totp(user, code, settings=settings)
    if step is None:
        raise InvalidInput("Mã xác thực không đúng", "Wrong one-time code", code="bad_totp")
    user.totp_last_step = step


def enrol_totp(
    session: Session, user: User, *, settings: Settings | None = None, code: str | None = None
) -> tuple[str, str]:
    """A new secret, not active until confirmed with one code (so a mistyped enrolment cannot lock anyone out).

    When TOTP is already on, a fresh current code is required, and the current secret stays in force until the new
    one is confirmed. Returns the secret in clear (shown once, to be typed or scanned into the app); only its
    encryption is stored."""
    settings = settings if settings is not None else secrets_box.settings_of(session)
    if settings is None:
        raise SecretKeyError(
            "Không có cấu hình để mã hóa khóa bí mật TOTP", "No settings available to encrypt the TOTP secret"
        )
    require_fresh_code(user, code, settings=settings)
    active = _secrets(user, settings)[0] if user.totp_enabled else None
    secret = pyotp.random_base32()
    _store(user, settings, active, secret)  # before anything is recorded: no key, no enrolment
    if not user.totp_enabled:
        user.totp_last_step = None
    record_event(
        session,
        "totp.enrol",
        actor=user,
        organisation_id=user.organisation_id,
        detail={"replacing": bool(active)},
    )
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="hoso")
    return secret, uri


def confirm_totp(session: Session, user: User, code: str, *, settings: Settings | None = None) -> None:
    """Confirm the pending enrolment with one code from the new secret; it replaces the old secret, if any."""
    settings = settings if settings is not None else secrets_box.settings_of(session)
    pending = pending_totp_secret(user, settings=settings)
    # the pending secret has never produced a code before: no replay to check (the old secret's last step, spent to
    # start this enrolment, may well be this very step)
    step = _match(pending, code, None) if pending else None
    if step is None or settings is None:
        raise InvalidInput("Mã xác thực không đúng", "Wrong one-time code", code="bad_totp")
    _store(user, settings, pending, None)
    user.totp_enabled = True
    # never backwards: the code that started a re-enrolment may belong to a later step than this one
    user.totp_last_step = max(step, user.totp_last_step or 0)
    record_event(session, "totp.enable", actor=user, organisation_id=user.organisation_id)


def disable_totp(session: Session, user: User, *, actor: User | None = None) -> None:
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    record_event(
        session,
        "totp.disable",
        actor=actor or user,
        organisation_id=user.organisation_id,
        detail={"username": user.username},
    )
