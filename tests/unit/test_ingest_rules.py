import zipfile
from pathlib import Path

import pytest

from archive import sniff
from archive.documents import content_disposition
from archive.errors import InvalidInput
from archive.ingest import clean_filename
from archive.school_year import check_school_year


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("C:\\Users\\gv\\Giáo án bài 1.pdf", "Giáo án bài 1.pdf"),
        ("../../etc/passwd", "passwd"),
        ("Ho\u0323c ba\u0323 10A1.pdf", "Học bạ 10A1.pdf"),  # decomposed (NFD) → NFC
        ("a\x00b\nc.pdf", "abc.pdf"),
        ("", "tai-lieu"),
        ("...", "tai-lieu"),
    ],
)
def test_clean_filename(raw, expected):
    assert clean_filename(raw) == expected


def test_school_year_accepts_consecutive_years_only():
    assert check_school_year(" 2024-2025 ") == "2024-2025"
    for bad in ("2024-2026", "2024", "24-25", "2025-2024", "abcd-efgh"):
        with pytest.raises(InvalidInput):
            check_school_year(bad)


def test_content_disposition_rfc6266():
    h = content_disposition('Sổ đăng bộ 2024 "x".pdf')
    assert h.startswith('attachment; filename="')
    assert "filename*=UTF-8''S%E1%BB%95%20%C4%91%C4%83ng%20b%E1%BB%99%202024%20%22x%22.pdf" in h
    fallback = h.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and '"' not in fallback


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_sniff_by_bytes_not_name(tmp_path):
    pdf = tmp_path / "looks-like.docx"
    pdf.write_bytes(b"%PDF-1.7\n...")
    assert sniff.sniff(pdf) == sniff.PDF
    docx = _zip(tmp_path / "x.pdf", {"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})
    assert sniff.sniff(docx) == sniff.DOCX
    odt = _zip(tmp_path / "x.bin", {"mimetype": sniff.ODT.encode(), "content.xml": b"<x/>"})
    assert sniff.sniff(odt) == sniff.ODT
    xml = tmp_path / "hocba.dat"
    xml.write_bytes(b"\xef\xbb\xbf  <?xml version='1.0'?><HocBa/>")
    assert sniff.sniff(xml) == sniff.XML
    exe = tmp_path / "bai-giang.pdf"
    exe.write_bytes(b"MZ\x90\x00" + b"\x00" * 100)
    assert sniff.sniff(exe) is None
    other_zip = _zip(tmp_path / "a.zip", {"a.txt": b"hi"})
    assert sniff.sniff(other_zip) is None
