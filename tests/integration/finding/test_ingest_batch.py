"""`hoso ingest` takes a folder or a ZIP of a class's exports: type and class read from each name, one result per file
(stored / duplicate / refused with the reason), a progress bar on stderr, nothing stored for a refused file."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from archive.context import Archive
from archive.models import Document
from hoso.cli import main as cli
from tests.factories import make_pdf


def run(a: Archive, *args: str):  # type: ignore[no-untyped-def]
    ctx = cli.Ctx()
    ctx._archive = a
    return CliRunner().invoke(cli.main, list(args), obj=ctx)


def test_a_zip_of_exports_is_stored_file_by_file(archive: Archive, tmp_path: Path):
    good = {
        f"Hoc ba 10A1 - hoc sinh {i}.pdf": make_pdf(tmp_path / f"{i}.pdf", extra=bytes([i])) for i in range(5)
    }
    bundle = tmp_path / "10A1.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        for name, path in good.items():
            z.write(path, f"xuat/{name}")
        z.write(
            good["Hoc ba 10A1 - hoc sinh 0.pdf"], "xuat/Hoc ba 10A1 - ban sao.pdf"
        )  # the same bytes again
        z.writestr("xuat/scan0001.pdf", make_pdf(tmp_path / "s.pdf", extra=b"s").read_bytes())  # says nothing
        z.writestr("xuat/Hoc ba 10A1 ghi chu.pdf", b"not a pdf at all")
        z.writestr("__MACOSX/._Hoc ba.pdf", b"resource fork")
    res = run(archive, "ingest", str(bundle), "--school", "T01", "--year", "2024-2025", "--json")
    assert res.exit_code == 1, res.output  # refusals make the exit status non-zero
    results = {r["file"].split(":", 1)[1]: r for r in json.loads(res.stdout)}
    assert len(results) == 8  # the resource fork is not a file of the batch
    stored = [r for r in results.values() if r["result"] == "stored"]
    assert len(stored) == 5 and {(r["type"], r["class"]) for r in stored} == {("hoc-ba", "10A1")}
    assert results["xuat/Hoc ba 10A1 - ban sao.pdf"]["result"] == "duplicate"
    assert results["xuat/scan0001.pdf"]["error"] == "type_unknown"
    assert results["xuat/Hoc ba 10A1 ghi chu.pdf"]["error"] == "unsupported_type"
    with archive.sessions() as s:
        docs = s.scalars(select(Document)).all()
    assert len(docs) == 5 and {d.class_name for d in docs} == {"10A1"}


def test_a_folder_with_a_progress_bar_and_a_summary(archive: Archive, tmp_path: Path):
    folder = tmp_path / "6A"
    folder.mkdir()
    for i in range(3):
        make_pdf(folder / f"Sổ theo dõi 6A tuần {i}.pdf", extra=bytes([i]))
    (folder / ".DS_Store").write_bytes(b"x")
    res = run(archive, "ingest", str(folder), "--school", "T01", "--year", "2024-2025")
    assert res.exit_code == 0, res.output
    assert "[3/3] " in res.stderr  # progress counted every file (as lines: stderr is not a terminal here)
    assert "3 lưu mới, 0 đã có, 0 bị từ chối" in res.stderr
    assert len([line for line in res.stdout.splitlines() if "(mới / new)" in line]) == 3
