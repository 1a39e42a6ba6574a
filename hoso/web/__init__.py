"""Server-rendered web pages (Vietnamese first, English second) for the school office, the principal and inspectors.

Routes live outside /api/v1 and are left out of the OpenAPI schema (they answer browsers with HTML and redirects, not
API clients). `install(app)` is the single hook the composition root calls: the routers plus /static.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from hoso.web import (
    pages_account,
    pages_audit,
    pages_auth,
    pages_batch,
    pages_chains,
    pages_corrections,
    pages_documents,
    pages_inbox,
    pages_inspection,
    pages_integrity,
    pages_locks,
    pages_media,
    pages_overview,
    pages_record_changes,
    pages_remote_signing,
    pages_roster,
    pages_search,
    pages_signing,
    pages_transfer,
    pages_upload,
)

STATIC_DIR = Path(__file__).parent / "static"

PAGE_ROUTERS = (
    pages_auth.router,
    pages_documents.router,
    pages_upload.router,
    pages_batch.router,
    pages_signing.router,
    pages_inbox.router,
    pages_remote_signing.router,
    pages_chains.router,
    pages_audit.router,
    pages_account.router,
    pages_roster.router,
    pages_inspection.router,
    pages_integrity.router,
    pages_media.router,
    pages_transfer.router,
    pages_search.router,
    pages_locks.router,
    pages_record_changes.router,
    pages_corrections.router,
    pages_overview.router,
)
router = APIRouter(include_in_schema=False)
for _pages in PAGE_ROUTERS:
    router.include_router(_pages)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
