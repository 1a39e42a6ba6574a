"""`hoso inspection …`: inspection packages from the command line (registered in hoso/cli/main.py via COMMANDS).

`--by USERNAME` makes the package as that person, within their scope (a Phòng inspector: the district's THCS schools;
a Sở inspector: THPT and GDTX), exactly as the web page and the API would; without it the operator acts as the
system administrator (`admin`), recorded as such in the audit trail."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import click

from hoso.cli.common import acting_user, command_archive

if TYPE_CHECKING:
    from archive.context import Archive
    from archive.models import User

COMMANDS: list[click.Command] = []


@click.group(
    "inspection", help="Gói hồ sơ cho thanh tra, kiểm tra / inspection packages (ZIP, SHA256SUMS, báo cáo)."
)
def inspection_group() -> None:
    pass


@inspection_group.command("package", help="Make an inspection package and write its ZIP to --out.")
@click.option("--school", "schools", multiple=True, required=True, help="School code (repeatable)")
@click.option("--year", "years", multiple=True, help="School year, e.g. 2024-2025 (repeatable)")
@click.option("--type", "types", multiple=True, help="Record type code (repeatable)")
@click.option("--class", "classes", multiple=True, help="Class, e.g. 10A1 (repeatable)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", "by", help="The person the package is for (their scope applies); default: admin")
@click.option("--email", "email", is_flag=True, help="Also e-mail it to that person's address, in parts")
def package(
    schools: tuple[str, ...],
    years: tuple[str, ...],
    types: tuple[str, ...],
    classes: tuple[str, ...],
    out: Path,
    by: str | None,
    email: bool,
) -> None:
    from retention import inspection

    archive = command_archive()
    actor = acting_user(archive, by)
    selection = inspection.Selection.of(schools=schools, years=years, types=types, classes=classes)
    pkg = inspection.create_package(
        archive, selection=selection, actor=actor
    )  # the seal serves the dev PKI itself
    stream = inspection.open_package(archive, pkg.id, actor=actor)
    tmp = out.with_name(out.name + ".part")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as f:
            for chunk in stream.chunks:
                digest.update(chunk)
                f.write(chunk)
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)  # never a half-written package under the name asked for
        raise
    click.echo(f"Gói / package {pkg.id}: {pkg.documents} hồ sơ, {stream.size} byte")
    click.echo(f"{out}  {digest.hexdigest()}")
    if email:
        _send(archive, pkg.id, actor, None)


@inspection_group.command(
    "send", help="E-mail a package as numbered attachments (HOSO_INSPECTION_MAIL_MAX_BYTES)."
)
@click.argument("package_id")
@click.option("--to", "to", help="Address (default: the --by person's own)")
@click.option("--by", "by", help="Who sends it; default: admin")
def send(package_id: str, to: str | None, by: str | None) -> None:
    archive = command_archive()
    _send(archive, package_id, acting_user(archive, by), to)


def _send(archive: Archive, package_id: str, actor: User, to: str | None) -> None:
    from retention.inspection_mail import deliver_by_email

    d = deliver_by_email(archive, package_id, actor=actor, to=to)
    click.echo(f"Đã gửi {d.parts} thư tới {d.to} / sent {d.parts} message(s) to {d.to}")


COMMANDS.append(inspection_group)
