"""Request ids, JSON logs and per-request metrics for the web service.

Every request gets an id (the client's or proxy's `X-Request-Id` when it is a short token, else a new one), echoed in
the answer's `X-Request-Id` and carried by every log line written while the request runs, so one line in the proxy's
log, the app's log and a person's error report lead to the same request. Logs are one JSON object a line
(`HOSO_LOG_FORMAT=json`, the default of `hoso serve` and `hoso worker`) for a log collector, or text for a terminal.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from hoso.metrics import Metrics

REQUEST_ID_HEADER = "X-Request-Id"
_ACCEPTED_ID = re.compile(
    r"[A-Za-z0-9._:-]{8,64}"
)  # what a proxy's or client's id may look like; others replaced
request_id: ContextVar[str | None] = ContextVar("hoso_request_id", default=None)

access_log = logging.getLogger("hoso.access")

# the attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON object
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
_STANDARD.add("color_message")  # uvicorn's copy of the message with terminal colours


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            out["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        rid = request_id.get()
        return f"{line} [request {rid}]" if rid else line


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> None:
    """One handler on the root logger, to stderr; uvicorn's loggers propagate to it (its own access log is off: the
    middleware below writes one line per request, with the request id)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def route_of(scope: dict[str, Any]) -> str:
    """The route's template (`/api/v1/documents/{doc_id}`), never the raw path, so metric labels stay few. Built from
    the path and its parameters: the route object FastAPI leaves in the scope is the router's own, without the
    prefix it was included under."""
    if scope.get("route") is None:
        return "unmatched"
    template = str(scope.get("path", ""))
    for name, value in (scope.get("path_params") or {}).items():
        text = str(value)
        if text:
            head, sep, tail = template.rpartition("/" + text)
            if sep and (tail == "" or tail.startswith("/")):
                template = f"{head}/{{{name}}}{tail}"
    return template


class RequestContext:
    """Pure ASGI middleware (a streaming download is not buffered): request id, access log line, metrics."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _ACCEPTED_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        start = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers") or [])
                headers.append((REQUEST_ID_HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        received = 0

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        try:
            await self.app(scope, counting_receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds, received)
            access_log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                },
            )
            request_id.reset(token)
