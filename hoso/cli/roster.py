"""`hoso roster import|show`: a school's classes, teachers and groups per school year (registered in
hoso/cli/main.py). The CSV format is archive/roster_csv.py's (README "Phân công giảng dạy"); `--by` names the
person doing it (they need `roster.manage` at the school), else the operator acts as the system."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from hoso.cli.common import command_archive


def _emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else human)


@click.group("roster", help="Classes, homeroom and subject teachers, professional groups per school year.")
def roster_group() -> None:
    pass


@roster_group.command("import", help="Import a roster CSV for a school; all or nothing, bad lines reported.")
@click.option("--school", "school_code", required=True)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", help="Who imports it (needs roster.manage at the school)")
@click.option("--json", "as_json", is_flag=True)
def roster_import(school_code: str, file: Path, by: str | None, as_json: bool) -> None:
    from archive import accounts, orgs, roster, roster_csv
    from archive.permissions import authorize

    text = orgs.decode_csv(file.read_bytes())
    with command_archive().sessions() as session, session.begin():
        school = roster.roster_school(session, school_code)
        actor = accounts.get_user(session, by) if by else None
        if actor is not None:
            authorize(session, actor, "roster.manage", school)
        result = roster_csv.import_roster(session, school, text, actor=actor)
    _emit(
        result.to_dict(),
        as_json,
        f"Đã nhập / imported {result.lines} dòng / lines ({', '.join(result.years)}): "
        f"lớp mới / new classes {len(result.classes_created)}, GVBM +{result.teachers_added}, "
        f"GVCN {result.homerooms_set}, tổ viên / members +{result.members_added}, tổ trưởng / heads {result.heads_set}",
    )


@roster_group.command("show", help="The roster of a school year (default: the current one).")
@click.option("--school", "school_code", required=True)
@click.option("--year", default=None, help="e.g. 2024-2025")
@click.option("--json", "as_json", is_flag=True)
def roster_show(school_code: str, year: str | None, as_json: bool) -> None:
    from archive import roster
    from archive.school_year import check_school_year, current_school_year
    from hoso.api.roster_routes import RosterOut

    school_year = check_school_year(year) if year else current_school_year(date.today())
    with command_archive().sessions() as session:
        view = RosterOut.of(
            roster.roster_of(session, roster.roster_school(session, school_code), school_year)
        )
    lines = [f"{view.school} {view.school_year}"]
    for c in view.classes:
        homeroom = c.homeroom.username if c.homeroom else "—"
        teachers = ", ".join(f"{t.subject}: {t.teacher.username}" for t in c.teachers)
        lines.append(f"  {c.name}  GVCN {homeroom}  |  {teachers}")
    for g in view.groups:
        heads = ", ".join(p.username for p in g.heads) or "—"
        lines.append(f"  {g.name}  tổ trưởng {heads}  |  {', '.join(p.username for p in g.members)}")
    _emit(view.model_dump(), as_json, "\n".join(lines))


COMMANDS: list[click.Command] = [roster_group]
