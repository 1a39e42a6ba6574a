"""`hoso user cert add|list|remove`: a person's signing certificates from the server's command line (registered in
hoso/cli/main.py under the `user` group). The same checks as the API and the account page (archive/certificates.py);
`--by` names the person doing it (themself, or an administrator who may manage the account), else the operator acts
as the system."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.models import User
from hoso.cli.common import command_archive


def _accounts(session: Session, username: str, by: str | None) -> tuple[User | None, User]:
    from archive import accounts, certificates

    if by is None:
        return None, accounts.get_user(session, username)
    actor = accounts.get_user(session, by)
    return actor, certificates.account_for(session, actor, username)


def emit(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else human)


def _out(row: Any) -> dict[str, Any]:
    from hoso.api.certificates_routes import CertificateOut

    return CertificateOut.of(row).model_dump()


def _line(c: dict[str, Any]) -> str:
    return (
        f"{c['id']}  {c['subject']}\n    cấp bởi / issuer: {c['issuer']}\n    số sê-ri / serial: {c['serial']}"
        f"  hiệu lực / valid: {c['not_before'][:10]} → {c['not_after'][:10]}  ({c['check']})"
    )


@click.group("cert", help="A person's signing certificates: add (checked), list, remove.")
def cert() -> None:
    pass


@cert.command(
    "add", help="Register a certificate file (.pem, .cer, .crt; PEM may carry its chain) to USERNAME."
)
@click.argument("username")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "by", help="Who registers it (the person or an administrator); default: the operator")
@click.option("--json", "as_json", is_flag=True)
def cert_add(username: str, file: Path, by: str | None, as_json: bool) -> None:
    from archive import certificates

    archive: Archive = command_archive()
    if archive.signing is None:
        raise click.ClickException("this process has no signing setup")
    with archive.sessions() as session:
        actor, owner = _accounts(session, username, by)
        row = certificates.register_certificate(
            session, archive.signing.setup, actor=actor, owner=owner, data=file.read_bytes()
        )
        out = _out(row)
    emit(out, as_json, "Đã đăng ký / registered:\n" + _line(out))


@cert.command("list", help="USERNAME's registered certificates.")
@click.argument("username")
@click.option("--by", "by")
@click.option("--json", "as_json", is_flag=True)
def cert_list(username: str, by: str | None, as_json: bool) -> None:
    from archive import certificates

    with command_archive().sessions() as session:
        owner = _accounts(session, username, by)[1]
        rows = [_out(r) for r in certificates.certificates_of(session, owner)]
    emit(rows, as_json, "\n".join(_line(c) for c in rows) or "Chưa có chứng thư số / no certificate")


@cert.command("remove", help="Remove one of USERNAME's certificates (by the id `cert list` shows).")
@click.argument("username")
@click.argument("certificate_id", type=int)
@click.option("--by", "by")
def cert_remove(username: str, certificate_id: int, by: str | None) -> None:
    from archive import certificates

    with command_archive().sessions() as session, session.begin():
        actor, owner = _accounts(session, username, by)
        certificates.remove_certificate(session, actor=actor, owner=owner, certificate_id=certificate_id)
    click.echo(f"Đã gỡ / removed: {username} #{certificate_id}")
