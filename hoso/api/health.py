"""Health: is the catalog reachable, is every replica store reachable. Public (load balancers ask it), so an anonymous
caller learns only ok / unreachable per numbered copy; store addresses and error details are for the system
administrator (bearer token or web session)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from archive.accounts import authenticate_api_token
from archive.context import Archive
from archive.errors import AuthError
from archive.sessions import SESSION_COOKIE, authenticate_session
from hoso.api.deps import ArchiveDep
from hoso.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Database and every replica store reachable (details for the system administrator)",
    responses={503: {"model": HealthOut, "description": "The database or a replica store is not reachable"}},
)
def health(request: Request, response: Response, archive: ArchiveDep) -> HealthOut:
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        database = f"unreachable: {type(exc).__name__}"
    replicas = archive.replicas.ping_all()
    healthy = database == "ok" and all(v == "ok" for v in replicas.values())
    if not _is_system_admin(request, archive):
        database = database.split(":")[0]
        replicas = {f"copy{i}": v.split(":")[0] for i, v in enumerate(replicas.values(), start=1)}
    response.status_code = 200 if healthy else 503
    return HealthOut(status="ok" if healthy else "degraded", database=database, replicas=replicas)


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
