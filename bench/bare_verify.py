"""The ceiling of a verified download on this machine, for bench_downloads: an ASGI app with nothing but what every
download must do whatever the code around it, hashing the copy against its digest and then answering
X-Accel-Redirect, served by the same uvicorn as `hoso serve`. No token, no catalog, no permission, no audit event: the
distance between this and nginx is what verifying every read costs here, and the distance between hoso and this is
hoso's own work.

Reads BENCH_BARE_FILE (the copy), BENCH_BARE_SHA256 (its digest) and BENCH_BARE_TARGET (the internal URI) once.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

FILE = os.environ.get("BENCH_BARE_FILE", "")
SHA256 = os.environ.get("BENCH_BARE_SHA256", "")
TARGET = os.environ.get("BENCH_BARE_TARGET", "").encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return  # lifespan: nothing to start
    with open(FILE, "rb") as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    if digest != SHA256:
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"damaged copy"})
        return
    headers = [
        (b"x-accel-redirect", TARGET),
        (b"content-type", b"application/pdf"),
        (b"x-content-sha256", digest.encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
