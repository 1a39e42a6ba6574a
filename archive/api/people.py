"""HTTP routes for people (registered in archive/app.py)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["people"])
