from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ..context import Archive
from .deps import get_archive

router = APIRouter(tags=["health"])


@router.get("/health", summary="Database and every replica store reachable")
def health(archive: Archive = Depends(get_archive)) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["replicas"] = archive.replicas.ping_all()
    healthy = checks["database"] == "ok" and all(v == "ok" for v in checks["replicas"].values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)
