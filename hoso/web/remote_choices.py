"""What the signing pages (the inbox, a record's signing page) offer for remote signing: the person's linked
remote-signing accounts, and whether the server has any provider at all (else nothing is shown)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from archive import remote_signing
from archive.models import User
from hoso.web.common import archive_of


def remote_context(request: Request, session: Session, me: User) -> dict[str, Any]:
    settings = archive_of(request).settings
    return {
        "remote_accounts": [{"id": a.id, "label": a.label} for a in remote_signing.accounts_of(session, me)],
        "remote_enabled": bool(settings.remote_signing_providers),
    }
