"""All scheduled jobs are registered here, in one place (see register_jobs)."""

from __future__ import annotations

from typing import Any


def start_scheduler(archive: Any) -> Any:
    """Start the background scheduler for `hoso serve`; returns an object with .shutdown(), or None."""
    return None
