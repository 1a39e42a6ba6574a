"""The body limits bound only the request body: once it is in, waiting on the connection (a streaming download
listening for the client to leave) is never cut off by the idle timeout."""

from __future__ import annotations

import asyncio
from typing import Any

from hoso.http_limits import BodyLimits

SCOPE = {"type": "http", "method": "POST", "path": "/x", "headers": []}


def _run(app: Any, messages: list[tuple[float, dict[str, Any]]], idle: float = 0.05) -> list[dict[str, Any]]:
    """Run `app` behind the limits; the client sends `messages`, each after its delay. Returns what was sent."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        delay, message = messages.pop(0)
        await asyncio.sleep(delay)
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    limits = BodyLimits(app, limit_for=lambda scope: 1000, idle_timeout=idle, min_rate=0, grace=0)
    asyncio.run(limits(SCOPE, receive, send))
    return sent


def test_waiting_after_the_body_is_not_cut_by_the_idle_timeout():
    got: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["body"] == b"ok"
        got.append((await receive())["type"])  # as StreamingResponse.listen_for_disconnect does

    sent = _run(
        app,
        [
            (0, {"type": "http.request", "body": b"ok", "more_body": False}),
            (0.3, {"type": "http.disconnect"}),
        ],
    )
    assert got == ["http.disconnect"] and sent == []


def test_a_stalled_body_still_times_out():
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await receive()

    sent = _run(
        app,
        [
            (0, {"type": "http.request", "body": b"a", "more_body": True}),
            (0.3, {"type": "http.request", "body": b"b"}),
        ],
    )
    assert sent[0]["status"] == 408
