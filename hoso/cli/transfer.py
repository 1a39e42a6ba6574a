"""`hoso transfer …`: a student's records from one school (or one hoso) to another (retention/transfer.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from hoso.cli.common import command_archive

if TYPE_CHECKING:
    from archive.models import User

COMMANDS: list[click.Command] = []


def _user(username: str | None) -> User | None:
    from archive import accounts

    if not username:
        return None
    with command_archive().sessions() as session:
        user = accounts.get_user(session, username)
        session.expunge(user)
        return user


@click.group("transfer", help="Chuyển hồ sơ học sinh sang trường khác / student transfer packages.")
def transfer_group() -> None:
    pass


@transfer_group.command(
    "seal", help="Print this hoso's seal certificate SHA-256 (the receiving school registers it)."
)
def seal() -> None:
    archive = command_archive()
    found = archive.signing.seal_certificate() if archive.signing is not None else None
    if found is None:
        raise click.ClickException("no organisation seal is configured")
    click.echo(f"{found[0]}  {found[1]}")


@transfer_group.command(
    "export", help="Export one student's records (signed, with metadata) as a sealed package."
)
@click.option("--document", "documents", multiple=True, required=True, help="Document id (repeatable)")
@click.option("--student", required=True, help="The student's full name")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", "by", help="Who exports (their scope applies)")
def export(documents: tuple[str, ...], student: str, out: Path, by: str | None) -> None:
    from retention.transfer import export_transfer

    path = export_transfer(
        command_archive(), document_ids=list(documents), student=student, out=out, actor=_user(by)
    )
    click.echo(f"{path}: {len(documents)} hồ sơ của {student}")


@transfer_group.command("import", help="Check a transfer package and file its records under --school.")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", required=True, help="The receiving school's code")
@click.option(
    "--sender-seal",
    help="SHA-256 of the sending school's seal certificate, for a sender not in the school's registry",
)
@click.option("--by", "by", help="Who imports (for the record)")
def import_(package: Path, school: str, sender_seal: str | None, by: str | None) -> None:
    from retention.transfer import import_transfer

    done = import_transfer(
        command_archive(), package=package, school=school, sender_seal_sha256=sender_seal, actor=_user(by)
    )
    click.echo(f"Đã nhận {len(done.documents)} hồ sơ từ {done.sending_school} (mới: {done.created})")
    for doc_id in done.documents:
        click.echo(doc_id)


@transfer_group.group(
    "sender", help="Trường chuyển đi đã đăng ký / the partner schools whose packages a school accepts."
)
def sender_group() -> None:
    pass


@sender_group.command("add", help="Register a sending school's seal fingerprint for the receiving --school.")
@click.option("--school", required=True, help="The receiving school's code")
@click.option(
    "--sender", "sender_code", required=True, help="The sending school's code (as its packages name it)"
)
@click.option("--name", "sender_name", default="", help="The sending school's name")
@click.option(
    "--seal", required=True, help="SHA-256 of the sending school's seal certificate (hoso transfer seal)"
)
@click.option("--by", "by", help="Who registers it (their authority applies)")
def sender_add(school: str, sender_code: str, sender_name: str, seal: str, by: str | None) -> None:
    from retention.transfer_senders import add_sender

    with command_archive().sessions() as session, session.begin():
        added = add_sender(
            session,
            school=school,
            sender_code=sender_code,
            sender_name=sender_name,
            seal=seal,
            actor=_user(by),
        )
    click.echo(f"{added.id}\t{added.school_code}\t{added.sender_code}\t{added.seal_sha256}")


@sender_group.command("list", help="The registered sending schools (of --school, or of every school).")
@click.option("--school", help="The receiving school's code")
@click.option("--json", "as_json", is_flag=True)
def sender_list(school: str | None, as_json: bool) -> None:
    import json

    from sqlalchemy import select

    from archive.models import Organisation
    from retention.transfer_senders import list_senders

    with command_archive().sessions() as session:
        ids = None
        if school:
            found = session.scalar(select(Organisation.id).where(Organisation.code == school))
            if found is None:
                raise click.ClickException(f"no school {school}")
            ids = [found]
        rows = list_senders(session, ids)
    if as_json:
        click.echo(json.dumps([
            {"id": r.id, "school": r.school_code, "sender": r.sender_code, "name": r.sender_name,
             "seal_sha256": r.seal_sha256, "added_at": r.added_at.isoformat(), "added_by": r.added_by}
            for r in rows
        ], ensure_ascii=False))  # fmt: skip
        return
    for r in rows:
        click.echo(f"{r.id}\t{r.school_code}\t{r.sender_code}\t{r.sender_name}\t{r.seal_sha256}")


@sender_group.command("remove", help="Remove a registered sending school (by the id `sender list` shows).")
@click.argument("sender_id", type=int)
@click.option("--by", "by", help="Who removes it (their authority applies)")
def sender_remove(sender_id: int, by: str | None) -> None:
    from retention.transfer_senders import remove_sender

    with command_archive().sessions() as session, session.begin():
        gone = remove_sender(session, sender_id=sender_id, actor=_user(by))
    click.echo(f"removed {gone.sender_code} from {gone.school_code}")


COMMANDS.append(transfer_group)
