"""What every `hoso` command shares: the one Archive of the running command (built by hoso.bootstrap, closed when the
command ends, whichever module the command lives in)."""

from __future__ import annotations

import click

from archive.context import Archive
from archive.models import User
from archive.settings import Settings
from hoso.bootstrap import build_archive

ARCHIVE_KEY = "hoso.archive"


def command_archive(settings: Settings | None = None, *, migrate: bool = True) -> Archive:
    root = click.get_current_context().find_root()
    archive: Archive | None = root.meta.get(ARCHIVE_KEY)
    if archive is None:
        archive = build_archive(settings if settings is not None else Settings(), migrate=migrate)
        root.meta[ARCHIVE_KEY] = archive
        root.call_on_close(archive.close)
    return archive


def acting_user(archive: Archive, username: str | None) -> User:
    """The person a command acts as (`--by USERNAME`, their scope applies); without one, the system administrator."""
    from archive import accounts

    with archive.sessions() as session:
        user = accounts.get_user(session, username or "admin")
        session.expunge(user)
        return user
