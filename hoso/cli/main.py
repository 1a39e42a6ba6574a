"""The `hoso` command line. An entry point: it may import everything."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from archive.context import Archive
from archive.errors import ArchiveError, InvalidInput
from archive.settings import Settings
from archive.signing_setup import uses_dev_pki
from hoso.cli.common import command_archive
from signing import SigningError
from storage import StorageError


class Ctx:
    def __init__(self) -> None:
        self.settings = Settings()
        self._archive: Archive | None = None  # a test may hand in its own

    def archive(self, migrate: bool = True) -> Archive:
        if self._archive is None:
            self._archive = command_archive(self.settings, migrate=migrate)
        return self._archive


pass_ctx = click.make_pass_decorator(Ctx, ensure=True)


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str) if as_json else human)


def fail(exc: ArchiveError) -> None:
    click.echo(f"Lỗi / Error [{exc.code}]: {exc.message}", err=True)
    sys.exit(2 if exc.status >= 500 else 1)


class HosoGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ArchiveError as exc:
            fail(exc)
        except StorageError as exc:
            click.echo(f"Lỗi kho lưu trữ / Storage error: {exc}", err=True)
            sys.exit(2)
        except SigningError as exc:
            from archive.signatures import signing_error

            fail(signing_error(exc))


@click.group(cls=HosoGroup, help="hoso — Kho hồ sơ số: lưu trữ và ký số hồ sơ nhà trường.")
def main() -> None:
    pass


@main.command(help="Migrate the catalog, then serve the API, web pages and scheduler.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Server processes sharing the port (one per core: a download or a page holds the GIL of its process).",
)
@pass_ctx
def serve(c: Ctx, host: str, port: int, workers: int) -> None:
    import uvicorn

    from hoso.app import create_app, settled
    from hoso.observability import configure_logging

    if "base_url" not in c.settings.model_fields_set:
        # the dev PKI's certificates carry URLs under the base URL: make them match where we really listen
        c.settings = c.settings.model_copy(update={"base_url": f"http://{host}:{port}"})
    archive = c.archive()  # migrates the catalog, once, before any worker starts
    app = settled(create_app(c.settings, archive=archive)) if workers == 1 else None
    click.echo(f"hoso: http://{host}:{port}  (API /api/v1, OpenAPI /openapi.json)")
    click.echo(f"  catalog:  {c.settings.resolved_database_url}")
    for url in c.settings.replica_urls:
        click.echo(f"  replica:  {url}")
    if archive.signing is not None and uses_dev_pki(c.settings):
        # made here, once, before any worker starts: the test people's certificates are there when the server answers
        dev = archive.signing.setup.dev_pki
        assert dev is not None
        click.echo(f"  dev PKI:  {dev.directory}  (test certificates; TSA, OCSP, CRLs at /dev-pki)")
    click.echo("  API token: .venv/bin/hoso token create --user admin   (Bearer token for Authorization)")
    click.echo(
        f"  web pages: http://{host}:{port}/  (password for admin: .venv/bin/hoso user reset-password admin)"
    )
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 whatever
    # HOSO_TRUSTED_PROXIES says; hoso's own rule (hoso/netaddr.py) decides which client address to believe
    configure_logging(c.settings.log_format)
    if app is None:
        # each worker process builds its own app from the environment (hoso.app.serving_app)
        archive.close()
        os.environ["HOSO_BASE_URL"] = c.settings.base_url
    uvicorn.run(
        app or "hoso.app:serving_app",
        factory=app is None,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=False,
        forwarded_allow_ips="",
        log_config=None,  # our handler (hoso/observability.py): JSON lines with the request id
        access_log=False,  # the request middleware writes the access line, with the request id and duration
    )


@main.group(help="Catalog database.")
def db() -> None:
    pass


@db.command("upgrade", help="Migrate the catalog to the newest schema (creates `admin` in an empty catalog).")
@pass_ctx
def db_upgrade(c: Ctx) -> None:
    c.archive(migrate=True)
    click.echo("Đã cập nhật CSDL / catalog migrated: " + c.settings.resolved_database_url)


@main.group(help="Organisations (Sở, Phòng, schools).")
def org() -> None:
    pass


@org.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(["so", "phong", "truong"]))
@click.option("--level", help="THCS, THPT, GDTX, or several joined by ','")
@click.option("--parent", help="Code of the parent organisation")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def org_add(
    c: Ctx, code: str, name: str, kind: str, level: str | None, parent: str | None, as_json: bool
) -> None:
    from archive import orgs
    from hoso.api.schemas import OrgOut

    a = c.archive()
    with a.sessions() as session, session.begin():
        o = orgs.add_organisation(session, code=code, name=name, kind=kind, level=level, parent_code=parent)
        data = OrgOut.of(o).model_dump()
    emit(data, as_json, f"Đã thêm đơn vị / added {data['code']}: {data['name']}")


@org.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def org_list(c: Ctx, as_json: bool) -> None:
    from archive import orgs
    from hoso.api.schemas import OrgOut

    with c.archive().sessions() as session:
        data = [OrgOut.of(o).model_dump() for o in orgs.list_organisations(session)]
    emit(data, as_json, "\n".join(f"{o['code']}\t{o['kind']}\t{o['level'] or ''}\t{o['name']}" for o in data))


@main.group(help="Accounts.")
def user() -> None:
    pass


@user.command("create")
@click.argument("username")
@click.option("--full-name", default="")
@click.option("--email")
@click.option("--org", "org_code", help="Organisation code the person belongs to")
@click.option("--password-env", help="Read the password from this environment variable")
@click.option("--system-admin", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def user_create(
    c: Ctx,
    username: str,
    full_name: str,
    email: str | None,
    org_code: str | None,
    password_env: str | None,
    system_admin: bool,
    as_json: bool,
) -> None:
    import os

    from archive import accounts, orgs

    password = os.environ.get(password_env) if password_env else None
    with c.archive().sessions() as session, session.begin():
        org_id = orgs.get_organisation(session, org_code).id if org_code else None
        u = accounts.create_user(
            session,
            username=username,
            full_name=full_name,
            email=email,
            password=password,
            organisation_id=org_id,
            system_admin=system_admin,
        )
        data = {"id": u.id, "username": u.username, "full_name": u.full_name}
    emit(data, as_json, f"Đã tạo tài khoản / user created: {username}")


@main.group(help="API tokens.")
def token() -> None:
    pass


@token.command("create", help="Issue an API token; it is printed once, alone on the last line.")
@click.option("--user", "username", required=True)
@click.option("--name", default="cli")
@click.option(
    "--days", default=None, type=int, help="Lifetime in days, 1-3650 (default: setting api_token_ttl_days)"
)
@click.option(
    "--scopes", default="*", show_default=True, help="Actions it may do, comma-separated (document.read,…)"
)
@pass_ctx
def token_create(c: Ctx, username: str, name: str, days: int | None, scopes: str) -> None:
    from archive import accounts

    days = accounts.check_token_days(days if days is not None else c.settings.api_token_ttl_days)
    with c.archive().sessions() as session, session.begin():
        u = accounts.get_user(session, username)
        issued = accounts.create_token(
            session,
            user=u,
            name=name,
            ttl_days=days,
            scopes=scopes,
        )
        expires = issued.token.expires_at
    click.echo(f"Mã truy cập cho {username} (hiển thị một lần) / token for {username} (shown once)")
    click.echo(f"expires: {expires.isoformat() if expires else 'never'}")
    click.echo(issued.secret)


@main.command(
    help="Ingest files, folders or ZIPs (a class's exports) into every replica and the catalog; prints id and "
    "sha256 for each. Without --type / --class-name, both are read from each file's name (archive/batch_names.py)."
)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--school", required=True)
@click.option("--type", "type_code", help="Document type; default: read from each file's name")
@click.option("--year", required=True)
@click.option("--title")
@click.option("--class-name", help="Class; default: read from each file's name")
@click.option("--subject")
@click.option("--teacher")
@click.option(
    "--user", "username", default="admin", show_default=True, help="Who is ingesting (for the record)"
)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def ingest(
    c: Ctx,
    files: tuple[Path, ...],
    school: str,
    type_code: str | None,
    year: str,
    title: str | None,
    class_name: str | None,
    subject: str | None,
    teacher: str | None,
    username: str,
    as_json: bool,
) -> None:
    from archive import accounts, batch_files, batch_names
    from archive.batch_ingest import REFUSED, STORED, BatchIngest

    a = c.archive()
    with a.sessions() as session:
        actor = accounts.get_user(session, username)
    batch = BatchIngest(
        a, school, year, actor, check_rights=False, title=title, subject=subject, teacher=teacher
    )
    inputs = batch_files.list_inputs(list(files))
    total = batch_files.count_files(inputs)
    out: list[dict[str, object]] = []
    failures = 0
    lines: list[tuple[str, bool]] = []  # (line, is a refusal: to stderr)
    # progress goes to stderr, so stdout keeps one line per file (or the JSON) for scripts: a bar on a terminal,
    # "[i/n] name" lines in a log (click draws no bar there)
    on_terminal = sys.stderr.isatty()
    done = 0
    with click.progressbar(
        length=total,
        label="Đang lưu / storing",
        file=sys.stderr,
        show_pos=True,
        hidden=as_json or not on_terminal,
    ) as bar:

        def choose(item: batch_files.BatchFile) -> tuple[str | None, str | None]:
            nonlocal done
            bar.update(1)
            done += 1
            if not (as_json or on_terminal):
                click.echo(f"[{done}/{total}] {item.name}", err=True)
            guess = batch_names.guess(item.name)
            return type_code or guess.type_code, class_name or guess.class_name

        items = (
            item
            for source in inputs
            for item in batch_files.expand(source, a.spool_dir, a.settings.max_upload_bytes)
        )
        # several files' catalog rows share one transaction (each file still all or nothing: its own savepoint)
        for o in batch.store_each(items, choose):
            if o.result == REFUSED:
                failures += 1
                message = f"{o.message_vi} / {o.message_en}"
                out.append({"file": o.source, "result": o.result, "error": o.code, "message": message})
                lines.append((f"{o.source}: Lỗi / Error [{o.code}]: {message}", True))
                continue
            out.append({"file": o.source, "result": o.result, "id": o.document_id, "sha256": o.sha256,
                        "created": o.result == STORED, "type": o.type_code, "class": o.class_name})  # fmt: skip
            state = "mới / new" if o.result == STORED else "đã có / existing"
            lines.append((f"{o.document_id}  {o.sha256}  {o.name}  ({state})", False))
    if as_json:
        emit(out, True, "")
    else:
        for line, refused in lines:
            click.echo(line, err=refused)
        stored = sum(1 for o in out if o["result"] == "stored")
        dupes = sum(1 for o in out if o["result"] == "duplicate")
        click.echo(
            f"{stored} lưu mới, {dupes} đã có, {failures} bị từ chối / {stored} stored, {dupes} duplicate, "
            f"{failures} refused",
            err=True,
        )
    sys.exit(1 if failures else 0)


@main.group(help="Documents in the catalog.")
def documents() -> None:
    pass


@documents.command("list")
@click.option("--school")
@click.option("--type", "type_code")
@click.option("--year")
@click.option("-q", "q")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def documents_list(
    c: Ctx, school: str | None, type_code: str | None, year: str | None, q: str | None, as_json: bool
) -> None:
    from archive import documents as docs
    from archive.finding import COUNT_CAP
    from hoso.api.schemas import DocumentSummary

    with c.archive().sessions() as session:
        rows, total = docs.list_documents(
            session, school=school, type_code=type_code, year=year, q=q, limit=1000
        )
        data = [d.model_dump() for d in DocumentSummary.page(session, rows)]
    emit(
        {"total": min(total, COUNT_CAP), "total_capped": total > COUNT_CAP, "items": data},
        as_json,
        "\n".join(f"{d['id']}  {d['school']}  {d['type']}  {d['year']}  {d['title']}" for d in data),
    )


@documents.command("get")
@click.argument("doc_id")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def documents_get(c: Ctx, doc_id: str, as_json: bool) -> None:
    from archive import documents as docs
    from hoso.api.schemas import DocumentOut

    with c.archive().sessions() as session:
        data = DocumentOut.full(session, docs.get_document(session, doc_id)).model_dump()
    human = "\n".join(f"{k}: {v}" for k, v in data.items() if k not in ("versions", "replicas", "checks"))
    human += "\n" + "\n".join(f"replica {r['store']}: {r['state']}" for r in data.get("replicas", []))
    human += "".join(
        f"\ncheck {x['name']}: {x['result']} — {x['message_vi']}" for x in data.get("checks", [])
    )
    emit(data, as_json, human)


@documents.command("content", help="Write the verified bytes of a document to a file.")
@click.argument("doc_id")
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", type=int)
@pass_ctx
def documents_content(c: Ctx, doc_id: str, out: Path, version: int | None) -> None:
    from archive.documents import open_content

    tmp = out.with_name(out.name + ".part")
    try:
        # opened before the content, so that an unwritable --out is refused before any copy is read or logged
        f = open(tmp, "wb")  # noqa: SIM115 — closed by the `with f:` below, once the content is open
    except OSError as exc:
        raise InvalidInput(
            f"Không ghi được tệp {out}: {exc.strerror}",
            f"Cannot write {out}: {exc.strerror}",
            code="bad_output",
        ) from None
    try:
        with f:
            content = open_content(c.archive(), doc_id, version=version)
            for chunk in content.chunks:
                f.write(chunk)
        tmp.replace(out)
    except BaseException:
        # a store failing mid-stream (or a copy changing under us) must not leave a half-written file behind
        tmp.unlink(missing_ok=True)
        raise
    click.echo(f"{out}  {content.sha256}  ({content.served_from})")


def _register_extensions() -> None:
    from hoso.cli import certificates as cli_certificates
    from hoso.cli import check_records as cli_check_records
    from hoso.cli import inspection as cli_inspection
    from hoso.cli import media as cli_media
    from hoso.cli import overview as cli_overview
    from hoso.cli import people as cli_people
    from hoso.cli import retention as cli_retention
    from hoso.cli import roster as cli_roster
    from hoso.cli import signing as cli_signing
    from hoso.cli import transfer as cli_transfer

    for module in (
        cli_people,
        cli_retention,
        cli_signing,
        cli_roster,
        cli_inspection,
        cli_check_records,
        cli_media,
        cli_transfer,
        cli_overview,
    ):
        for command in module.COMMANDS:
            main.add_command(command)
    # people adds subcommands to the existing groups (org import, user grant/reset-password, token revoke …)
    for group, commands in (
        (org, cli_people.ORG_COMMANDS),
        (user, cli_people.USER_COMMANDS),
        (token, cli_people.TOKEN_COMMANDS),
    ):
        for command in commands:
            group.add_command(command)
    user.add_command(cli_certificates.cert)
    from signer_agent.cli import signer_agent_command

    main.add_command(signer_agent_command)


_register_extensions()

if __name__ == "__main__":
    main()
