"""Request dependencies: the Archive built by the composition root, and the authenticated user."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..accounts import authenticate_token
from ..context import Archive
from ..errors import AuthError
from ..models import User

bearer = HTTPBearer(auto_error=False, description="API token from `hoso token create`")


def get_archive(request: Request) -> Archive:
    archive: Archive = request.app.state.archive
    return archive


def get_session(archive: Archive = Depends(get_archive)) -> Iterator[Session]:
    with archive.sessions() as session:
        yield session


def current_user(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    archive: Archive = Depends(get_archive),
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("Cần đăng nhập (mã truy cập Bearer)", "Authentication required (Bearer token)")
    with archive.sessions() as session, session.begin():
        user = authenticate_token(session, credentials.credentials)
        session.expunge(user)
    request.state.user = user
    return user
