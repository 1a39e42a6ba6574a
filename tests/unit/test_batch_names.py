"""Class and type read from the names of exported files; a name that says nothing is left for the person."""

from __future__ import annotations

import pytest

from archive.batch_names import NameGuess, guess, patterns


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Học bạ 10A1 - Nguyễn Văn An.pdf", NameGuess("hoc-ba", "10A1")),
        ("HOC_BA_6A_2024-2025.pdf", NameGuess("hoc-ba", "6A")),
        ("SoTheoDoi_12CB2.pdf", NameGuess("so-theo-doi-danh-gia-lop", "12CB2")),
        ("so-diem-ca-nhan 7b.pdf", NameGuess("so-diem-ca-nhan", "7B")),
        ("Giáo án Toán 9A3 tuần 5.docx", NameGuess("ke-hoach-bai-day", "9A3")),
        ("folder/Sổ đăng bộ.pdf", NameGuess("so-dang-bo", None)),
        ("scan0001.pdf", NameGuess(None, None)),
        # export names of the school-management software (SMAS, vnEdu, QLTH / csdl.moet.gov.vn)
        ("HocBa_Lop10A1_001_NguyenVanAn.pdf", NameGuess("hoc-ba", "10A1")),
        ("hocbaso_L6A2_2024_2025.pdf", NameGuess("hoc-ba", "6A2")),
        ("SoDiemCaNhan_GV_Toan_7B.pdf", NameGuess("so-diem-ca-nhan", "7B")),
        ("SoGoiTenGhiDiem_11C.pdf", NameGuess("so-theo-doi-danh-gia-lop", "11C")),
        ("sodaubai_9A1_HK1.pdf", NameGuess("so-ghi-dau-bai", "9A1")),
        ("So dau bai dien tu lop 8A.pdf", NameGuess("so-ghi-dau-bai", "8A")),
        ("Sổ theo dõi đánh giá học sinh của giáo viên 12A.pdf", NameGuess("so-diem-ca-nhan", "12A")),
        ("SoChuNhiem_10A3.xlsx", NameGuess("so-chu-nhiem", "10A3")),
        ("sodangbo_khoi6.pdf", NameGuess("so-dang-bo", None)),
        ("KHGD GV Toan.docx", NameGuess("ke-hoach-giao-duc-giao-vien", None)),
        ("Lê Văn Long.pdf", NameGuess(None, None)),  # a name starting with L is not a class
        ("2024 13A.pdf", NameGuess(None, None)),  # no grade 13, and a year is not a class
    ],
)
def test_guess(name: str, expected: NameGuess):
    assert guess(name) == expected


def test_every_pattern_names_a_known_type():
    """The CSV is data a province edits: a typo in a type code would silently store nothing."""
    import csv
    from pathlib import Path

    import archive

    known = {
        r["code"] for r in csv.DictReader((Path(archive.__file__).parent / "data/document-types.csv").open())
    }
    assert patterns() and {code for _, code in patterns()} <= known
