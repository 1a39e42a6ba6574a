"""Alerts for people: always logged; also e-mailed when SMTP and recipients are configured.

An alert that cannot be e-mailed must never stop the job that raised it (the damage is still in the catalog, the
event chain and the log), so sending failures are returned and logged, not raised.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from archive.settings import Settings

log = logging.getLogger("hoso.alerts")


@dataclass(frozen=True)
class AlertResult:
    subject: str
    logged: bool
    emailed_to: tuple[str, ...]
    error: str | None = None


def recipients(settings: Settings) -> tuple[str, ...]:
    emails = settings.alert_emails
    return tuple(emails) if isinstance(emails, list) else ()


def send_alert(settings: Settings, subject: str, body: str) -> AlertResult:
    log.error("ALERT: %s\n%s", subject, body)
    to = recipients(settings)
    if not settings.smtp_host or not to:
        return AlertResult(subject, True, ())
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
        log.error("could not e-mail alert %r to %s: %s", subject, ", ".join(to), exc)
        return AlertResult(subject, True, (), f"{type(exc).__name__}: {exc}")
    return AlertResult(subject, True, to)
