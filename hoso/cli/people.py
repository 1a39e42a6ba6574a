"""`hoso` commands for people, locks and the audit trail (registered in hoso/cli/main.py).

COMMANDS are top-level groups (audit, lock); ORG_COMMANDS, USER_COMMANDS and TOKEN_COMMANDS are added to the existing
`org`, `user` and `token` groups of hoso/cli/main.py. The command line is an operator's tool on the server itself: it
acts as the system ("system" or --by USER in the trail), not through the permission matrix.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from archive.context import Archive
from hoso.cli.common import command_archive


def _archive() -> Archive:
    return command_archive()


def _emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else human)


def _by(session: Any, username: str | None) -> Any:
    from archive import accounts

    return accounts.get_user(session, username) if username else None


def _by_managing(session: Any, username: str | None, target: Any, org: Any = None) -> Any:
    """The --by person, once they may manage `target` (archive/account_rules.py, the API's rule) and, for a role,
    the organisation where it is held: the trail must never say someone did what they could not have done. Without
    --by the operator acts as the system."""
    from archive.account_rules import check_may_manage
    from archive.permissions import authorize

    actor = _by(session, username)
    if actor is not None:
        check_may_manage(session, actor, target)
        if org is not None:
            authorize(session, actor, "user.manage", org)
    return actor


# --- org import ---------------------------------------------------------------------------------------------------
@click.command("import", help="Import organisations from CSV (code,name,kind,level,parent); all or nothing.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def org_import(file: Path, as_json: bool) -> None:
    from archive import orgs

    text = orgs.decode_csv(file.read_bytes())
    with _archive().sessions() as session, session.begin():
        result = orgs.import_csv(session, text)
    _emit(
        result.to_dict(),
        as_json,
        f"Đã thêm / created: {len(result.created)}  Đã có / unchanged: {len(result.unchanged)}"
        + ("\n" + " ".join(result.created) if result.created else ""),
    )


ORG_COMMANDS: list[click.Command] = [org_import]


# --- users --------------------------------------------------------------------------------------------------------
@click.command(
    "reset-password", help="Set a new password (random if none given, printed once) and end all sessions."
)
@click.argument("username")
@click.option("--password-env", help="Read the new password from this environment variable")
@click.option("--by", "by", help="Administrator doing it (for the record)")
def user_reset_password(username: str, password_env: str | None, by: str | None) -> None:
    from archive import accounts

    password = os.environ.get(password_env) if password_env else None
    if password_env and not password:
        raise click.UsageError(f"environment variable {password_env} is empty")
    with _archive().sessions() as session, session.begin():
        user = accounts.get_user(session, username)
        new = accounts.reset_password(session, user, password=password, actor=_by_managing(session, by, user))
    click.echo(f"Đã đặt lại mật khẩu / password reset: {username}")
    if password is None:
        click.echo(new)


@click.command("grant", help="Give a person a role in an organisation (e.g. hieu_truong C01).")
@click.argument("username")
@click.argument("role")
@click.argument("org_code")
@click.option("--by", "by")
def user_grant(username: str, role: str, org_code: str, by: str | None) -> None:
    from archive import accounts, orgs

    with _archive().sessions() as session, session.begin():
        user, org = accounts.get_user(session, username), orgs.get_organisation(session, org_code)
        accounts.grant_role(session, user, role, org, actor=_by_managing(session, by, user, org))
    click.echo(f"{username}: +{role} @ {org_code}")


@click.command("revoke", help="Take a role away.")
@click.argument("username")
@click.argument("role")
@click.argument("org_code")
@click.option("--by", "by")
def user_revoke(username: str, role: str, org_code: str, by: str | None) -> None:
    from archive import accounts, orgs

    with _archive().sessions() as session, session.begin():
        user, org = accounts.get_user(session, username), orgs.get_organisation(session, org_code)
        accounts.revoke_role(session, user, role, org, actor=_by_managing(session, by, user, org))
    click.echo(f"{username}: -{role} @ {org_code}")


def _set_active(username: str, active: bool, by: str | None) -> None:
    from archive import accounts

    with _archive().sessions() as session, session.begin():
        user = accounts.get_user(session, username)
        accounts.set_active(session, user, active, actor=_by_managing(session, by, user))
    click.echo(f"{username}: {'enabled' if active else 'disabled'}")


@click.command("disable", help="Disable an account (its sessions end; tokens stop working).")
@click.argument("username")
@click.option("--by", "by")
def user_disable(username: str, by: str | None) -> None:
    _set_active(username, False, by)


@click.command("enable")
@click.argument("username")
@click.option("--by", "by")
def user_enable(username: str, by: str | None) -> None:
    _set_active(username, True, by)


@click.command("list")
@click.option("--org", "org_code")
@click.option("--json", "as_json", is_flag=True)
def user_list(org_code: str | None, as_json: bool) -> None:
    from sqlalchemy import select

    from archive import orgs
    from archive.models import User
    from hoso.api.schemas import UserOut

    with _archive().sessions() as session:
        stmt = select(User).order_by(User.username)
        if org_code:
            stmt = stmt.where(User.organisation_id == orgs.get_organisation(session, org_code).id)
        data = [UserOut.of(session, u).model_dump() for u in session.scalars(stmt)]
    _emit(
        data,
        as_json,
        "\n".join(
            f"{u['username']}\t{u['organisation'] or ''}\t"
            + ",".join(f"{r['role']}@{r['organisation'] or '*'}" for r in u["roles"])
            + ("" if u["is_active"] else "\t(disabled)")
            for u in data
        ),
    )


USER_COMMANDS: list[click.Command] = [
    user_reset_password,
    user_grant,
    user_revoke,
    user_disable,
    user_enable,
    user_list,
]


# --- tokens -------------------------------------------------------------------------------------------------------
@click.command("revoke", help="Revoke an API token by its id (see `hoso token list`).")
@click.argument("token_id", type=int)
@click.option("--by", "by")
def token_revoke(token_id: int, by: str | None) -> None:
    from archive import accounts

    with _archive().sessions() as session, session.begin():
        token = accounts.get_token(session, token_id)
        actor = _by(session, by)
        if actor is not None and actor.id != token.user_id:
            _by_managing(session, by, token.user)
        accounts.revoke_token(session, token, actor=actor)
    click.echo(f"Đã thu hồi / revoked token {token_id}")


@click.command("list")
@click.option("--user", "username")
@click.option("--json", "as_json", is_flag=True)
def token_list(username: str | None, as_json: bool) -> None:
    from archive import accounts
    from hoso.api.schemas import TokenOut

    with _archive().sessions() as session:
        user = accounts.get_user(session, username) if username else None
        data = [TokenOut.of(t).model_dump() for t in accounts.list_tokens(session, user)]
    _emit(
        data,
        as_json,
        "\n".join(
            f"{t['id']}\t{t['user']}\t{t['prefix']}…\t{t['scopes']}\t"
            f"{'revoked' if t['revoked_at'] else 'expires ' + str(t['expires_at'] or 'never')}"
            for t in data
        ),
    )


TOKEN_COMMANDS: list[click.Command] = [token_revoke, token_list]


# --- locks --------------------------------------------------------------------------------------------------------
@click.group(help="Locking a school year's records of one type (học bạ 2024-2025 …).")
def lock() -> None:
    pass


def _lock_change(
    add: bool, school: str, type_code: str, year: str, by: str, instructed_by: str | None, reason: str
) -> None:
    from archive import accounts, locks, orgs
    from archive.permissions import authorize

    with _archive().sessions() as session, session.begin():
        target = orgs.get_organisation(session, school)
        actor = accounts.get_user(session, by)
        authorize(session, actor, "lock.manage", target)  # --by must hold the right, even on the command line
        fn = locks.add_lock if add else locks.remove_lock
        fn(
            session,
            school=target,
            type_code=type_code,
            year=year,
            actor=actor,
            instructed_by=_by(session, instructed_by),
            reason=reason,
        )
    click.echo(f"{'Đã khóa / locked' if add else 'Đã mở khóa / unlocked'}: {school} {type_code} {year}")


_lock_options = [
    click.option("--school", required=True),
    click.option("--type", "type_code", required=True),
    click.option("--year", required=True),
    click.option("--by", "by", required=True, help="Who locks: the principal, or the school administrator"),
    click.option("--instructed-by", help="The principal who instructed it (when --by is not the principal)"),
    click.option("--reason", default=""),
]


def _with_lock_options(f: Any) -> Any:
    for option in reversed(_lock_options):
        f = option(f)
    return f


@lock.command("add")
@_with_lock_options
def lock_add(school: str, type_code: str, year: str, by: str, instructed_by: str | None, reason: str) -> None:
    _lock_change(True, school, type_code, year, by, instructed_by, reason)


@lock.command("remove")
@_with_lock_options
def lock_remove(
    school: str, type_code: str, year: str, by: str, instructed_by: str | None, reason: str
) -> None:
    _lock_change(False, school, type_code, year, by, instructed_by, reason)


@lock.command("list")
@click.option("--school")
@click.option("--json", "as_json", is_flag=True)
def lock_list(school: str | None, as_json: bool) -> None:
    from archive import locks, orgs
    from hoso.api.schemas import LockOut

    with _archive().sessions() as session:
        ids = [orgs.get_organisation(session, school).id] if school else None
        data = [LockOut.of(x).model_dump() for x in locks.list_locks(session, ids)]
    _emit(
        data,
        as_json,
        "\n".join(
            f"{x['school']}\t{x['type']}\t{x['year']}\t{x['locked_by']}"
            + (f" (chỉ đạo / instructed by {x['instructed_by']})" if x["instructed_by"] else "")
            for x in data
        ),
    )


# --- audit --------------------------------------------------------------------------------------------------------
@click.group(help="The audit trail: verify the hash chain and its anchors, anchor the head, export.")
def audit() -> None:
    pass


@audit.command("verify", help="Check the chain and every anchor in the replicas; exit status 1 on any break.")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(as_json: bool) -> None:
    from archive.audit import verify

    report = verify(_archive())
    if as_json:
        _emit(report.to_dict(), True, "")
    else:
        click.echo(
            f"Đã kiểm tra / checked {report.events_checked} sự kiện / events, "
            f"{report.anchors_checked} mốc neo / anchors"
        )
        if report.first_break is not None:
            b = report.first_break
            click.echo(f"LỖI / BREAK [{b.kind}] event {b.event_id}: {b.message_vi} / {b.message_en}")
        for p in report.anchor_problems:
            click.echo(f"LỖI / BREAK [anchor] {p.where}: {p.message_vi} / {p.message_en}")
        if report.ok:
            click.echo(
                f"OK: chuỗi nguyên vẹn / chain intact (head {report.last_event_id} {report.last_hash})"
            )
    sys.exit(0 if report.ok else 1)


@audit.command("anchor", help="Timestamp the chain head with the TSA and write the anchor to every replica.")
@click.option("--json", "as_json", is_flag=True)
def audit_anchor(as_json: bool) -> None:
    from archive.audit import anchor_chain_head

    anchor = anchor_chain_head(_archive())
    if anchor is None:
        click.echo("Nhật ký trống / the trail is empty: nothing to anchor")
        return
    data = {
        "key": anchor.key,
        "event_id": anchor.event_id,
        "hash": anchor.event_hash,
        "at": anchor.anchored_at,
    }
    _emit(data, as_json, f"{anchor.key}  event {anchor.event_id}  {anchor.event_hash}")


@audit.command(
    "export", help="Write events as CSV or JSON (filters: --actor, --document, --action, --since, --until)."
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--actor")
@click.option("--document")
@click.option("--action")
@click.option("--since")
@click.option("--until")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path))
def audit_export(
    fmt: str,
    actor: str | None,
    document: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    out: Path | None,
) -> None:
    from archive import audit as au

    f = au.EventFilter(
        actor=actor,
        document_id=document,
        action=action,
        since=au.parse_time(since, "since"),
        until=au.parse_time(until, "until"),
    )
    with _archive().sessions() as session:
        chunks = (au.export_csv if fmt == "csv" else au.export_json)(au.iter_events(session, f))
        if out is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
            return
        # written beside the target and renamed at the end: a failure never leaves a half export under its name
        part = out.with_name(out.name + ".part")
        try:
            fh = open(part, "w", encoding="utf-8", newline="")  # noqa: SIM115 (refused before any event is read)
        except OSError as exc:
            from archive.errors import InvalidInput

            raise InvalidInput(
                f"Không ghi được tệp {out}: {exc.strerror}", f"Cannot write {out}: {exc.strerror}"
            ) from None
        try:
            with fh:
                fh.writelines(chunks)
            part.replace(out)
        finally:
            part.unlink(missing_ok=True)


COMMANDS: list[click.Command] = [lock, audit]
