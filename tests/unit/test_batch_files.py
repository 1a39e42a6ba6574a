"""A ZIP of exports is untrusted: entries inflating far beyond their compressed size, entries past the batch's total,
paths leading out of the folder and hidden files are each handled without filling the spool folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from archive import batch_files


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def _expand(path: Path, spool: Path, limit: int = 50 * 1024 * 1024, name: str | None = None):  # type: ignore[no-untyped-def]
    spool.mkdir(exist_ok=True)
    # each entry's copy is read while it exists: the iterator deletes it when moving on
    return [(f.name, f.source, f.refused.code if f.refused else f.path.read_bytes()[:4]) for f in
            batch_files.expand(path, spool, limit, name=name)]  # fmt: skip


def test_bomb_entry_refused_others_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch_files, "RATIO_FLOOR", 64 * 1024)
    z = _zip(
        tmp_path / "a.zip", {"bom.pdf": b"\0" * (4 * 1024 * 1024), "ok.pdf": b"%PDF" + bytes(range(256)) * 4}
    )
    out = _expand(z, tmp_path / "spool")
    assert out == [("bom.pdf", "a.zip:bom.pdf", "zip_bomb"), ("ok.pdf", "a.zip:ok.pdf", b"%PDF")]
    assert list((tmp_path / "spool").iterdir()) == []  # every copy removed once used


def test_total_size_refuses_what_passes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(batch_files, "MAX_TOTAL_BYTES", 3000)
    data = bytes(range(256)) * 6  # 1536 bytes, barely compressible by DEFLATE's standards here
    z = _zip(tmp_path / "b.zip", {"1.pdf": data, "2.pdf": data, "3.pdf": data})
    codes = [r for _, _, r in _expand(z, tmp_path / "spool")]
    assert codes[0] == data[:4] and codes[1:] == ["zip_too_large", "zip_too_large"]


def test_paths_and_hidden_entries(tmp_path: Path):
    z = _zip(
        tmp_path / "c.zip",
        {
            "../../x/HocBa 6A.pdf": b"%PDF-1",
            "/abs/So 6A.pdf": b"%PDF-2",
            ".hidden": b"x",
            "__MACOSX/._a.pdf": b"x",
        },
    )
    out = _expand(z, tmp_path / "spool")
    assert [(n, s) for n, s, _ in out] == [
        ("HocBa 6A.pdf", "c.zip:../../x/HocBa 6A.pdf"),
        ("So 6A.pdf", "c.zip:/abs/So 6A.pdf"),
    ]
    assert not (tmp_path / "x").exists()


def test_an_upload_spooled_under_another_name(tmp_path: Path):
    spooled = _zip(tmp_path / "upload-123", {"a.pdf": b"%PDF-1"})
    assert _expand(spooled, tmp_path / "spool", name="Lop 6A.zip") == [("a.pdf", "Lop 6A.zip:a.pdf", b"%PDF")]
    # without the .zip name it is a file like any other (an Office document is a ZIP too)
    assert _expand(spooled, tmp_path / "spool", name="a.docx")[0][1] == str(spooled)
