"""E-mail to people (SMTP from the settings). A message that cannot be sent never stops the work that wanted to send
it: the caller gets the error back and decides (log it, try again on the next run)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .settings import Settings


def can_send(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send(settings: Settings, to: Sequence[str], subject: str, body: str) -> str | None:
    """Send a plain-text UTF-8 message; None when sent, else the reason it was not."""
    if not settings.smtp_host:
        return "no SMTP server configured"
    if not to:
        return "no recipient"
    msg = EmailMessage()
    msg["Subject"] = f"[hoso] {subject}"
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="hoso")
    msg.set_content(body)  # UTF-8: Vietnamese text survives
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
