"""`hoso` commands for retention (registered in hoso/cli/main.py through COMMANDS)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

import click

from hoso.bootstrap import opened

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive.context import Archive

COMMANDS: list[click.Command] = []


# ---- integrity: `hoso fixity …` and `hoso worker` (retention/fixity.py, worm.py, upkeep.py, scheduler.py) ----------


def _opened() -> AbstractContextManager[Archive]:
    """The archive for one command, closed however the command ends (hoso.bootstrap installs the signing hooks —
    validate, seal, LTA inspect/renew — the jobs need)."""
    return opened()


@contextmanager
def _session() -> Iterator[Session]:
    """One transaction on a freshly opened archive (committed when the command's work returns)."""
    with _opened() as archive, archive.sessions() as session, session.begin():
        yield session


def _print_json(data: object) -> None:
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(
    "fixity", help="Integrity checks of every replica copy (fixity), repair, WORM canary, LTA upkeep."
)
def fixity_group() -> None:
    pass


@fixity_group.command(
    "run", help="Check every copy now and repair what can be repaired. Exit 1 while damage remains."
)
@click.option(
    "--full", is_flag=True, help="Re-read and SHA-256 every copy (default: light check, size and claim)"
)
@click.option("--slice", "slice_", is_flag=True, help="Only this interval's scheduled share of full checks")
@click.option("--json", "as_json", is_flag=True)
def fixity_run(full: bool, slice_: bool, as_json: bool) -> None:
    import sys
    from datetime import timedelta

    from retention import fixity

    with _opened() as archive:
        if slice_:
            interval = timedelta(hours=archive.settings.fixity_light_interval_hours)
            report = fixity.full_slice(archive, slot=fixity.slot_name("full", fixity.utcnow(), interval))
        else:
            report = (fixity.full_run if full else fixity.light_run)(archive)
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(
            f"Đã kiểm tra / checked {report.copies_checked} bản sao / copies of {report.objects_checked} objects, "
            f"{report.bytes_checked / 1e6:.1f} MB in {report.seconds:.1f}s ({report.throughput / 1e6:.0f} MB/s)"
        )
        click.echo(f"hỏng / damaged: {len(report.damage)}, đã sửa / repaired: {len(report.repaired)}")
        for store in report.stores_down:
            click.echo(f"kho không truy cập được / store down: {store}")
        for d in report.unrepairable:
            docs = ", ".join(f"{r.school}/{r.document_id} v{r.version} {r.filename}" for r in d.documents)
            click.echo(f"CHƯA SỬA / UNREPAIRED {d.state}: {d.store} {d.key} [{docs}] {d.repair_detail}")
        if report.remaining_damage:
            click.echo(f"còn {report.remaining_damage} bản sao hỏng / copies still damaged")
    sys.exit(0 if report.clean else 1)


@fixity_group.command(
    "status", help="Copies by state and the oldest verification (catalog only). Exit 1 if unhealthy."
)
@click.option("--json", "as_json", is_flag=True)
def fixity_status_cmd(as_json: bool) -> None:
    import sys

    from retention.fixity import fixity_status

    with _opened() as archive:
        st = fixity_status(archive)
    if as_json:
        _print_json(st.to_dict())
    else:
        d = st.to_dict()
        click.echo(f"copies: {st.total_copies}  " + "  ".join(f"{k}: {v}" for k, v in d["by_state"].items()))
        click.echo(f"oldest full verification: {d['oldest_verified_at']}  (overdue: {st.overdue})")
        click.echo(f"oldest light check: {d['oldest_checked_at']}  last run: {d['last_run']['finished_at']}")
    sys.exit(0 if st.healthy else 1)


@fixity_group.command(
    "worm", help="WORM canary on every Object Lock store. Exit 1 if a retained object was deleted."
)
@click.option("--json", "as_json", is_flag=True)
def fixity_worm(as_json: bool) -> None:
    import sys

    from retention.worm import check_worm

    with _opened() as archive:
        results = check_worm(archive.settings, archive.replicas.stores)
    if as_json:
        _print_json([r.__dict__ for r in results])
    else:
        for r in results:
            click.echo(f"{r.store}: {r.detail}")
    sys.exit(1 if any(r.protected is False for r in results) else 0)


@fixity_group.command("upkeep", help="Add fresh document timestamps to B-LTA documents that need one.")
@click.option("--json", "as_json", is_flag=True)
def fixity_upkeep(as_json: bool) -> None:
    import sys

    from retention.upkeep import renew_due_signatures

    with _opened() as archive:
        if archive.signing is None:
            click.echo(
                "Chưa cấu hình TSA (HOSO_TSA_URL) / no TSA configured: nothing can be renewed", err=True
            )
            sys.exit(2)
        report = renew_due_signatures(
            archive, inspect=archive.signing.lta_inspect, renew=archive.signing.lta_renew
        )
    data = {
        "inspected": report.inspected,
        "due": report.due,
        "renewed": [r.__dict__ for r in report.renewed],
        "failed": [r.__dict__ for r in report.failed],
        "skipped": report.skipped,
    }
    if as_json:
        _print_json(data)
    else:
        click.echo(
            f"inspected {report.inspected}, due {report.due}, renewed {len(report.renewed)}, "
            f"failed {len(report.failed)}"
        )
    sys.exit(1 if report.failed else 0)


@fixity_group.command(
    "reconcile",
    help="Report copies in the stores that the catalog does not know (orphans of writes that never committed) "
    "and count catalog objects a store lacks. Deletes nothing; always exits 0 (it is a report).",
)
@click.option("--json", "as_json", is_flag=True)
def fixity_reconcile(as_json: bool) -> None:
    from retention.reconcile import GRACE, reconcile

    with _opened() as archive:
        report = reconcile(archive)
    if as_json:
        _print_json(report.to_dict())
        return
    click.echo(
        f"{report.catalog_objects} objects in the catalog; orphans: {report.orphans} (older than {GRACE}), "
        f"missing copies: {report.missing} (hoso fixity run repairs those)"
    )
    for s in report.stores:
        if s.error:
            click.echo(f"{s.store}: KHÔNG LIỆT KÊ ĐƯỢC / COULD NOT LIST: {s.error}")
            continue
        click.echo(
            f"{s.store}: {s.listed} keys, {len(s.orphans)} orphans ({s.orphan_bytes} bytes), {s.missing} missing"
        )
        for o in s.orphans:
            age = f"{o.age_seconds / 3600:.1f} h" if o.age_seconds is not None else "age unknown"
            click.echo(f"  mồ côi / orphan {o.key}  {o.size if o.size is not None else '?'} bytes  {age}")


@click.command(
    "worker", help="Run the scheduled jobs (fixity, WORM canary, LTA upkeep, metadata export) until stopped."
)
def worker() -> None:
    from hoso.observability import configure_logging
    from retention.scheduler import run_worker

    with _opened() as archive:
        configure_logging(archive.settings.log_format)
        run_worker(archive)


COMMANDS.extend([fixity_group, worker])


# ---- retention and catalog: `hoso retention …`, `hoso catalog …` (retention/schedules, holds, disposal, backup,
# rebuild). Same _opened() as above; every command closes it.


def _user(archive, name: str):
    from archive.accounts import get_user

    with archive.sessions() as session:
        return get_user(session, name)


def _day(value: str | None):
    from datetime import date

    from archive.errors import InvalidInput

    if not value:
        from retention import clock

        return clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"Ngày không hợp lệ: {value!r} (YYYY-MM-DD)",
            f"Invalid date {value!r} (YYYY-MM-DD)",
            code="bad_date",
        ) from None


_ON = click.option(
    "--on",
    "on",
    help="Simulate: judge as of this date (YYYY-MM-DD; default the server's date, no simulation)",
)
# propose/approve/execute are judged on the server's date only (retention/clock.py); the old --on is refused, loudly
_NO_ON = click.option("--on", "on", hidden=True, help="Refused: disposal uses the server's date")


def _refuse_on(on: str | None) -> None:
    from archive.errors import InvalidInput

    if on is not None:
        raise InvalidInput(
            "Không được dùng --on: việc lập, phê duyệt và thực hiện tiêu hủy luôn tính theo ngày của máy chủ",
            "--on is not accepted: disposal is proposed, approved and executed on the server's date",
            code="server_date_only",
        )


def _simulation_note(on: str | None) -> dict[str, object]:
    from retention.clock import simulation

    marker = simulation(_day(on) if on else None)
    if marker["simulation"]:
        click.echo(f"MÔ PHỎNG / SIMULATION: judged as of {marker['as_of']}, not today", err=True)
    return marker


_JSON = click.option("--json", "as_json", is_flag=True)


@click.group("retention", help="Retention schedules, legal holds and disposal (tiêu hủy).")
def retention_group() -> None:
    pass


@retention_group.command(
    "schedules", help="List the schedules and their current rows with sources and status."
)
@_JSON
def retention_schedules(as_json: bool) -> None:
    from retention.schedules import load_schedules

    with _session() as s:
        scheds = load_schedules(s)
    data = [
        {
            "code": x.code,
            "kind": x.kind,
            "school": x.school,
            "effective_from": x.effective_from.isoformat(),
            "rows": [
                {
                    "type": r.type_code,
                    "level": r.level,
                    "retention": r.period.text,
                    "status": r.status,
                    "source": r.source,
                }
                for r in x.rules
            ],
        }
        for x in scheds
    ]
    if as_json:
        _print_json(data)
        return
    for x in data:
        click.echo(f"{x['code']}  ({x['kind']}, from {x['effective_from']})")
        rows: list[dict[str, str]] = x["rows"]  # type: ignore[assignment]
        for r in rows:
            level = f" [{r['level']}]" if r["level"] else ""
            click.echo(f"  {r['type']}{level}: {r['retention']}  {r['status']}  {r['source']}")


@retention_group.command(
    "confirm", help="Confirm a row's value (an authorised person; recorded as an event)."
)
@click.argument("type_code")
@click.option("--years", type=int, help="Retention in years, counted from the year the work ends")
@click.option("--permanent", is_flag=True)
@click.option("--until-students-leave", is_flag=True, help="Event-based: until the students concerned leave")
@click.option("--source", required=True, help="Legal source: text, article, item")
@click.option("--user", "username", required=True)
@click.option("--schedule", help="Schedule code (default: the national schedule in force today)")
@click.option("--level", default="", help="Only for this level (THCS, THPT, GDTX)")
@_JSON
def retention_confirm(
    type_code: str,
    years: int | None,
    permanent: bool,
    until_students_leave: bool,
    source: str,
    username: str,
    schedule: str | None,
    level: str,
    as_json: bool,
) -> None:
    from archive.errors import InvalidInput
    from retention.schedules import confirm_rule

    if sum([years is not None, permanent, until_students_leave]) != 1:
        raise InvalidInput(
            "Chọn đúng một: --years N, --permanent hoặc --until-students-leave",
            "Give exactly one of --years N, --permanent, --until-students-leave",
        )
    retention = "permanent" if permanent else "students_leave" if until_students_leave else f"{years} years"
    with _session() as s:
        from archive.accounts import get_user

        c = confirm_rule(
            s,
            type_code=type_code,
            retention=retention,
            source=source,
            user=get_user(s, username),
            schedule=schedule,
            level=level,
        )
    data = c.__dict__
    _print_json(data) if as_json else click.echo(
        f"Đã xác nhận / confirmed {c.schedule} {c.type_code}: {c.retention} ({c.source}); "
        f"before: {c.previous or '-'} ({c.previous_status or '-'})"
    )


@retention_group.command(
    "event-date", help="Confirm the date the students concerned left (event-based periods)."
)
@click.argument("document_id")
@click.option("--date", "when", required=True, help="YYYY-MM-DD")
@click.option("--source", required=True, help="Evidence: decision, register entry …")
@click.option("--user", "username", required=True)
def retention_event_date(document_id: str, when: str, source: str, username: str) -> None:
    from archive.accounts import get_user
    from retention.schedules import set_event_date

    with _session() as s:
        set_event_date(
            s, document_id=document_id, occurred_on=_day(when), source=source, user=get_user(s, username)
        )
    click.echo(f"Đã ghi ngày / recorded {when} for {document_id}")


@retention_group.command(
    "status", help="Which rows apply to a document, its disposable-from date and blockers."
)
@click.argument("document_id")
@_ON
@_JSON
def retention_status(document_id: str, on: str | None, as_json: bool) -> None:
    from hoso.api.schemas import DecisionOut
    from retention.schedules import decision_for

    marker = _simulation_note(on)
    with _session() as s:
        data = DecisionOut.of(decision_for(s, document_id, _day(on)), marker).model_dump()
    if as_json:
        _print_json(data)
        return
    click.echo(
        f"{document_id}: {data['retention_vi']} ({data['retention']}), disposable from {data['disposable_from']}"
    )
    for r in data["rules"]:
        click.echo(f"  {r['schedule']}: {r['retention']} {r['status']} {r['source']}")
    for b in data["blockers_text"]:
        click.echo(f"  chặn / blocked: {b}")


@retention_group.command("due", help="Documents past their date, not held, under confirmed rows.")
@click.option("--school")
@_ON
@_JSON
def retention_due(school: str | None, on: str | None, as_json: bool) -> None:
    from hoso.api.schemas import DueOut
    from retention.disposal import due_documents

    marker = _simulation_note(on)
    with _session() as s:
        items = due_documents(s, _day(on), school=school)
    data = [DueOut.of(i, marker).model_dump() for i in items]
    if as_json:
        _print_json(data)
        return
    for i in items:
        batch = f"  (batch {i.open_batch})" if i.open_batch else ""
        click.echo(
            f"{i.document_id}  {i.school}  {i.type_code}  {i.school_year}  from {i.disposable_from}{batch}  {i.title}"
        )
    click.echo(f"{len(items)} hồ sơ đến hạn / documents due")


@retention_group.group("hold", help="Legal holds (inspection, complaint): block disposal and lock copies.")
def hold_group() -> None:
    pass


def _hold_out(result, as_json: bool) -> None:
    from hoso.api.schemas import HoldResultOut

    data = HoldResultOut.result(result).model_dump()
    if as_json:
        _print_json(data)
        return
    h = result.hold
    state = "đang hiệu lực / active" if h.active else f"đã gỡ / released {h.released_at}"
    click.echo(f"hold {h.id} on {h.document_id}: {h.reason} {h.reference} — {state}")
    for o in result.stores:
        if not o.ok:
            click.echo(f"  kho / store {o.store}: {o.detail} (the lock job will retry)", err=True)


@hold_group.command("place")
@click.argument("document_id")
@click.option(
    "--reason", required=True, type=click.Choice(["inspection", "complaint", "litigation", "other"])
)
@click.option("--ref", "reference", required=True, help="Inspection decision / complaint file number")
@click.option("--note", default="")
@click.option("--user", "username", required=True)
@_JSON
def hold_place(
    document_id: str, reason: str, reference: str, note: str, username: str, as_json: bool
) -> None:
    from retention.holds import place_hold

    with _opened() as a:
        r = place_hold(
            a, document_id=document_id, reason=reason, reference=reference, note=note, user=_user(a, username)
        )
    _hold_out(r, as_json)


@hold_group.command("release")
@click.argument("hold_id", type=int)
@click.option("--note", default="")
@click.option("--user", "username", required=True)
@_JSON
def hold_release(hold_id: int, note: str, username: str, as_json: bool) -> None:
    from retention.holds import release_hold

    with _opened() as a:
        r = release_hold(a, hold_id=hold_id, note=note, user=_user(a, username))
    _hold_out(r, as_json)


@hold_group.command("list")
@click.option("--doc", "document_id")
@click.option("--all", "show_all", is_flag=True, help="Include released holds")
@_JSON
def hold_list(document_id: str | None, show_all: bool, as_json: bool) -> None:
    from hoso.api.schemas import HoldOut
    from retention.holds import list_holds

    with _session() as s:
        holds = list_holds(s, document_id=document_id, active_only=not show_all)
    if as_json:
        _print_json([HoldOut.of(h).model_dump() for h in holds])
        return
    for h in holds:
        click.echo(
            f"{h.id}  {h.document_id}  {h.reason}  {h.reference}  {h.placed_at}  {h.released_at or 'active'}"
        )


def _batch_out(b, as_json: bool) -> None:
    from hoso.api.schemas import BatchOut

    data = BatchOut.of(b).model_dump()
    if as_json:
        _print_json(data)
        return
    click.echo(f"batch {b.id} ({b.school}): {b.status}; {len(b.items)} hồ sơ / documents")
    for i in b.items:
        click.echo(f"  {i.document_id}  {i.type_code}  {i.school_year}  from {i.disposable_from}  {i.title}")


@retention_group.command(
    "propose", help="Propose a disposal batch (default: every due document of the school)."
)
@click.option("--school", required=True)
@click.option("--doc", "document_ids", multiple=True, help="Only these documents (repeatable)")
@click.option("--note", default="")
@click.option("--user", "username", required=True)
@_NO_ON
@_JSON
def retention_propose(
    school: str, document_ids: tuple[str, ...], note: str, username: str, on: str | None, as_json: bool
) -> None:
    from archive.accounts import get_user
    from retention.disposal import propose_batch

    _refuse_on(on)
    with _session() as s:
        b = propose_batch(
            s,
            school=school,
            user=get_user(s, username),
            document_ids=list(document_ids) or None,
            note=note,
        )
    _batch_out(b, as_json)


@retention_group.command("approve", help="Approve a proposed batch (the principal).")
@click.argument("batch_id", type=int)
@click.option("--user", "username", required=True)
@_NO_ON
@_JSON
def retention_approve(batch_id: int, username: str, on: str | None, as_json: bool) -> None:
    from archive.accounts import get_user
    from retention.disposal import approve_batch

    _refuse_on(on)
    with _session() as s:
        b = approve_batch(s, batch_id=batch_id, user=get_user(s, username))
    _batch_out(b, as_json)


@retention_group.command("cancel", help="Cancel a proposed or approved batch.")
@click.argument("batch_id", type=int)
@click.option("--user", "username", required=True)
@click.option("--reason", default="")
def retention_cancel(batch_id: int, username: str, reason: str) -> None:
    from archive.accounts import get_user
    from retention.disposal import cancel_batch

    with _session() as s:
        cancel_batch(s, batch_id=batch_id, user=get_user(s, username), reason=reason)
    click.echo(f"Đã hủy đợt / batch {batch_id} cancelled")


@retention_group.command(
    "execute",
    help="Carry out an approved batch: signed record first, then every copy deleted. Exit 1 if unfinished.",
)
@click.argument("batch_id", type=int)
@click.option("--user", "username", default="admin", show_default=True)
@_NO_ON
@_JSON
def retention_execute(batch_id: int, username: str, on: str | None, as_json: bool) -> None:
    import sys

    from hoso.api.schemas import ExecutionOut
    from retention.disposal import execute_batch

    _refuse_on(on)
    with _opened() as a:
        sign = a.signing.sign_org if a.signing is not None else None
        if sign is None:
            click.echo(
                "CẢNH BÁO: chưa cấu hình chữ ký số của cơ quan; biên bản sẽ được lưu không có chữ ký "
                "/ WARNING: no organisation signing key; the record is stored unsigned",
                err=True,
            )
        r = execute_batch(a, batch_id=batch_id, sign=sign, user=_user(a, username))
    if as_json:
        _print_json(ExecutionOut.of(r).model_dump())
    else:
        click.echo(
            f"batch {r.batch_id}: {r.status}; biên bản / record {r.record_document_id} "
            f"({'đã ký / signed' if r.record_signed else 'CHƯA KÝ / UNSIGNED'}); {r.deleted_keys} keys deleted"
        )
        for key in r.kept_shared:
            click.echo(f"  giữ lại / kept (shared with a live document): {key}")
        for f in r.failures:
            click.echo(f"  CHƯA XÓA / NOT DELETED {f.store} {f.key}: {f.detail}", err=True)
    sys.exit(0 if r.status == "executed" else 1)


@retention_group.command("batches", help="List disposal batches.")
@click.option("--school")
@_JSON
def retention_batches(school: str | None, as_json: bool) -> None:
    from hoso.api.schemas import BatchOut
    from retention.disposal import list_batches

    with _session() as s:
        batches = list_batches(s, school=school)
    if as_json:
        _print_json([BatchOut.of(b).model_dump() for b in batches])
        return
    for b in batches:
        click.echo(
            f"{b.id}  {b.school}  {b.status}  {len(b.items)} documents  record {b.record_document_id or '-'}"
        )


@retention_group.command("lock-sync", help="Apply schedule retention and legal holds to Object Lock stores.")
@_JSON
def retention_lock_sync(as_json: bool) -> None:
    import sys

    from retention.holds import sync_object_locks

    with _opened() as a:
        r = sync_object_locks(a)
    data = r.__dict__ | {"errors": [e.__dict__ for e in r.errors]}
    _print_json(data) if as_json else click.echo(
        f"{r.objects} objects; retention set {r.retention_set}; holds on {r.holds_on}, off {r.holds_off}; "
        f"no Object Lock: {', '.join(r.stores_skipped) or '-'}; errors {len(r.errors)}"
    )
    sys.exit(1 if r.errors else 0)


@click.group("catalog", help="Catalog backup (XML metadata export) and rebuild from a replica.")
def catalog_group() -> None:
    pass


@catalog_group.command(
    "rebuild", help="Rebuild an EMPTY catalog from one replica's manifests. Exit 1 on any break."
)
@click.option("--from", "store_url", required=True, help="Store URL of the replica to read (file://, s3://)")
@_JSON
def catalog_rebuild(store_url: str, as_json: bool) -> None:
    import sys

    from retention.rebuild import rebuild_catalog, report_to_dict

    with _opened() as a:
        r = rebuild_catalog(a, store_url)
    if as_json:
        _print_json(report_to_dict(r))
    else:
        click.echo(
            f"Đã dựng lại / rebuilt from {r.store}: {r.organisations} organisations, {r.documents} documents, "
            f"{r.versions} versions, {r.objects} objects ({r.exports} exports)"
        )
        if r.users_created:
            click.echo(
                f"tài khoản tạm (chưa kích hoạt) / inactive placeholder users: {', '.join(r.users_created)}"
            )
        for b in r.chain_breaks:
            click.echo(f"ĐỨT CHUỖI / CHAIN BREAK {b.document_id} v{b.number}: {b.detail}", err=True)
        for c in r.bad_copies:
            click.echo(f"BẢN SAO HỎNG / BAD COPY {c.key}: {c.state} {c.detail}", err=True)
        for k in r.unreadable:
            click.echo(f"KHÔNG ĐỌC ĐƯỢC / UNREADABLE {k}", err=True)
        for o in r.skipped_orphans:
            click.echo(
                f"BỎ QUA BẢN GHI CHƯA HOÀN TẤT / SKIPPED UNCOMMITTED {o.manifest_key} (giữ / kept {o.kept_document_id})"
            )
    sys.exit(0 if r.ok else 1)


@catalog_group.command("export-metadata", help="Write today's XML metadata export to every replica.")
@click.option("--day", help="YYYY-MM-DD (default today)")
@_JSON
def catalog_export(day: str | None, as_json: bool) -> None:
    from retention.backup import export_metadata

    with _opened() as a:
        r = export_metadata(a, _day(day))
    data = r.__dict__ | {"replicas": [x.__dict__ for x in r.replicas]}
    _print_json(data) if as_json else click.echo(
        f"{r.key}  {r.sha256}  ({'mới / new' if r.created else 'đã có / existing'}; {r.documents} documents)"
    )


COMMANDS.extend([retention_group, catalog_group])
