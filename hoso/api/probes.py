"""Probes for load balancers and orchestrators, and the Prometheus scrape, outside /api/v1.

- `/livez`: the process answers (no database, no store): restart it when this fails.
- `/readyz`: the catalog and every replica store answer: send it traffic only then (503 otherwise). Anonymous, so
  like /api/v1/health it says only ok / unreachable per numbered copy.
- `/metrics`: Prometheus text format, for a system administrator's credential (401 without one, 403 for anyone
  else): a token of an account kept for monitoring, in Prometheus' `authorization.credentials_file`; the figures say
  how much a province holds and where it is weak.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archive.errors import PermissionDenied
from hoso.api.deps import ArchiveDep, GuardDep
from hoso.api.health import readiness
from hoso.metrics import CONTENT_TYPE, Metrics

router = APIRouter(tags=["health"])


@router.get("/livez", summary="The process answers")
def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The catalog and every replica store answer (503 when not)",
    responses={503: {"description": "The database or a replica store is not reachable"}},
)
def readyz(archive: ArchiveDep) -> JSONResponse:
    ready, database, replicas = readiness(archive)
    body = {
        "status": "ok" if ready else "not ready",
        "database": database.split(":")[0],
        "replicas": {f"copy{i}": v.split(":")[0] for i, v in enumerate(replicas.values(), start=1)},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (system administrator)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
def metrics(request: Request, guard: GuardDep) -> Response:
    if not guard.user.is_system_admin:
        raise PermissionDenied(
            "Chỉ quản trị hệ thống (hoặc tài khoản giám sát của họ) được xem số liệu giám sát",
            "metrics are for a system administrator's credential (e.g. the monitoring account's token)",
            code="metrics_forbidden",
        )
    collected: Metrics = request.app.state.metrics
    return Response(collected.render(), media_type=CONTENT_TYPE)
