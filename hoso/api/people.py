"""HTTP routes for people (registered in hoso/app.py): login/logout and /me, people and tokens, signing certificates,
the roster of classes and teachers, locks, audit."""

from __future__ import annotations

from fastapi import APIRouter

from hoso.api import audit_routes, auth_routes, certificates_routes, locks_routes, roster_routes, users_routes

router = APIRouter(tags=["people"])
for sub in (auth_routes, users_routes, certificates_routes, roster_routes, locks_routes, audit_routes):
    router.include_router(sub.router)
