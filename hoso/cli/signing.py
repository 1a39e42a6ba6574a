"""`hoso` commands for signatures: sign (server-held key), two-step sessions, validate, sign-digest."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from archive.settings import Settings
from archive.signing_setup import uses_dev_pki
from hoso.cli.common import command_archive
from signing import commands as signing_commands


def _default_trust_roots() -> tuple[Path, ...]:
    """Configured trust roots, plus the dev PKI's root on the embedded defaults (if it was ever created)."""
    settings = Settings()
    roots = list(settings.trust_root_paths)
    dev_root = settings.data_dir / "dev-pki" / "root.cert.pem"
    if uses_dev_pki(settings) and dev_root.exists():
        roots.append(dev_root)
    return tuple(roots)


def _validate(**kw: Any) -> Any:
    if not kw.get("trust_roots"):
        kw["trust_roots"] = _default_trust_roots()
    callback = signing_commands.validate_command.callback
    assert callback is not None
    return callback(**kw)


validate = click.Command(
    "validate",
    params=list(signing_commands.validate_command.params),
    callback=_validate,
    help="Kiểm tra chữ ký số của tệp PDF bất kỳ / validate the signatures of any PDF (exit 0 passed, 1 not, 2 unreadable). "
    "Without --trust-root: HOSO_TRUST_ROOTS plus, on the embedded defaults, the dev PKI root.",
)


def _archive() -> Any:
    return command_archive()


def _user(archive: Any, username: str) -> Any:
    from archive.accounts import get_user

    with archive.sessions() as session:
        user = get_user(session, username)
        session.expunge(user)
        return user


@click.command(
    "sign", help="Ký số một hồ sơ đã lưu bằng khóa trên máy chủ / sign a stored document server-side."
)
@click.argument("doc_id")
@click.option("--p12", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PKCS#12 key file")
@click.option("--password-env", default="HOSO_P12_PASSWORD", show_default=True)
@click.option("--pkcs11-module", help="PKCS#11 module of the HSM/token holding the key")
@click.option("--token-label")
@click.option("--key-label")
@click.option("--pin-env", default="HOSO_TOKEN_PIN", show_default=True)
@click.option("--level", type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"]))
@click.option("--reason")
@click.option("--certify", is_flag=True, help="Lock the document after this signature (DocMDP)")
@click.option("--text", "text_lines", multiple=True, help="Text-form appearance line (top right of page 1)")
@click.option("--user", "username", default="admin", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def sign(
    doc_id: str,
    p12: Path | None,
    password_env: str,
    pkcs11_module: str | None,
    token_label: str | None,
    key_label: str | None,
    pin_env: str,
    level: str | None,
    reason: str | None,
    certify: bool,
    text_lines: tuple[str, ...],
    username: str,
    as_json: bool,
) -> None:
    import signing
    from archive import signatures
    from archive.signing_setup import dev_pki_served

    archive = _archive()
    setup = signatures.setup_of(archive)
    signer: signing.Pkcs12Signer | signing.Pkcs11Signer | None = None
    if p12 is not None:
        password = os.environ.get(password_env)
        signer = signing.Pkcs12Signer(str(p12), password.encode() if password is not None else None)
    elif pkcs11_module:
        if not (token_label and key_label):
            raise click.UsageError("--pkcs11-module needs --token-label and --key-label")
        signer = signing.Pkcs11Signer(pkcs11_module, token_label, key_label, os.environ.get(pin_env))
    appearance = signing.Appearance.text_form(*text_lines) if text_lines else None
    with dev_pki_served(setup):
        version = signatures.sign_document(
            archive, doc_id, signer=signer, level=level, reason=reason, certify=certify,
            appearance=appearance, actor=_user(archive, username),
        )  # fmt: skip
    report = version.validation or {}
    data = {
        "id": doc_id,
        "version": version.number,
        "sha256": version.sha256,
        "verdict": report.get("verdict"),
    }
    if as_json:
        click.echo(json.dumps(data | {"validation": report}, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"Đã ký / signed: {doc_id} phiên bản {version.number}  {version.sha256}  ({report.get('verdict_vi')})"
        )
    sys.exit(0)


@click.group(
    "signing-session", help="Ký hai bước bằng token của người ký / two-step signing with the signer's token."
)
def signing_session() -> None:
    pass


@signing_session.command("start")
@click.argument("doc_id")
@click.option(
    "--cert", "cert_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--chain", "chain_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--level", type=click.Choice(["B-B", "B-T", "B-LT", "B-LTA"]))
@click.option("--reason")
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Request JSON"
)
@click.option("--user", "username", default="admin", show_default=True)
def session_start(
    doc_id: str, cert_path: Path, chain_paths: tuple[Path, ...], level: str | None, reason: str | None, out: Path,
    username: str,
) -> None:  # fmt: skip
    from archive import signatures
    from archive.signing_setup import dev_pki_served

    if not (out.parent.is_dir() and os.access(out.parent, os.W_OK)):
        # checked before the session is opened: a session whose request was never written could not be used
        raise click.BadParameter(
            f"không ghi được vào thư mục {out.parent} / cannot write into {out.parent}", param_hint="--out"
        )
    archive = _archive()
    with dev_pki_served(signatures.setup_of(archive)):
        started = signatures.start_signing_session(
            archive, doc_id, certificate=_certificate(cert_path), chain=[_certificate(p) for p in chain_paths],
            level=level, reason=reason,
            actor=_user(archive, username),
        )  # fmt: skip
    out.write_text(json.dumps(started.request, indent=2), encoding="utf-8")
    click.echo(f"Phiên ký / session {started.id}: yêu cầu ghi vào {out}")
    click.echo(started.id)


def _certificate(path: Path) -> bytes:
    """A certificate file (PEM or DER) as DER, refused clearly when it is neither."""
    from archive.certificates import certificate_der

    return certificate_der(path.read_bytes())


@signing_session.command("finish")
@click.argument("session_id")
@click.option(
    "--signature", "sig_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--user", "username", default="admin", show_default=True)
def session_finish(session_id: str, sig_path: Path, username: str) -> None:
    from archive import signatures
    from archive.signing_setup import dev_pki_served

    archive = _archive()
    text = sig_path.read_bytes().decode("utf-8", "replace")  # a binary file is a bad signature, not a crash
    try:
        response = json.loads(text)
    except ValueError:
        response = text.strip()
    with dev_pki_served(signatures.setup_of(archive)):
        row = signatures.pending_session(archive, session_id)
        version = signatures.finish_signing_session(
            archive, session_id, response, actor=_user(archive, username)
        )
    report = version.validation or {}
    click.echo(f"Đã ký / signed: {row.document_id} phiên bản {version.number} ({report.get('verdict_vi')})")


COMMANDS: list[click.Command] = [validate, signing_commands.sign_digest_command, sign, signing_session]
