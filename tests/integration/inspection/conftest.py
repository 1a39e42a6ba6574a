"""Fixtures for the inspection tests: a catalog signing with the dev PKI, a Sở and a Phòng inspector, documents."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.context import Archive
from archive.ingest import ingest_stream
from archive.models import User
from retention.inspection import open_package
from tests.factories import add_person, dev_pki_archive, folder_replicas, pdf_bytes
from tests.processes import free_port


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return tmp_path_factory.mktemp("pki"), f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def world(tmp_path: Path, pki_dir: tuple[Path, str]) -> Iterator[Archive]:
    with dev_pki_archive(tmp_path, pki_dir, replicas=folder_replicas(tmp_path / "stores")) as a:
        add_person(a, "thanhtraso", ("inspector_so", "79"), full_name="Trần Thanh Tra", home="79")
        add_person(a, "thanhtraphong", ("inspector_phong", "79-Q1"), full_name="Lê Phòng", home="79-Q1")
        with a.sessions() as s, s.begin():
            s.scalar(select(User).where(User.username == "thanhtraso")).email = "thanhtra@so.example"  # type: ignore[union-attr]
        yield a


def user(a: Archive, name: str) -> User:
    with a.sessions() as s:
        u = s.scalar(select(User).where(User.username == name))
        assert u is not None
        s.expunge(u)
        return u


def ingest(
    a: Archive, school: str, type_code: str, title: str, class_name: str | None = None, size: int = 0
) -> str:
    data = pdf_bytes(text=title, extra=f"{school}{title}{class_name}".encode(), target_size=size)
    r = ingest_stream(
        a, io.BytesIO(data), filename=f"{title}.pdf", school=school, type_code=type_code, year="2024-2025", title=title,
        class_name=class_name,
    )  # fmt: skip
    return r.document.id


def whole(a: Archive, package_id: str, who: User) -> bytes:
    return b"".join(open_package(a, package_id, actor=who).chunks)
