"""The one place tests build what they work on: settings and migrated archives, organisations, people with roles and
passwords, tokens, sample PDFs, and the environments `hoso` child processes and live servers run in. Fixtures in the
conftest files are thin wrappers over these; a variation a test needs is a keyword argument here, not a new copy."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from archive import accounts, orgs
from archive.context import Archive
from archive.models import User
from archive.settings import Settings
from archive.signatures import setup_of
from archive.signing_setup import dev_pki_served
from hoso.bootstrap import build_archive
from signing import ensure_dev_pki
from tests.processes import LiveServer, free_port, run_cli, start_server

PASSWORD = "mật-khẩu-đủ-dài-2025"


# settings ------------------------------------------------------------------------------------------------
def memory_replicas(n: int = 3) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"memory://{tag}-{i}" for i in range(n)]


def folder_replicas(base: Path, n: int = 3) -> list[str]:
    return [f"file://{base / f'copy{i + 1}'}" for i in range(n)]


@cache
def _dev_pki_keys() -> Path:
    """The dev PKI's RSA keys, made once for the test session: each test's PKI keeps them and makes only its
    certificates (which name the test's own base URL)."""
    folder = Path(tempfile.mkdtemp(prefix="hoso-test-dev-pki-"))
    atexit.register(shutil.rmtree, folder, True)
    ensure_dev_pki(folder, "http://127.0.0.1:9")
    return folder / "keys"


def _with_dev_pki_keys(data_dir: Path) -> None:
    dev_pki = data_dir / "dev-pki"
    if not dev_pki.exists() and not dev_pki.is_symlink():
        shutil.copytree(_dev_pki_keys(), dev_pki / "keys")


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "var",
        "replicas": memory_replicas(),
        "scheduler_enabled": False,
        # the dev PKI is served at the base URL when signing: a port of this test's own, never a shared 8000
        "base_url": f"http://127.0.0.1:{free_port()}",
        # the suite compares stored files with the PDFs it uploaded; tests/integration/test_pdfa_normalise.py and
        # the tests that ask for it turn the PDF/A normalisation (on by default) back on
        "pdfa_normalise": False,
    }
    values.update(overrides)
    _with_dev_pki_keys(Path(values["data_dir"]))  # type: ignore[arg-type]
    return Settings(**values)  # type: ignore[arg-type]


# organisations --------------------------------------------------------------------------------------------------
# code, name, kind, level, parent
ORGS = [
    ("79", "Sở GDĐT Thành phố Thử", "so", None, None),
    ("79-Q1", "Phòng GDĐT Quận Một", "phong", None, "79"),
    ("T01", "Trường THPT Nguyễn Thị Minh Khai", "truong", "THPT", "79"),
    ("C01", "Trường THCS Lê Quý Đôn", "truong", "THCS", "79-Q1"),
]

# a province with districts and schools of every level, and a second province; it holds every organisation of ORGS
WORLD_ORGS = [
    ("79", "Sở GDĐT Thành phố Thử", "so", None, None),
    ("80", "Sở GDĐT Tỉnh Bên Cạnh", "so", None, None),
    ("79-Q1", "Phòng GDĐT Quận Một", "phong", None, "79"),
    ("79-Q2", "Phòng GDĐT Quận Hai", "phong", None, "79"),
    ("80-H1", "Phòng GDĐT Huyện Một", "phong", None, "80"),
    ("T01", "Trường THPT Nguyễn Thị Minh Khai", "truong", "THPT", "79"),
    ("X01", "Trường Phổ thông nhiều cấp Thử", "truong", "multi", "79"),
    ("C01", "Trường THCS Lê Quý Đôn", "truong", "THCS", "79-Q1"),
    ("G01", "Trung tâm GDTX Quận Một", "truong", "GDTX", "79-Q1"),
    ("M01", "Trường THCS-THPT Quận Một", "truong", "THCS,THPT", "79-Q1"),
    ("C02", "Trường THCS Quận Hai", "truong", "THCS", "79-Q2"),
    ("T80", "Trường THPT Tỉnh Bên Cạnh", "truong", "THPT", "80"),
    ("C80", "Trường THCS Huyện Một", "truong", "THCS", "80-H1"),
]

# username -> (role, organisation); every school role is held at C01, which is also each person's home
PEOPLE = {
    "quantri": ("school_admin", "C01"),
    "vanthu": ("van_thu", "C01"),
    "hieutruong": ("hieu_truong", "C01"),
    "phohieutruong": ("pho_hieu_truong", "C01"),
    "totruong": ("to_truong", "C01"),
    "gvcn": ("gvcn", "C01"),
    "gvbm": ("gvbm", "C01"),
    "thanhtraphong": ("inspector_phong", "79-Q1"),
    "thanhtraso": ("inspector_so", "79"),
}

Org = tuple[str, str, str, str | None, str | None]


def add_orgs(s: Session, rows: Iterable[Org]) -> None:
    for code, name, kind, level, parent in rows:
        orgs.add_organisation(s, code=code, name=name, kind=kind, level=level, parent_code=parent)


def seed_orgs(archive: Archive) -> None:
    """A Sở, a Phòng under it, a THPT school under the Sở and a THCS school under the Phòng."""
    with archive.sessions() as s, s.begin():
        add_orgs(s, ORGS)


def seed_world(archive: Archive, *, passwords: bool = False) -> None:
    """WORLD_ORGS and one person per role (PEOPLE); with `passwords`, everyone, admin too, signs in with PASSWORD."""
    with archive.sessions() as s, s.begin():
        add_orgs(s, WORLD_ORGS)
        for username, (role, org) in PEOPLE.items():
            add_person(
                s,
                username,
                (role, org),
                home=org,
                full_name=username,
                password=PASSWORD if passwords else None,
            )
        accounts.get_user(s, "admin").password_hash = password_hash(PASSWORD) if passwords else None


def seed_world_with_passwords(archive: Archive) -> None:
    seed_world(archive, passwords=True)


# archives -------------------------------------------------------------------------------------------------------
def make_archive(
    tmp_path: Path, *, seed: Callable[[Archive], None] | None = seed_orgs, **overrides: object
) -> Archive:
    """A migrated catalog with `make_settings(tmp_path, **overrides)`, seeded by `seed` (`seed_orgs`, `seed_world`,
    `seed_world_with_passwords`, or None for the system administrator alone). The caller closes it."""
    a = build_archive(make_settings(tmp_path, **overrides), migrate=True)
    if seed is not None:
        seed(a)
    return a


@contextmanager
def dev_pki_archive(tmp_path: Path, pki: tuple[Path, str], **overrides: object) -> Iterator[Archive]:
    """An archive signing with the dev PKI in `pki` (a folder shared by the test module, since generating its keys is
    the slow part, and the base URL it is served at), serving it while the context lasts; `overrides` are
    make_settings'."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "dev-pki").symlink_to(pki[0])
    a = make_archive(tmp_path, base_url=pki[1], **overrides)
    try:
        with dev_pki_served(setup_of(a)):
            yield a
    finally:
        a.close()


# people ---------------------------------------------------------------------------------------------------------
@cache
def password_hash(password: str) -> str:
    # one argon2 run (~0.2 s) per password for the whole session, not one per person
    return accounts.hash_password(password)


def add_person(
    where: Archive | Session,
    username: str,
    *roles: tuple[str, str],
    home: str | None = None,
    full_name: str = "",
    password: str | None = None,
    system_admin: bool = False,
) -> User:
    """An account holding each (role, organisation code) of `roles`, its home organisation `home` if given. An Archive
    gets its own transaction (the User returned is then detached); a Session is used as it is (the caller commits)."""
    if isinstance(where, Archive):
        with where.sessions() as s, s.begin():
            return add_person(
                s,
                username,
                *roles,
                home=home,
                full_name=full_name,
                password=password,
                system_admin=system_admin,
            )
    s = where
    user = accounts.create_user(
        s,
        username=username,
        full_name=full_name,
        organisation_id=orgs.get_organisation(s, home).id if home else None,
        system_admin=system_admin,
    )
    if password is not None:
        user.password_hash = password_hash(password)
    for role, org in roles:
        accounts.grant_role(s, user, role, orgs.get_organisation(s, org))
    return user


def add_server_user(
    live: LiveServer, username: str, password: str, full_name: str, *roles: tuple[str, str]
) -> None:
    """`hoso user create` + `hoso user grant` on a live server, as an operator would do it."""
    env = live.env | {"HOSO_WEB_TEST_PASSWORD": password}
    run_cli(
        "user", "create", username, "--full-name", full_name, "--password-env", "HOSO_WEB_TEST_PASSWORD",
        env=env,
    )  # fmt: skip
    for role, org in roles:
        live.cli("user", "grant", username, role, org)


# tokens ---------------------------------------------------------------------------------------------------------
def issue_token(archive: Archive, username: str = "admin", **options: object) -> accounts.IssuedToken:
    """A token minted by the operator for `username`; `options` are create_token's (name, ttl_days, scopes)."""
    with archive.sessions() as s, s.begin():
        return accounts.create_token(s, user=accounts.get_user(s, username), **options)  # type: ignore[arg-type]


def bearer(archive: Archive, username: str = "admin", scopes: str = "*", **options: object) -> dict[str, str]:
    """The Authorization header of a new token for `username`."""
    return auth_header(issue_token(archive, username, scopes=scopes, **options).secret)


def auth_header(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# sample PDFs ----------------------------------------------------------------------------------------------------
def pdf_bytes(
    pages: int = 1,
    *,
    text: str = "Sổ theo dõi và đánh giá học sinh",
    extra: bytes = b"",
    lines: int = 0,
    target_size: int = 0,
) -> bytes:
    """A real reportlab PDF (fonts, content streams) titled `text — trang N` on each page. `extra` makes its bytes
    distinct (ingest deduplicates by content); `lines` fills each page with a class list; `target_size` pads the file
    to about that many bytes with incompressible images."""
    font = "Helvetica"
    noto = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
    if noto.exists():
        if "NotoSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("NotoSans", str(noto)))
        font = "NotoSans"
    per_page = max(0, target_size // pages - 2_000)
    side = max(1, int((per_page / 3) ** 0.5))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for i in range(pages):
        c.setFont(font, 14)
        c.drawString(72, 770, f"{text} — trang {i + 1}")
        if extra:
            c.drawString(72, 740, extra.hex()[:60])
        c.setFont(font, 10)
        for j in range(lines):
            c.drawString(
                72,
                (722 if extra else 740) - j * 18,
                f"{j + 1}. Học sinh số {i * lines + j + 1}: điểm kiểm tra 8,5 — Đạt",
            )
        if side > 1:
            img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
            c.drawImage(ImageReader(img), 400, 72, 120, 120)
        c.showPage()
    c.save()
    return buf.getvalue()


def make_pdf(
    path: Path, pages: int = 1, text: str = "Sổ theo dõi và đánh giá học sinh", extra: bytes = b""
) -> Path:
    """`pdf_bytes` written to `path`."""
    path.write_bytes(pdf_bytes(pages, text=text, extra=extra))
    return path


def class_register_pdf(pages: int = 50, target_size: int = 1_000_000) -> bytes:
    """A `pages`-page class register of about `target_size` bytes: the signing tests' realistic document."""
    return pdf_bytes(pages, text="Sổ gọi tên và ghi điểm", lines=30, target_size=target_size)


# environments of `hoso` child processes and live servers ----------------------------------------------------------
def hoso_env(
    data_dir: Path, *, database_url: str | None = None, replicas: Iterable[str] | None = None, **extra: str
) -> dict[str, str]:
    """This process's environment without any HOSO_ variable, then these settings; the scheduler stays off unless
    `extra` turns it on."""
    _with_dev_pki_keys(data_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSO_")}
    env |= {"HOSO_DATA_DIR": str(data_dir), "HOSO_SCHEDULER_ENABLED": "false", "HOSO_PDFA_NORMALISE": "false"}
    if database_url is not None:
        env["HOSO_DATABASE_URL"] = database_url
    if replicas is not None:
        env["HOSO_REPLICAS"] = ",".join(replicas)
    return env | extra


def archive_env(archive: Archive, *, replicas: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a `hoso` command working on `archive`'s catalog (and its replicas, unless `replicas` is
    False: then the command uses the default folders under the data directory)."""
    s = archive.settings
    return hoso_env(
        s.data_dir,
        database_url=s.resolved_database_url,
        replicas=s.replica_urls if replicas else None,
        **extra,
    )


def boot(tmp_path: Path, *, serve_args: list[str] | None = None, **extra: str) -> LiveServer:
    """`hoso serve [serve_args]` on a fresh catalog under tmp_path with a Sở and one THPT school, T01, created
    through the CLI."""
    env = hoso_env(tmp_path / "var", **extra)
    run_cli("db", "upgrade", env=env)
    run_cli("org", "add", "79", "--name", "Sở GDĐT Thử", "--kind", "so", env=env)
    run_cli(
        "org", "add", "T01", "--name", "Trường THPT Thử Nghiệm", "--kind", "truong", "--level", "THPT",
        "--parent", "79", env=env,
    )  # fmt: skip
    return start_server(env, tmp_path / "server.log", extra_args=serve_args)
