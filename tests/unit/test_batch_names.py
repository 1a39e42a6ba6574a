"""Class and type read from the names of exported files; a name that says nothing is left for the person."""

from __future__ import annotations

import pytest

from archive.batch_names import NameGuess, guess


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
        ("2024 13A.pdf", NameGuess(None, None)),  # no grade 13, and a year is not a class
    ],
)
def test_guess(name: str, expected: NameGuess):
    assert guess(name) == expected
