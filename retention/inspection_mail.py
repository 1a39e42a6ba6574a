"""An inspection package delivered by e-mail, as attachments (Công văn 1370: never links).

Mail servers cap a message's size, so the package's ZIP is cut into consecutive byte ranges, one numbered message
each (`goi-kiem-tra-xxxxxxxx.zip.001`, `.002` …), every whole message — headers, text and the base64 attachment —
no larger than `HOSO_INSPECTION_MAIL_MAX_BYTES`. Joined in order (`copy /b a.001+a.002 goi.zip` on Windows, `cat` on
Linux) the parts are exactly the bytes a download gives; the ZIP and its SHA256SUMS then check themselves. One part
is built at a time from the ZIP's byte ranges, so memory is bounded by the part size, not the package's.

Each message sent is an `inspection.email` event (part, size, recipient); a failure stops the delivery and is
recorded too, so it is clear which parts reached the server.
"""

from __future__ import annotations

import hashlib
import math
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from archive.context import Archive
from archive.errors import ArchiveError, InvalidInput
from archive.events import record_event
from archive.models import User

from .inspection import package_layout
from .inspection_report import vn_time

ENVELOPE = 16_384  # headers and the explanatory text, generously
BASE64_LINE = 76


class MailUnavailable(ArchiveError):
    status = 503
    code = "mail_unavailable"


@dataclass(frozen=True)
class Delivery:
    package_id: str
    to: str
    parts: int
    part_size: int
    zip_size: int
    message_sizes: tuple[int, ...]


def part_size_for(max_message_bytes: int) -> int:
    """The largest raw slice whose base64 form (76-character lines + CRLF) plus the envelope fits the limit."""
    room = max_message_bytes - ENVELOPE
    lines = room // (BASE64_LINE + 2)
    return max(3, lines * BASE64_LINE // 4 * 3)


def _message(
    sender: str,
    to: str,
    package_id: str,
    filename: str,
    n: int,
    total: int,
    data: bytes,
    zip_size: int,
    when: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[hoso] Gói hồ sơ kiểm tra {package_id[:8]} — phần {n}/{total}"
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="hoso")
    msg["X-Hoso-Package"] = package_id
    msg["X-Hoso-Part"] = f"{n}/{total}"
    name = filename if total == 1 else f"{filename}.{n:03d}"
    join = (
        ""
        if total == 1
        else (
            f"Gói được chia thành {total} phần. Lưu đủ {total} tệp đính kèm vào một thư mục rồi ghép theo thứ tự:\n"
            f"  Windows:  copy /b {filename}.001+{filename}.002+... {filename}\n"
            f"  Linux/macOS:  cat {filename}.0* > {filename}\n"
            f"The package comes in {total} parts: join the attachments in order to get {filename}.\n\n"
        )
    )
    msg.set_content(
        f"Gói hồ sơ phục vụ thanh tra, kiểm tra (mã {package_id}), lập lúc {when}.\n"
        f"Phần {n}/{total}: {name}, {len(data)} byte (SHA-256 {hashlib.sha256(data).hexdigest()}).\n"
        f"Gói hoàn chỉnh: {filename}, {zip_size} byte.\n\n"
        + join
        + "Trong gói có SHA256SUMS và báo cáo kiểm tra bao-cao-kiem-tra.pdf được ký số bằng chữ ký của hệ thống.\n"
        "Inspection package as attachments; SHA256SUMS and the sealed evidence report are inside.\n"
    )
    msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg


def deliver_by_email(archive: Archive, package_id: str, *, actor: User, to: str | None = None) -> Delivery:
    """Send the package to `to` (default: the person's own address) in numbered parts."""
    settings = archive.settings
    pkg, layout = package_layout(archive, package_id, actor=actor)  # who may have it comes first
    address = (to or actor.email or "").strip()
    if not address or "@" not in address or any(c in address for c in "\r\n,;<>"):
        raise InvalidInput(
            "Chưa có địa chỉ e-mail hợp lệ để gửi gói (hãy cập nhật e-mail của tài khoản)",
            "No valid e-mail address to send the package to",
            code="no_email",
        )
    if not settings.smtp_host:
        raise MailUnavailable(
            "Máy chủ chưa cấu hình gửi e-mail (HOSO_SMTP_HOST); hãy tải gói về",
            "No SMTP server is configured",
        )
    size = part_size_for(settings.inspection_mail_max_bytes)
    total = max(1, math.ceil(layout.size / size))
    when = vn_time(pkg.created_at.isoformat())
    sent: list[int] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=60) as smtp:
            for n in range(1, total + 1):
                start = (n - 1) * size
                data = b"".join(layout.stream(start, min(layout.size, start + size) - 1))
                msg = _message(
                    settings.smtp_from, address, package_id, pkg.filename, n, total, data, layout.size, when
                )
                raw = msg.as_bytes()
                if (
                    len(raw) > settings.inspection_mail_max_bytes
                ):  # the arithmetic above is meant to make this impossible
                    raise RuntimeError(f"part {n} is {len(raw)} bytes, over the limit")
                smtp.send_message(msg)
                sent.append(len(raw))
                _record(archive, actor, package_id, address, n, total, len(data), len(raw), "ok")
    except (OSError, smtplib.SMTPException) as exc:
        _record(archive, actor, package_id, address, len(sent) + 1, total, 0, 0, "error", str(exc)[:300])
        raise MailUnavailable(
            f"Gửi e-mail thất bại sau {len(sent)}/{total} phần; hãy thử lại hoặc tải gói về",
            f"Sending failed after {len(sent)} of {total} parts: {exc}",
        ) from None
    return Delivery(package_id, address, total, size, layout.size, tuple(sent))


def _record(
    archive: Archive,
    actor: User,
    package_id: str,
    to: str,
    n: int,
    total: int,
    size: int,
    message_size: int,
    outcome: str,
    error: str | None = None,
) -> None:
    with archive.sessions() as session, session.begin():
        record_event(
            session,
            "inspection.email",
            actor=session.get(User, actor.id),
            outcome=outcome,
            detail={"package": package_id, "to": to, "part": n, "parts": total, "bytes": size}
            | {"message_bytes": message_size}
            | ({"error": error} if error else {}),
        )
