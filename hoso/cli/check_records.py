"""`hoso check-record …`: the signed biên bản kiểm tra định kỳ on demand, and the list of them (the backup log)."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from hoso.cli.common import command_archive

COMMANDS: list[click.Command] = []


@click.group("check-record", help="Biên bản kiểm tra định kỳ các bản sao / signed integrity check records.")
def check_record_group() -> None:
    pass


@check_record_group.command(
    "create", help="Make and seal a check record for the last DAYS days (default: the period)."
)
@click.option(
    "--days", type=click.IntRange(1, 3650), help="Period length (default HOSO_FIXITY_FULL_PERIOD_DAYS)"
)
@click.option("--json", "as_json", is_flag=True)
def create(days: int | None, as_json: bool) -> None:
    from archive.db import utcnow
    from retention.check_records import make_check_record

    archive = command_archive()
    span = timedelta(days=days or archive.settings.fixity_full_period_days)
    now = utcnow()
    rec = make_check_record(archive, start=now - span, end=now)
    s = rec.summary
    if as_json:
        click.echo(
            json.dumps({"id": rec.id, "key": rec.key, "sha256": rec.sha256} | s, ensure_ascii=False, indent=2)
        )
        return
    click.echo(
        f"Biên bản {rec.id}: {s['copies_checked']} bản sao đã kiểm tra, hư hỏng {s['damage_found']}, "
        f"đã khôi phục {s['repaired']}, chưa khôi phục {s['unrepaired']}\n{rec.key}  {rec.sha256}"
    )


@check_record_group.command("list", help="Every check record, newest first (the backup log).")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    from retention.check_records import list_records

    archive = command_archive()
    with archive.sessions() as session:
        rows = list_records(session, limit=1000)
    if as_json:
        out = [
            {"id": r.id, "created_at": r.created_at.isoformat(), "period_start": r.period_start.isoformat(),
             "period_end": r.period_end.isoformat(), "trigger": r.trigger, "sha256": r.sha256, "key": r.key}
            | {k: r.summary.get(k) for k in ("copies_checked", "damage_found", "repaired", "unrepaired")}
            for r in rows
        ]  # fmt: skip
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for r in rows:
        s = r.summary
        click.echo(
            f"{r.id}\t{r.period_start:%Y-%m-%d} → {r.period_end:%Y-%m-%d}\t{r.trigger}\t"
            f"kiểm tra {s.get('copies_checked')}\thỏng {s.get('damage_found')}\tchưa khôi phục {s.get('unrepaired')}"
        )


COMMANDS.append(check_record_group)
