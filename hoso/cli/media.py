"""`hoso export media`, `hoso verify media`, `hoso media list|remind`: offline media as BagIt bags (retention/media.py).

`verify media` works from the folder alone (no catalog, no settings), so a bag can be checked years later anywhere
hoso is installed: exit 0 intact, 1 damaged (each damaged file named), 2 not a bag at all."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hoso.cli.common import command_archive

COMMANDS: list[click.Command] = []


@click.group("export", help="Write records out of the archive (offline media).")
def export_group() -> None:
    pass


@export_group.command(
    "media", help="Write a school year's records as a BagIt bag to DIR, with a signed label sheet."
)
@click.option("--school", required=True)
@click.option("--year", required=True)
@click.option("--type", "types", multiple=True, help="Record type code (repeatable; default: every type)")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--by", "by", help="Who exports (their scope applies); default: the operator as the system")
def export_media_cmd(school: str, year: str, types: tuple[str, ...], out: Path, by: str | None) -> None:
    from archive import accounts
    from retention.media import LABEL, export_media

    archive = command_archive()
    actor = None
    if by:
        with archive.sessions() as session:
            actor = accounts.get_user(session, by)
            session.expunge(actor)
    result = export_media(archive, school=school, year=year, types=types, out=out, actor=actor)
    click.echo(
        f"Đã ghi {result.documents} tệp ({result.total_bytes} byte) vào {out}; nhãn: {out / LABEL}\n"
        f"tagmanifest-sha256.txt  {result.tagmanifest_sha256}"
    )


@click.group("verify", help="Re-check what hoso wrote out (offline media).")
def verify_group() -> None:
    pass


@verify_group.command(
    "media", help="Check a bag: exit 0 intact, 1 damaged (files named), 2 not a readable bag."
)
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def verify_media_cmd(path: Path, as_json: bool) -> None:
    from retention.media import verify_media

    report = verify_media(path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif report.intact:
        click.echo(f"Nguyên vẹn / intact: {path}")
    else:
        click.echo(f"HƯ HỎNG / DAMAGED: {path}", err=True)
        for p in report.problems:
            click.echo(f"  {p.path}: {p.problem}", err=True)
    if not report.intact:
        sys.exit(2 if any(p.problem.startswith("bag:") for p in report.problems) else 1)


@click.group("media", help="The media register (sổ theo dõi vật mang tin) and the 3-year renewal reminder.")
def media_group() -> None:
    pass


@media_group.command("list", help="Every export, newest first; 'due' once older than 3 years.")
@click.option("--json", "as_json", is_flag=True)
def media_list(as_json: bool) -> None:
    from retention.media import register

    archive = command_archive()
    with archive.sessions() as session:
        rows = register(session)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for m in rows:
        due = "CẦN GHI LẠI / due" if m["due"] else f"đến {m['due_on']:%d/%m/%Y}"
        click.echo(
            f"{m['id']}\t{m['created_at']:%d/%m/%Y}\t{m['school']}\t{m['year']}\t{m['documents']} tệp\t{due}\t{m['label']}"
        )


@media_group.command(
    "remind", help="Alert (log, e-mail) about media older than 3 years; exit 1 when some are due."
)
def media_remind() -> None:
    from retention.media import remind_due_media

    due = remind_due_media(command_archive())
    click.echo(f"{len(due)} vật mang tin cần ghi lại / due for renewal")
    if due:
        sys.exit(1)


COMMANDS.extend([export_group, verify_group, media_group])
