"""HTTP routes for signing (registered in archive/app.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["signing"])
