"""Helpers of the remote-signing tests (their fixtures are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from archive.context import Archive
from archive.ingest import ingest_file
from archive.models import User
from tests.factories import make_pdf

YEAR = "2024-2025"
PROVIDER = "smartca-thu"


def user_of(a: Archive, username: str) -> User:
    with a.sessions() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        s.expunge(user)
        return user


def upload(a: Archive, tmp_path: Path, title: str) -> str:
    path = make_pdf(tmp_path / f"{title}.pdf", pages=1, extra=title.encode())
    return ingest_file(
        a, path, filename=path.name, school="T01", type_code="so-theo-doi-danh-gia-lop", year=YEAR,
        class_name="10A1", title=title, actor=user_of(a, "vt"),
    ).document.id  # fmt: skip
