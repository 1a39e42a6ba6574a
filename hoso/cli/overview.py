"""`hoso overview …`: the year overview from the command line — one school's grid, or the Phòng / Sở roll-up of its
schools — as the sealed PDF report to send upward, CSV or JSON. `--by USERNAME` acts as that person, within their
scope, exactly as the pages and the API; without it, the system administrator (`admin`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from hoso.cli.common import acting_user, command_archive

COMMANDS: list[click.Command] = []
FORMATS = click.Choice(["pdf", "csv", "json"])


def _write(out: Path | None, data: str | bytes) -> None:
    if out is None:
        if isinstance(data, bytes):
            raise click.UsageError("Báo cáo PDF cần --out FILE / a PDF needs --out FILE")
        click.echo(data, nl=False)
        return
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    tmp.replace(out)
    click.echo(f"{out}")


@click.group(
    "overview", help="Tổng quan năm học / year overview: a school's grid, or a Phòng's or Sở's schools."
)
def overview_group() -> None:
    pass


@overview_group.command("school", help="One school's year: classes × record types.")
@click.option("--school", required=True, help="School code")
@click.option("--year", required=True, help="School year, e.g. 2024-2025")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (required for PDF)"
)
@click.option("--by", help="Act as this person (their scope applies); default: admin")
def school(school: str, year: str, fmt: str, out: Path | None, by: str | None) -> None:
    from archive.school_year import check_school_year
    from archive.year_overview import overview_csv, school_overview
    from hoso.api.overview_routes import OverviewOut
    from retention.overview_report import overview_report

    archive = command_archive()
    actor = acting_user(archive, by)
    with archive.sessions() as session:
        ov, org = school_overview(session, session.merge(actor), school, check_school_year(year))
        session.expunge(org)
    if fmt == "pdf":
        _write(out, overview_report(archive, ov, school=org, actor=actor))
    elif fmt == "csv":
        _write(out, overview_csv(ov))
    else:
        _write(out, json.dumps(OverviewOut.of(ov).model_dump(), ensure_ascii=False, indent=2) + "\n")


@overview_group.command(
    "schools", help="The roll-up of the schools in scope (a Phòng's THCS, a Sở's THPT/GDTX)."
)
@click.option("--year", required=True, help="School year, e.g. 2024-2025")
@click.option("--org", help="The Phòng or Sở reported for (default: the one the person belongs to)")
@click.option("--format", "fmt", type=FORMATS, default="pdf", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (required for PDF)"
)
@click.option("--by", help="Act as this person (their scope applies); default: admin")
def schools(year: str, org: str | None, fmt: str, out: Path | None, by: str | None) -> None:
    from archive.school_year import check_school_year
    from archive.year_rollup import rollup_csv, year_rollup
    from hoso.api.overview_routes import RollupOut
    from retention.overview_report import rollup_report

    archive = command_archive()
    actor = acting_user(archive, by)
    with archive.sessions() as session:
        ru = year_rollup(session, session.merge(actor), check_school_year(year), org_code=org)
    if fmt == "pdf":
        _write(out, rollup_report(archive, ru, actor=actor))
    elif fmt == "csv":
        _write(out, rollup_csv(ru))
    else:
        _write(out, json.dumps(RollupOut.of(ru).model_dump(), ensure_ascii=False, indent=2) + "\n")


COMMANDS.append(overview_group)
