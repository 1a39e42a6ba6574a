"""Click commands the archive attaches to ``hoso``: ``validate`` and ``sign-digest``.

Exit codes of ``validate``: 0 all passed, 1 not passed (failed or indeterminate), 2 the file could not be read.
No command prints a traceback: every error is one line.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path

import click

from .errors import SigningError

EXIT_PASSED, EXIT_NOT_PASSED, EXIT_UNREADABLE = 0, 1, 2


def _fmt_time(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    from .appearance import format_signing_time

    return format_signing_time(moment)


def _human(report) -> str:
    yes_no = {True: "có", False: "không"}
    mod_vi = {
        "none": "không thay đổi",
        "ltv_updates": "chỉ bổ sung dữ liệu kiểm tra dài hạn",
        "form_filling": "điền biểu mẫu / thêm chữ ký",
        "other": "thay đổi khác (không được phép)",
    }
    lines = [
        f"Kết quả: {report.verdict_vi} ({report.verdict}{' / ' + report.sub_indication if report.sub_indication else ''})"
    ]
    if not report.passed:
        lines.append(f"Lý do: {report.reason_vi}")
    if report.error:
        lines.append(f"Lỗi: {report.error}")
    for i, sig in enumerate(report.signatures, 1):
        kind = "Chữ ký" if sig.kind == "signature" else "Dấu thời gian tài liệu"
        cert = sig.certificate
        lines += [
            "",
            f"{i}. {kind} «{sig.field_name}»: {sig.verdict_vi}" + (f" — {sig.sub_indication}" if sig.sub_indication else ""),
            f"   Người ký: {sig.signer or '—'}",
            f"   Tổ chức: {sig.organisation or '—'}",
            f"   Tổ chức cung cấp dịch vụ chứng thực (CA): {sig.issuer or '—'}",
            f"   Thời hạn chứng thư: {_fmt_time(cert.not_before) if cert else '—'} → {_fmt_time(cert.not_after) if cert else '—'}",
            f"   Thời điểm ký: {_fmt_time(sig.signing_time)}; dấu thời gian: {_fmt_time(sig.timestamp_time)}",
            f"   Toàn vẹn: {yes_no[sig.intact]}; chuỗi tin cậy: {yes_no[sig.trusted]}; thu hồi: {sig.revocation}",
            f"   Thay đổi sau khi ký: {mod_vi.get(sig.modification, sig.modification)}; mức PAdES: {sig.level or '—'}",
        ]  # fmt: skip
        lines += [f"   Cảnh báo: {w}" for w in sig.warnings]
        lines += [f"   Lỗi: {e}" for e in sig.errors]
    return "\n".join(lines)


@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report.")
@click.option(
    "--trust-root",
    "trust_roots",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Certificate file or folder.",
)
@click.option("--at", "at", default=None, help="Validate as of this ISO 8601 time.")
@click.option(
    "--fetch/--no-fetch", default=False, help="Fetch CRL/OCSP online (default: embedded data only)."
)
@click.option("--time-limit", default=60.0, show_default=True, help="Seconds before giving up.")
def validate_command(file: Path, as_json: bool, trust_roots, at, fetch: bool, time_limit: float) -> None:
    """Kiểm tra chữ ký số của tệp PDF (validate the signatures of a PDF)."""
    from .validation import validate_pdf

    def fail(message: str, code: int) -> None:
        if as_json:
            click.echo(json.dumps({"verdict": "INDETERMINATE", "verdict_vi": "Chưa xác định", "error": message, "signatures": []}, ensure_ascii=False))  # fmt: skip
        else:
            click.echo(f"Lỗi: {message}", err=True)
        sys.exit(code)

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"không đọc được tệp {file}: {exc.strerror}", EXIT_UNREADABLE)
    moment = None
    if at:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            fail(f"thời điểm --at không đúng ISO 8601: {at}", EXIT_UNREADABLE)
        if moment is not None and moment.tzinfo is None:
            # a bare "2026-01-01T08:00" is ambiguous by 7 hours (UTC or Vietnam time): ask, do not guess
            fail(
                "thời điểm --at phải có múi giờ (ISO 8601), ví dụ 2026-01-01T00:00:00+07:00", EXIT_UNREADABLE
            )
    try:
        report = validate_pdf(data, list(trust_roots), at=moment, allow_fetching=fetch, time_limit=time_limit)
    except (SigningError, OSError) as exc:
        fail(str(exc), EXIT_UNREADABLE)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(_human(report))
    if report.sub_indication == "UNREADABLE":
        sys.exit(EXIT_UNREADABLE)
    sys.exit(EXIT_PASSED if report.passed else EXIT_NOT_PASSED)


@click.command("sign-digest")
@click.argument("request_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Signature JSON (default: stdout).",
)
@click.option("--p12", type=click.Path(dir_okay=False, path_type=Path), help="PKCS#12 file with the key.")
@click.option(
    "--password-env",
    default="HOSO_P12_PASSWORD",
    show_default=True,
    help="Variable holding the PKCS#12 password.",
)
@click.option(
    "--pkcs11-module", type=click.Path(dir_okay=False), help="PKCS#11 module (.so) of the USB token."
)
@click.option("--token-label", help="PKCS#11 token label.")
@click.option("--key-label", help="Label of the key (and certificate) on the token.")
@click.option(
    "--pin-env", default="HOSO_TOKEN_PIN", show_default=True, help="Variable holding the token PIN."
)
def sign_digest_command(
    request_file: Path, out_file, p12, password_env, pkcs11_module, token_label, key_label, pin_env
) -> None:
    """Ký yêu cầu ký số do máy chủ chuẩn bị, bằng khoá trên máy này (sign a prepared request)."""
    from .digest_signing import sign_digest
    from .signers import Pkcs11Signer, Pkcs12Signer

    try:
        request = json.loads(request_file.read_text(encoding="utf-8"))
        signer: Pkcs11Signer | Pkcs12Signer
        if p12 and not pkcs11_module:
            password = os.environ.get(password_env)
            signer = Pkcs12Signer(str(p12), password.encode() if password is not None else None)
        elif pkcs11_module and token_label and key_label and not p12:
            signer = Pkcs11Signer(pkcs11_module, token_label, key_label, pin=os.environ.get(pin_env))
        else:
            raise click.UsageError("give either --p12, or --pkcs11-module with --token-label and --key-label")
        if isinstance(request, dict) and isinstance(request.get("requests"), list):
            # a batch (many documents, one PIN entry): the token is opened once (signers are cached) for them all
            answers = []
            for item in request["requests"]:
                answer = sign_digest(item, signer).to_dict()
                if isinstance(item, dict) and item.get("session_id"):
                    answer["session_id"] = item["session_id"]
                answers.append(answer)
            text = json.dumps(
                {"version": 1, "type": "hoso-sign-batch-response", "signatures": answers}, indent=2
            )
            done = f"Đã ký {len(answers)} yêu cầu"
        else:
            result = sign_digest(request, signer)
            text = result.to_json()
            done = "Đã ký"
        if out_file:
            out_file.write_text(text + "\n", encoding="utf-8")
            click.echo(f"{done}: chữ ký ghi vào {out_file}")
        else:
            click.echo(text)
    except click.UsageError:
        raise
    except (OSError, ValueError, SigningError) as exc:
        click.echo(f"Lỗi: {exc}", err=True)
        sys.exit(1)


@click.group()
def cli() -> None:
    """hoso signing commands (for running without the archive: python -m signing.commands)."""


cli.add_command(validate_command)
cli.add_command(sign_digest_command)

if __name__ == "__main__":
    cli()
