"""`hoso` commands for retention (registered in archive/cli.py through COMMANDS)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []


# ---- integrity: `hoso fixity …` and `hoso worker` (retention/fixity.py, worm.py, upkeep.py, scheduler.py) ----------
# These build their own Archive instead of importing archive.cli (which runs as __main__ under `python -m`).


def _integrity_archive():  # type: ignore[no-untyped-def]
    from .context import build_archive
    from .settings import Settings

    archive = build_archive(Settings(), migrate=True)
    archive.extras.update(_signing_upkeep_functions(archive))
    return archive


def _signing_upkeep_functions(archive) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """inspect/renew for LTA upkeep, from signing/ (an entry point may import it; retention/ may not)."""
    try:
        from signing import add_document_timestamp, newest_document_timestamp
    except ImportError:
        return {}
    settings = archive.settings
    if not settings.tsa_url:
        return {}  # no TSA configured: renewal is impossible, the upkeep job logs that it skipped

    def inspect(pdf: bytes):  # type: ignore[no-untyped-def]
        info = newest_document_timestamp(pdf)
        return (info.certificate_not_after, info.digest_algorithm) if info else (None, None)

    def renew(pdf: bytes) -> bytes:
        return add_document_timestamp(pdf, tsa_url=settings.tsa_url, trust_roots=settings.trust_root_paths)

    return {"lta_inspect": inspect, "lta_renew": renew}


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

    archive = _integrity_archive()
    try:
        if slice_:
            interval = timedelta(hours=archive.settings.fixity_light_interval_hours)
            report = fixity.full_slice(archive, slot=fixity.slot_name("full", fixity.utcnow(), interval))
        else:
            report = (fixity.full_run if full else fixity.light_run)(archive)
    finally:
        archive.close()
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

    archive = _integrity_archive()
    try:
        st = fixity_status(archive)
    finally:
        archive.close()
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

    archive = _integrity_archive()
    try:
        results = check_worm(archive.settings, archive.replicas.stores)
    finally:
        archive.close()
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

    archive = _integrity_archive()
    try:
        inspect, renew = archive.extras.get("lta_inspect"), archive.extras.get("lta_renew")
        if not callable(inspect) or not callable(renew):
            click.echo(
                "Chưa cấu hình TSA (HOSO_TSA_URL) / no TSA configured: nothing can be renewed", err=True
            )
            sys.exit(2)
        report = renew_due_signatures(archive, inspect=inspect, renew=renew)
    finally:
        archive.close()
    data = {
        "inspected": report.inspected,
        "due": report.due,
        "renewed": [r.__dict__ for r in report.renewed],
        "failed": [r.__dict__ for r in report.failed],
        "skipped": report.skipped,
    }
    _print_json(data) if as_json else click.echo(
        f"inspected {report.inspected}, due {report.due}, renewed {len(report.renewed)}, failed {len(report.failed)}"
    )
    sys.exit(1 if report.failed else 0)


@click.command(
    "worker", help="Run the scheduled jobs (fixity, WORM canary, LTA upkeep, metadata export) until stopped."
)
def worker() -> None:
    import logging

    from retention.scheduler import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    archive = _integrity_archive()
    try:
        run_worker(archive)
    finally:
        archive.close()


COMMANDS.extend([fixity_group, worker])
