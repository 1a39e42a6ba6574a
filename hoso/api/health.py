"""Health: is the catalog reachable, is every replica store reachable. Public (load balancers ask it), so an anonymous
caller learns only ok / unreachable per numbered copy; store addresses and error details are for the system
administrator (bearer token or web session)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy import text

from archive.context import Archive
from archive.errors import ArchiveError
from archive.sessions import SESSION_COOKIE
from hoso.api.deps import ArchiveDep, authenticate_request, client_ip
from hoso.api.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    summary="Database and every replica store reachable (details for the system administrator)",
    responses={503: {"model": HealthOut, "description": "The database or a replica store is not reachable"}},
)
def health(request: Request, response: Response, archive: ArchiveDep) -> HealthOut:
    healthy, database, replicas = readiness(archive)
    if not is_system_admin(request, archive):
        database = database.split(":")[0]
        replicas = {f"copy{i}": v.split(":")[0] for i, v in enumerate(replicas.values(), start=1)}
    response.status_code = 200 if healthy else 503
    return HealthOut(status="ok" if healthy else "degraded", database=database, replicas=replicas)


def readiness(archive: Archive) -> tuple[bool, str, dict[str, str]]:
    """(ready, database state, each store's state): the catalog answers a query and every replica store answers.
    The one check behind /api/v1/health and /readyz."""
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # any driver error means "not reachable"
        database = f"unreachable: {type(exc).__name__}"
    replicas = archive.replicas.ping_all()
    return database == "ok" and all(v == "ok" for v in replicas.values()), database, replicas


def is_system_admin(request: Request, archive: Archive) -> bool:
    """Credentials are optional here: none, or a wrong or expired one (recorded like any refused credential), just
    means the short answer. The same authentication as every other route (deps.authenticate_request)."""
    auth = request.headers.get("authorization", "")
    bearer = (
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=auth[7:].strip())
        if auth.lower().startswith("bearer ")
        else None
    )
    cookie = request.cookies.get(SESSION_COOKIE)
    if bearer is None and not cookie:
        return False
    try:
        user, _, _ = authenticate_request(request, archive, bearer, cookie, client_ip(request))
    except ArchiveError:
        return False
    return bool(user.is_system_admin)
