"""Running pyHanko's coroutines from synchronous callers, whether or not an event loop is already running."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def quiet_pyhanko_logs() -> None:
    # pyHanko logs full tracebacks for problems we already turn into report entries or SigningError.
    for name in ("pyhanko", "pyhanko_certvalidator", "pyhanko.sign.validation", "pyhanko.pdf_utils"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` that also works when called from inside a running loop (FastAPI handlers)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
