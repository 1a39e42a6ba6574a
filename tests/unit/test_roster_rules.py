"""The roster's pure rules: how classes, subjects and names are ordered on every database, and the names it accepts."""

from __future__ import annotations

import pytest

from archive.errors import InvalidInput
from archive.roster import _class_key, check_class_name, check_group, check_subject, name_key


def test_classes_sort_by_their_numbers():
    names = ["12B", "10A10", "6A", "10A2", "11A1", "10A1"]
    assert sorted(names, key=_class_key) == ["6A", "10A1", "10A2", "10A10", "11A1", "12B"]


def test_vietnamese_names_sort_as_read_not_by_code_point():
    subjects = ["Tin học", "Đạo đức", "Toán", "Tiếng Anh", "Âm nhạc", "Địa lý"]
    # code points would put Tin before Tiếng and Đ/Â after Z; people read Â(m) < Đ(ạo) < Đ(ịa) < Tiếng < Tin < Toán
    assert sorted(subjects, key=name_key) == ["Âm nhạc", "Đạo đức", "Địa lý", "Tiếng Anh", "Tin học", "Toán"]


@pytest.mark.parametrize(
    ("check", "text", "code"),
    [
        (check_subject, "  ", "bad_subject"),
        (check_group, "x" * 101, "bad_group"),
        (check_class_name, "1" * 51, "bad_class"),
    ],
)
def test_names_outside_their_column_are_refused(check, text, code):
    with pytest.raises(InvalidInput) as caught:
        check(text)
    assert caught.value.code == code and "ký tự" in caught.value.message_vi


def test_names_are_kept_with_spaces_collapsed():
    assert check_group("  Tổ   Toán -  Tin ") == "Tổ Toán - Tin"
