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
    "--sender-seal", required=True, help="SHA-256 of the sending school's registered seal certificate"
)
@click.option("--by", "by", help="Who imports (for the record)")
def import_(package: Path, school: str, sender_seal: str, by: str | None) -> None:
    from retention.transfer import import_transfer

    done = import_transfer(
        command_archive(), package=package, school=school, sender_seal_sha256=sender_seal, actor=_user(by)
    )
    click.echo(f"Đã nhận {len(done.documents)} hồ sơ từ {done.sending_school} (mới: {done.created})")
    for doc_id in done.documents:
        click.echo(doc_id)


COMMANDS.append(transfer_group)
