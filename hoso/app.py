"""Composition root for the web service: create_app(settings) builds everything from one Settings object."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive.context import Archive
from archive.errors import ArchiveError
from archive.settings import Settings
from archive.signatures import signing_error
from archive.signing_setup import uses_dev_pki
from hoso import http_headers, http_limits, web
from hoso.api import (
    batch_routes,
    chains_routes,
    corrections_routes,
    documents,
    health,
    inspection,
    orgs,
    overview_routes,
    people,
    probes,
    record_changes_routes,
    remote_signing_routes,
    retention,
    signing,
)
from hoso.api import search as content_search
from hoso.bootstrap import build_archive, scheduler_for
from hoso.metrics import Metrics
from hoso.observability import RequestContext, configure_logging
from hoso.redact import redact
from signing import SigningError, dev_pki_wsgi_app
from storage import StorageError

API = "/api/v1"
# the routes that receive files of up to HOSO_MAX_UPLOAD_BYTES; every other body is held to HOSO_MAX_REQUEST_BYTES
UPLOAD_PATHS = (
    f"{API}/documents",
    f"{API}/batch/zip",
    f"{API}/batch/zip/preview",
    "/tai-len",
    "/tai-len-nhieu",
    f"{API}/documents/*/versions",
    "/chuyen-truong/nhan",
    "/ho-so/*/thay-tep",
    f"{API}/documents/*/corrections",  # evidence files
    f"{API}/corrections/*/version",
    "/ho-so/*/de-nghi-chinh-sua",
    "/chinh-sua/*/phien-ban",
)


def create_app(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    settings = settings or Settings()
    archive = archive or build_archive(settings, migrate=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = scheduler_for(archive)
        yield
        if scheduler is not None:
            scheduler.shutdown()
        archive.close()

    app = FastAPI(
        title="hoso — Kho hồ sơ số",
        description="Lưu trữ và ký số hồ sơ nhà trường / School records archive and digital signatures",
        version="0.1.0",
        lifespan=lifespan,
        # the stock pages load their scripts from a CDN: /docs is served below from local assets, ReDoc not at all
        docs_url=None,
        redoc_url=None,
    )
    app.state.archive = archive
    install_docs(app, production=settings.environment == "production")
    http_limits.install(app, archive.settings, UPLOAD_PATHS)
    app.add_middleware(http_headers.SecurityHeaders)
    app.state.metrics = Metrics(archive)
    app.add_middleware(RequestContext, metrics=app.state.metrics)  # outermost: ids and counts every answer
    mount_dev_pki(app, archive)
    install_error_handlers(app)
    app.include_router(health.router, prefix=API)
    app.include_router(probes.router)  # /livez, /readyz, /metrics
    app.include_router(documents.router, prefix=API)
    app.include_router(batch_routes.router, prefix=API)
    app.include_router(record_changes_routes.router, prefix=API)
    app.include_router(overview_routes.router, prefix=API)
    app.include_router(orgs.router, prefix=API)
    app.include_router(people.router, prefix=API)
    app.include_router(retention.router, prefix=API)
    app.include_router(chains_routes.router, prefix=API)  # before signing: /signing-sessions/batch
    app.include_router(signing.router, prefix=API)
    app.include_router(remote_signing_routes.router, prefix=API)
    app.include_router(inspection.router, prefix=API)
    app.include_router(content_search.router, prefix=API)
    app.include_router(corrections_routes.router, prefix=API)
    web.install(app)  # HTML pages outside /api/v1 + /static (hoso/web)
    return app


def serving_app() -> FastAPI:
    """The app of one `hoso serve --workers N` process: settings from the environment (the parent put the base URL
    there), the catalog already migrated by the parent."""
    settings = Settings()
    configure_logging(settings.log_format)
    return settled(create_app(settings, archive=build_archive(settings, migrate=False)))


def settled(app: FastAPI) -> FastAPI:
    """The server process's heap as built so far (modules, app, routes, templates: 233 000 objects) left out of
    Python's full collections. They never become garbage, and each full collection scanned them all: 130-140 ms during
    which no request of the process moved (bench_province's searches had single samples of 150-240 ms, gone with the
    collector off). Only for a server process: a test process building many apps would keep each one's cycles."""
    gc.collect()
    gc.freeze()
    return app


def install_docs(app: FastAPI, *, production: bool) -> None:
    """Interactive API docs from the swagger-ui-bundle package's files (no CDN); off in production, where the
    OpenAPI document at /openapi.json is what client generators use."""
    if production:
        return
    try:
        import swagger_ui_bundle
    except ImportError:  # docs are a convenience: without the assets there is simply no /docs page
        return
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="hoso — API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )


def mount_dev_pki(app: FastAPI, archive: Archive) -> None:
    """On the embedded defaults hoso serves its own test PKI (TSA, OCSP, CRLs) at /dev-pki.

    The PKI is made, and its keys loaded, on the first request for it or the first signature, not when the app
    starts: that is two seconds of RSA work most starts (and most tests) never need."""
    from a2wsgi import WSGIMiddleware

    signing = archive.signing
    if signing is None or not uses_dev_pki(archive.settings):
        return
    lock = threading.Lock()
    served: list[Any] = []

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        with lock:
            if not served:
                dev = signing.setup.dev_pki
                assert dev is not None  # signing_setup makes it whenever uses_dev_pki
                served.append(dev_pki_wsgi_app(dev.directory, dev.base_url))
        return served[0](environ, start_response)

    app.mount("/dev-pki", WSGIMiddleware(wsgi))  # type: ignore[arg-type]


def install_error_handlers(app: FastAPI) -> None:
    def answer(request: Request, err: ArchiveError, headers: dict[str, str] | None = None) -> JSONResponse:
        body = err.to_dict()
        request.app.state.metrics.refused(err.code)
        settings = request.app.state.archive.settings
        for key in ("message", "message_vi", "message_en"):
            body[key] = redact(str(body[key]), settings)
        return JSONResponse(body, status_code=err.status, headers=headers)

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> JSONResponse:
        return answer(request, exc, {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)

    @app.exception_handler(SigningError)
    async def signing_failed(request: Request, exc: SigningError) -> JSONResponse:
        return answer(request, signing_error(exc))

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> JSONResponse:
        err = ArchiveError(
            "Kho lưu trữ tạm thời không sẵn sàng",
            f"Storage unavailable: {exc}",
            code="storage_unavailable",
            status=503,
        )
        return answer(request, err)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            # the location of a JSON syntax error is a character offset, not a field name: say what is wrong
            err = ArchiveError(
                "Nội dung gửi lên không phải JSON hợp lệ",
                "The request body is not valid JSON",
                code="invalid_json",
                status=422,
            )
        else:
            fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) or "?" for e in exc.errors())
            err = ArchiveError(
                f"Dữ liệu gửi lên không hợp lệ hoặc thiếu: {fields}",
                f"Invalid or missing input: {fields}",
                code="invalid_input",
                status=422,
            )
        body = err.to_dict() | {"detail": jsonable(exc.errors())}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in http_limits.BODY_ERRORS:
            body = http_limits.error_body(exc.status_code, str(exc.detail))
            return JSONResponse(body, status_code=exc.status_code, headers={"Connection": "close"})
        vi = {404: "Không tìm thấy", 405: "Phương thức không được phép", 401: "Cần đăng nhập"}.get(
            exc.status_code, "Lỗi yêu cầu"
        )
        return JSONResponse(
            {"error": f"http_{exc.status_code}", "message": f"{vi} / {exc.detail}", "message_vi": vi,
             "message_en": str(exc.detail)},
            status_code=exc.status_code,
        )  # fmt: skip


def jsonable(errors: object) -> object:
    import json

    return json.loads(json.dumps(errors, default=str))
