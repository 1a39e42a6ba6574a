"""Visible signatures per Nghị định 30/2020: rendered with poppler and checked by colour and text."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime

import pytest
from PIL import Image, ImageDraw

from signing import Appearance, Pkcs12Signer, sign_pdf, validate_pdf

from .testkit import P12_PASSWORD

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")


def png(draw, size=(300, 120)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw(ImageDraw.Draw(img))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


BLUE_SIGNATURE = png(
    lambda d: d.line([(10, 100), (80, 20), (150, 100), (220, 20), (290, 90)], fill=(0, 0, 200, 255), width=10)
)
RED_SEAL = png(lambda d: d.ellipse((5, 5, 195, 195), outline=(220, 0, 0, 255), width=18), size=(200, 200))


def render(pdf: bytes, tmp_path, page: int) -> Image.Image:
    path = tmp_path / "in.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "72", "-f", str(page), "-l", str(page), "-png", str(path), str(tmp_path / "page")], check=True)  # fmt: skip
    out = sorted(tmp_path.glob("page*.png"))[-1]
    return Image.open(out).convert("RGB")


def text_of(pdf: bytes, tmp_path, page: int) -> str:
    path = tmp_path / "t.pdf"
    path.write_bytes(pdf)
    args = ["pdftotext", "-f", str(page), "-l", str(page), str(path), "-"]
    return subprocess.run(args, check=True, capture_output=True).stdout.decode()


def count(img: Image.Image, box, predicate) -> int:
    x1, y1, x2, y2 = box
    return sum(1 for x in range(x1, x2) for y in range(y1, y2) if predicate(img.getpixel((x, y))))


def is_red(p):
    return p[0] > 180 and p[1] < 80 and p[2] < 80


def is_blue(p):
    return p[2] > 150 and p[0] < 80 and p[1] < 80


@needs_poppler
def test_person_signature_with_seal_on_the_left_third(pki, small_pdf, tmp_path):
    box = (300, 60, 520, 210)  # PDF points, origin bottom-left
    appearance = Appearance.person(
        title="HIỆU TRƯỞNG", full_name="Nguyễn Thị Hồng Nhung", signature_image=BLUE_SIGNATURE,
        seal_image=RED_SEAL, page=-1, box=box,
    )  # fmt: skip
    signer = Pkcs12Signer(str(pki.p12["principal"]), P12_PASSWORD)
    signed = sign_pdf(small_pdf, signer, level="B-B", appearance=appearance)
    assert validate_pdf(signed, [pki.root]).passed
    img = render(signed, tmp_path, 2)
    page_h = img.height
    left, right = box[0], box[2]
    top, bottom = page_h - box[3], page_h - box[1]  # image rows grow downwards
    width = right - left
    left_third = (left, top, left + width // 2, bottom)
    right_part = (left + width // 2 + width // 8, top, right, bottom)
    assert count(img, left_third, is_red) > 200  # the seal sits on the left
    assert count(img, right_part, is_red) == 0
    assert count(img, (left, top, right, bottom), is_blue) > 200  # the blue signature
    assert count(img, (0, 0, left - 5, page_h), is_red) == 0  # nothing leaks outside the box
    text = text_of(signed, tmp_path, 2)
    assert "HIỆU TRƯỞNG" in text and "Nguyễn Thị Hồng Nhung" in text
    (tmp_path / "person.png").write_bytes(b"")  # placeholder to keep tmp tidy


@needs_poppler
def test_text_form_top_right_of_first_page_with_iso_time(pki, small_pdf, tmp_path):
    appearance = Appearance.text_form("Số: 125/QĐ-THPTTN", "SAO Y — Trường THPT Thử Nghiệm")
    signer = Pkcs12Signer(str(pki.p12["seal"]), P12_PASSWORD)
    signed = sign_pdf(small_pdf, signer, level="B-B", appearance=appearance)
    report = validate_pdf(signed, [pki.root])
    assert report.passed
    text = text_of(signed, tmp_path, 1)
    assert "SAO Y — Trường THPT Thử Nghiệm" in text and "Số: 125/QĐ-THPTTN" in text
    stamp = re.search(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00)", text)
    assert stamp is not None
    # the printed time is the signing time recorded in the signature
    printed = datetime.fromisoformat(stamp.group(1))
    assert printed == report.signatures[0].signing_time
    img = render(signed, tmp_path, 1)
    dark = lambda p: sum(p) < 200  # noqa: E731
    top_right = (img.width // 2, 0, img.width, 80)
    assert count(img, top_right, dark) > 50
    assert count(img, top_right, lambda p: is_red(p) or is_blue(p)) == 0  # black text, no image


def test_invisible_signature_has_no_widget_area(pki, small_pdf):
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = sign_pdf(small_pdf, Pkcs12Signer(str(pki.p12["principal"]), P12_PASSWORD), level="B-B")
    field = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0].sig_field
    rect = [float(v) for v in field.get("/Rect", [0, 0, 0, 0])]
    assert rect[2] - rect[0] == 0 and rect[3] - rect[1] == 0
