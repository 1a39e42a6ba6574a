"""Alerts for people: always logged; also e-mailed when SMTP and recipients are configured.

An alert that cannot be e-mailed must never stop the job that raised it (the damage is still in the catalog, the
event chain and the log), so sending failures are returned and logged, not raised.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from archive import mail
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
    error = mail.send(settings, to, subject, body)
    if error is not None:
        log.error("could not e-mail alert %r to %s: %s", subject, ", ".join(to), error)
        return AlertResult(subject, True, (), error)
    return AlertResult(subject, True, to)
