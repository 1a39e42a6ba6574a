"""Legacy Vietnamese encodings (issue 14, item 4): TCVN3 (ABC) and VNI text is recognised per paragraph and read in
Unicode; Unicode, English and plain ASCII text is left alone."""

from __future__ import annotations

import pytest

from archive import content_checks as cc
from archive import encodings

# (as typed in the legacy font, what it says)
TCVN3_LINES = [
    ("Rót kinh nghiÖm", "Rút kinh nghiệm"),
    ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
    ("KÕ ho¹ch bµi d¹y m«n Ng÷ v¨n", "Kế hoạch bài dạy môn Ngữ văn"),
    ("Häc sinh tÝch cùc, cÇn luyÖn tËp thªm", "Học sinh tích cực, cần luyện tập thêm"),
]
VNI_LINES = [
    ("Ruùt kinh nghieäm", "Rút kinh nghiệm"),
    ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
    ("Ñoäc laäp - Töï do - Haïnh phuùc", "Độc lập - Tự do - Hạnh phúc"),
    ("Tröôøng THPT Thöû Nghieäm, naêm hoïc 2024-2025", "Trường THPT Thử Nghiệm, năm học 2024-2025"),
]


@pytest.mark.parametrize(("typed", "meant"), TCVN3_LINES)
def test_tcvn3_paragraphs_are_read_in_unicode(typed, meant):
    assert encodings.to_unicode(typed) == (meant, encodings.TCVN3)


@pytest.mark.parametrize(("typed", "meant"), VNI_LINES)
def test_vni_paragraphs_are_read_in_unicode(typed, meant):
    assert encodings.to_unicode(typed) == (meant, encodings.VNI)


@pytest.mark.parametrize(
    "text",
    [
        "Rút kinh nghiệm",
        "Công hoà xã hội",
        "Kế hoạch bài dạy",
        "RÚT KINH NGHIỆM",
        "a naïve café",
        "IV. Mục tiêu",
    ],
)
def test_unicode_and_foreign_text_is_left_alone(text):
    assert encodings.to_unicode(text) == (text, None)


@pytest.mark.parametrize(
    ("lines", "encoding"),
    [([t for t, _ in TCVN3_LINES], "TCVN3 (ABC)"), ([t for t, _ in VNI_LINES], "VNI")],
)
def test_heading_typed_in_a_legacy_font_is_found_and_the_encoding_named(lines, encoding):
    finding = cc.search(["KẾ HOẠCH BÀI DẠY", *lines[1:], "IV. " + lines[0]])
    assert finding.result == "present"
    assert encoding in finding.detail and "Unicode" in finding.detail


def test_legacy_plan_without_the_heading_is_missing_and_says_the_encoding():
    finding = cc.search(["KÕ ho¹ch bµi d¹y m«n Ng÷ v¨n", "Häc sinh tÝch cùc"])
    assert finding.result == "missing" and "TCVN3" in finding.detail


def test_unicode_plan_has_no_encoding_note():
    assert cc.search(["IV. Rút kinh nghiệm"]) == cc.Finding(cc.RUT_KINH_NGHIEM, "present", "")
