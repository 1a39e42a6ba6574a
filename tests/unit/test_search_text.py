"""Folding for search and the names downloaded files get."""

from __future__ import annotations

from archive.download_names import ascii_name, download_name
from archive.search_text import document_search_text, fold, like_patterns


def test_fold_removes_marks_case_and_maps_d_with_stroke():
    assert fold("Sổ theo dõi") == "so theo doi"
    assert fold("Nguyễn Thị Ánh") == "nguyen thi anh"
    assert fold("ĐỘI TUYỂN  Địa lí") == "doi tuyen dia li"
    # decomposed input (as some Mac keyboards send it) folds the same as composed
    assert fold("Ho\u0323c ba\u0323") == fold("Học bạ") == "hoc ba"
    assert fold(None) == "" and fold("") == ""


def test_search_text_is_words_each_after_a_space_and_patterns_hold_no_wildcard():
    text = document_search_text("Sổ điểm (HK1)", "10A1", None, "Cô Ánh")
    assert text == " so diem hk1 10a1 co anh"
    assert like_patterns(" SỔ  Theo ") == ["% so%", "% theo%"]
    assert like_patterns("50%_x") == ["% 50%", "% x%"]
    assert like_patterns("%") == []


def test_download_name_parts_and_extension():
    name = download_name(
        school="C01",
        year="2024-2025",
        type_code="hoc-ba",
        class_name="6A",
        title="Học bạ lớp 6A",
        original="x.PDF",
    )
    assert name == "C01_2024-2025_hoc-ba_6A_Học-bạ-lớp-6A.pdf"
    # no class: the part is left out; characters no file system accepts (and the separator) become dashes
    odd = download_name(
        school="T01",
        year="2024-2025",
        type_code="so-dang-bo",
        class_name=None,
        title='a/b:c_"d"?',
        original="s.docx",
    )
    assert odd == "T01_2024-2025_so-dang-bo_a-b-c-d.docx"
    long = download_name(
        school="T01", year="2024-2025", type_code="t", class_name="", title="Ả" * 400, original="f.pdf"
    )
    assert len(long) <= 180 and long.endswith("Ả.pdf")
    assert ascii_name("C01_2024-2025_hoc-ba_6A_Học-bạ-Đội.pdf") == "C01_2024-2025_hoc-ba_6A_Hoc-ba-Doi.pdf"
