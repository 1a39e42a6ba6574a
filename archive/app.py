"""Composition root for the web service: create_app(settings) builds everything from one Settings object."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from signing import SigningError
from storage import StorageError

from . import web
from .api import documents, health, orgs, people, retention, signing
from .context import Archive, build_archive
from .errors import ArchiveError
from .settings import Settings

API = "/api/v1"


def create_app(settings: Settings | None = None, *, archive: Archive | None = None) -> FastAPI:
    settings = settings or Settings()
    archive = archive or build_archive(settings, migrate=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from retention.scheduler import start_scheduler

        scheduler = start_scheduler(archive) if archive.settings.scheduler_enabled else None
        yield
        if scheduler is not None:
            scheduler.shutdown()
        archive.close()

    app = FastAPI(
        title="hoso — Kho hồ sơ số",
        description="Lưu trữ và ký số hồ sơ nhà trường / School records archive and digital signatures",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.archive = archive
    mount_dev_pki(app, archive)
    install_error_handlers(app)
    app.include_router(health.router, prefix=API)
    app.include_router(documents.router, prefix=API)
    app.include_router(orgs.router, prefix=API)
    app.include_router(people.router, prefix=API)
    app.include_router(retention.router, prefix=API)
    app.include_router(signing.router, prefix=API)
    web.install(app)  # HTML pages outside /api/v1 + /static (archive/web)
    return app


def mount_dev_pki(app: FastAPI, archive: Archive) -> None:
    """On the embedded defaults hoso serves its own test PKI (TSA, OCSP, CRLs) at /dev-pki."""
    from a2wsgi import WSGIMiddleware

    import signing

    from .signatures import setup_of

    setup = setup_of(archive)
    if setup.dev_pki is not None:
        wsgi = signing.dev_pki_wsgi_app(setup.dev_pki.directory, setup.dev_pki.base_url)
        app.mount("/dev-pki", WSGIMiddleware(wsgi))  # type: ignore[arg-type]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(SigningError)
    async def signing_failed(request: Request, exc: SigningError) -> JSONResponse:
        from .signatures import signing_error

        err = signing_error(exc)
        return JSONResponse(err.to_dict(), status_code=err.status)

    @app.exception_handler(StorageError)
    async def storage_error(request: Request, exc: StorageError) -> JSONResponse:
        err = ArchiveError(
            "Kho lưu trữ tạm thời không sẵn sàng",
            f"Storage unavailable: {exc}",
            code="storage_unavailable",
            status=503,
        )
        return JSONResponse(err.to_dict(), status_code=503)

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
