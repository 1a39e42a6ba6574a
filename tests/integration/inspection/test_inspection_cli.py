"""`hoso inspection package` as an operator or an inspector would run it: the ZIP on disk, scope refusals."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from archive.context import Archive
from tests.factories import archive_env
from tests.processes import run_cli

from .conftest import ingest


def test_cli_writes_the_package_and_refuses_out_of_scope(world: Archive, tmp_path: Path) -> None:
    a = world
    ingest(a, "T01", "hoc-ba", "Học bạ lớp 10A1", "10A1")
    ingest(a, "T01", "so-dang-bo", "Sổ đăng bộ 2024")
    ingest(a, "C01", "hoc-ba", "Học bạ THCS", "6A")
    env = archive_env(a, HOSO_BASE_URL=a.settings.base_url)
    out = tmp_path / "goi.zip"
    done = run_cli(
        "inspection", "package", "--school", "T01", "--year", "2024-2025", "--type", "hoc-ba", "--out", str(out),
        "--by", "thanhtraso", env=env,
    )  # fmt: skip
    data = out.read_bytes()
    assert f"{out}  {hashlib.sha256(data).hexdigest()}" in done.stdout
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        assert sorted(z.namelist()) == [
            "SHA256SUMS", "T01_2024-2025_hoc-ba_10A1_Hoc-ba-lop-10A1.pdf", "bao-cao-kiem-tra.json",
            "bao-cao-kiem-tra.pdf",
        ]  # fmt: skip

    refused = tmp_path / "khong.zip"
    bad = run_cli(
        "inspection",
        "package",
        "--school",
        "C01",
        "--out",
        str(refused),
        "--by",
        "thanhtraso",
        env=env,
        check=False,
    )
    assert bad.returncode == 1 and "[forbidden]" in bad.stderr and "C01" in bad.stderr
    assert not refused.exists() and not refused.with_name("khong.zip.part").exists()
    unknown = run_cli("inspection", "package", "--school", "Z99", "--out", str(refused), env=env, check=False)
    assert unknown.returncode == 1 and "[school_not_found]" in unknown.stderr
