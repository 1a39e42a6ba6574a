"""Request bodies are bounded before anything reads them: size (declared and streamed), idle time and rate.

A pure ASGI middleware, because by the time a route or a dependency runs, FastAPI has already read a form body into a
temporary file. The limit depends on the route: uploads may reach HOSO_MAX_UPLOAD_BYTES (plus the multipart framing),
everything else HOSO_MAX_REQUEST_BYTES. A declared Content-Length over the limit is answered 413 without reading a byte;
a streamed (chunked) body is cut off as soon as it passes the limit; a body that stalls or trickles gets 408.

The refusals are Starlette HTTPExceptions so that they pass through FastAPI's body parsing unchanged (it turns other
exceptions raised while reading into a vague 400) and reach the same handlers as every other error (JSON for the API,
a Vietnamese page for the web pages).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable, Collection
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPART_SLACK = 64 * 1024  # boundaries and the form's small fields around the file

BODY_ERRORS: dict[int, tuple[str, str, str]] = {
    413: (
        "too_large",
        "Dữ liệu gửi lên vượt quá giới hạn cho phép",
        "The request body is larger than allowed",
    ),
    408: (
        "body_timeout",
        "Dữ liệu gửi lên quá chậm hoặc bị ngắt quãng; hãy thử lại với kết nối ổn định hơn",
        "The request body arrived too slowly or stalled; try again on a steadier connection",
    ),
}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than allowed ({limit} bytes)")
        self.limit = limit


class BodyTimeout(HTTPException):
    def __init__(self, why: str) -> None:
        super().__init__(408, why)


class BodyLimits:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[Scope], int],
        idle_timeout: float,
        min_rate: int,
        grace: float,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self.idle_timeout = idle_timeout
        self.min_rate = min_rate
        self.grace = grace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, BodyTooLarge(limit))
            return
        received = 0
        started = time.monotonic()
        body_done = False

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # the body is in: what follows is a wait for the client to go away (a streaming download listens
                # for it for as long as the download lasts), which no body limit may cut short
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout)
            except TimeoutError:
                raise BodyTimeout(f"no data for {self.idle_timeout:g} s") from None
            if message["type"] != "http.request":
                return message
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
            if not message.get("more_body"):
                body_done = True
                return message
            elapsed = time.monotonic() - started
            if elapsed > self.grace and received < self.min_rate * elapsed:
                raise BodyTimeout(f"{received} bytes in {elapsed:.0f} s is below {self.min_rate} bytes/s")
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except (BodyTooLarge, BodyTimeout) as exc:
            # raised where nothing turned it into a response (a streaming endpoint): answer if we still can
            if response_started:
                raise
            await _refuse(send, exc)


def error_body(status: int, detail: str) -> dict[str, str]:
    code, vi, en = BODY_ERRORS[status]
    return {
        "error": code,
        "message": f"{vi} / {en} ({detail})",
        "message_vi": vi,
        "message_en": f"{en} ({detail})",
    }


async def _refuse(send: Send, exc: HTTPException) -> None:
    body = json.dumps(error_body(exc.status_code, str(exc.detail)), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            # the rest of the body is never read: the connection cannot be reused
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def route_limits(upload_paths: Collection[str], *, upload: int, other: int) -> Callable[[Scope], int]:
    """The body limit of a request: uploads (POST to one of `upload_paths`, where "*" stands for one path segment such
    as a document id) get `upload` + multipart framing."""
    exact = {p for p in upload_paths if "*" not in p}
    patterns = [
        re.compile("^" + re.escape(p).replace(r"\*", "[^/]+") + "$") for p in upload_paths if "*" in p
    ]

    def limit_for(scope: Scope) -> int:
        path = scope.get("path", "")
        if scope.get("method") == "POST" and (path in exact or any(p.match(path) for p in patterns)):
            return upload + MULTIPART_SLACK
        return other

    return limit_for


def install(app: Any, settings: Any, upload_paths: Collection[str]) -> None:
    app.add_middleware(
        BodyLimits,
        limit_for=route_limits(
            upload_paths, upload=settings.max_upload_bytes, other=settings.max_request_bytes
        ),
        idle_timeout=settings.body_idle_timeout_seconds,
        min_rate=settings.body_min_rate_bytes,
        grace=settings.body_rate_grace_seconds,
    )
