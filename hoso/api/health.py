"""Health: is the catalog reachable, is every replica store reachable. Public (load balancers ask it), so an anonymous
caller learns only ok / unreachable per numbered copy; store addresses and error details are for the system
administrator (bearer token or web session)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from archive.accounts import authenticate_api_token
from archive.context import Archive
from archive.errors import AuthError
from archive.sessions import SESSION_COOKIE, authenticate_session
from hoso.api.deps import get_archive

router = APIRouter(tags=["health"])


@router.get(
    "/health", summary="Database and every replica store reachable (details for the system administrator)"
)
def health(request: Request, archive: Archive = Depends(get_archive)) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        database = f"unreachable: {type(exc).__name__}"
    replicas = archive.replicas.ping_all()
    healthy = database == "ok" and all(v == "ok" for v in replicas.values())
    if _is_system_admin(request, archive):
        checks = {"database": database, "replicas": replicas}
    else:
        checks = {
            "database": database.split(":")[0],
            "replicas": {f"copy{i}": v.split(":")[0] for i, v in enumerate(replicas.values(), start=1)},
        }
    body = {"status": "ok" if healthy else "degraded", **checks}
    return JSONResponse(body, status_code=200 if healthy else 503)


def _is_system_admin(request: Request, archive: Archive) -> bool:
    """Credentials are optional here: a missing, wrong or expired one just means the short answer."""
    auth = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not auth.lower().startswith("bearer ") and not cookie:
        return False
    try:
        with archive.sessions() as session:
            if auth.lower().startswith("bearer "):
                user, _ = authenticate_api_token(session, auth[7:].strip())
            else:
                user, _ = authenticate_session(session, cookie or "")
            return bool(user.is_system_admin and user.is_active)
    except AuthError:
        return False
