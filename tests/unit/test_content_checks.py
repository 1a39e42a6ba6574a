"""The lesson plan's "Rút kinh nghiệm" heading: how text is read from DOCX/ODT/PDF and how the heading is recognised."""

from __future__ import annotations

import time
import unicodedata
import zipfile
from pathlib import Path

import pytest

from archive import content_checks as cc
from archive import sniff

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def docx(path: Path, body: str, *, prolog: str = "") -> Path:
    """A minimal Word file: `body` is the inside of w:body."""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<w:document {W}><w:body>{body}</w:body></w:document>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", xml.encode("utf-8"))
    return path


def para(*runs: str) -> str:
    return "<w:p>" + "".join(f'<w:r><w:t xml:space="preserve">{r}</w:t></w:r>' for r in runs) + "</w:p>"


def odt(path: Path, body: str) -> Path:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">'
        f"<office:body><office:text>{body}</office:text></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", sniff.ODT)
        z.writestr("content.xml", xml.encode("utf-8"))
    return path


def result(path: Path, media_type: str = sniff.DOCX) -> cc.Finding:
    (finding,) = cc.inspect(path, media_type, "ke-hoach-bai-day")
    return finding


BODY = para("I. Mục tiêu") + para("1. Kiến thức: học sinh giải được phương trình bậc hai.")


# --- the matcher ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Rút kinh nghiệm",
        "RÚT KINH NGHIỆM",
        "IV. Rút kinh nghiệm:",
        "  4)  Rút   kinh\tnghiệm sau tiết dạy",
        "* Rút kinh nghiệm",
        "Phần V – Rút kinh nghiệm",
        "Rut kinh nghiem",  # typed without a Vietnamese keyboard
        unicodedata.normalize("NFD", "V. Rút kinh nghiệm"),  # macOS and some editors store decomposed letters
        "Rút\u00a0kinh\u200bnghiệm".replace("\u200b", " \u200b"),  # a no-break space and a zero-width space
    ],
)
def test_heading_variants_are_recognised(line: str):
    assert cc.is_heading(line)


@pytest.mark.parametrize(
    "line",
    [
        "Giáo viên rút kinh nghiệm sau mỗi tiết dạy.",  # mentioned in a sentence, not a heading
        "Kinh nghiệm rút ra",
        "Rút kinh nghiệmx",
        "Rút gọn biểu thức",
        "",
    ],
)
def test_other_lines_are_not_the_heading(line: str):
    assert not cc.is_heading(line)


def test_nfc_nfd_and_unaccented_fold_to_the_same_text():
    nfc = unicodedata.normalize("NFC", "Rút Kinh Nghiệm")
    nfd = unicodedata.normalize("NFD", "Rút Kinh Nghiệm")
    assert nfc != nfd
    assert cc.fold(nfc) == cc.fold(nfd) == cc.fold("rut  kinh nghiem") == "rut kinh nghiem"
    assert cc.fold("Đánh giá") == "danh gia"


def test_a_heading_on_the_second_line_of_a_paragraph_counts():
    assert cc.is_heading("Nhận xét của tổ trưởng\nRút kinh nghiệm:")


# --- DOCX ------------------------------------------------------------------------------------------------------------


def test_docx_heading_split_across_runs_is_found(tmp_path: Path):
    # Word splits text into runs wherever formatting, spell-check marks or edit sessions change
    path = docx(tmp_path / "a.docx", BODY + para("IV. R", "út kinh ngh", "iệm"))
    assert result(path).result == "present"


def test_docx_paragraphs_are_not_glued_together(tmp_path: Path):
    path = docx(tmp_path / "a.docx", para("Bài tập về nhà") + para("Rút kinh nghiệm"))
    assert list(cc.docx_paragraphs(path)) == ["Bài tập về nhà", "Rút kinh nghiệm"]


def test_docx_nfd_text_is_found(tmp_path: Path):
    path = docx(tmp_path / "a.docx", BODY + para(unicodedata.normalize("NFD", "RÚT KINH NGHIỆM")))
    assert result(path).result == "present"


def test_docx_unaccented_heading_is_found(tmp_path: Path):
    path = docx(tmp_path / "a.docx", BODY + para("IV. Rut kinh nghiem"))
    assert result(path).result == "present"


def test_docx_without_the_section_is_missing(tmp_path: Path):
    path = docx(tmp_path / "a.docx", BODY + para("III. Tiến trình dạy học"))
    assert result(path) == cc.Finding("rut_kinh_nghiem", "missing")


def test_docx_deleted_text_and_field_codes_do_not_count(tmp_path: Path):
    # tracked deletions (w:delText) and field instructions (w:instrText) are not on the page
    body = (
        BODY
        + "<w:p><w:del><w:r><w:delText>Rút kinh nghiệm</w:delText></w:r></w:del></w:p>"
        + "<w:p><w:r><w:instrText>Rút kinh nghiệm</w:instrText></w:r></w:p>"
    )
    assert result(docx(tmp_path / "a.docx", body)).result == "missing"


def test_docx_with_a_doctype_is_not_parsed(tmp_path: Path):
    # entity declarations are how XML bombs work; Word never writes a DOCTYPE
    prolog = '<!DOCTYPE w:document [<!ENTITY a "Rút kinh nghiệm">]>'
    path = docx(tmp_path / "a.docx", para("&a;"), prolog=prolog)
    finding = result(path)
    assert finding.result == "unknown" and "DOCTYPE" in finding.detail


def test_damaged_docx_is_unknown_not_an_error(tmp_path: Path):
    path = tmp_path / "a.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", f"<w:document {W}><w:body><w:p>")  # cut short
    assert result(path).result == "unknown"
    path.write_bytes(b"PK\x03\x04 not a zip")
    assert result(path).result == "unknown"


def test_docx_part_larger_than_the_limit_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(cc, "MAX_XML_BYTES", 10_000)
    monkeypatch.setattr(cc, "CHUNK", 1024)
    path = docx(tmp_path / "a.docx", para("x" * 50_000) + para("Rút kinh nghiệm"))
    finding = result(path)
    assert finding.result == "unknown" and "larger than" in finding.detail


def test_a_document_without_text_is_unknown(tmp_path: Path):
    # e.g. a scanned page pasted as an image: we cannot tell
    path = docx(tmp_path / "a.docx", "<w:p><w:r><w:drawing/></w:r></w:p>")
    assert result(path).result == "unknown"


# --- ODT ---------------------------------------------------------------------------------------------------------------


def test_odt_heading_with_spans_and_space_elements(tmp_path: Path):
    body = (
        "<text:p>Bài 3</text:p>"
        '<text:h text:outline-level="2">IV. <text:span>Rút</text:span><text:s/>kinh <text:span>nghiệm</text:span></text:h>'
    )
    path = odt(tmp_path / "a.odt", body)
    assert result(path, sniff.ODT).result == "present"


def test_odt_without_the_section_is_missing(tmp_path: Path):
    path = odt(tmp_path / "a.odt", "<text:p>Bài 3</text:p><text:p>Củng cố</text:p>")
    assert result(path, sniff.ODT).result == "missing"


# --- PDF through pdftotext, and what is not read ----------------------------------------------------------------------


def fake_pdftotext(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    exe = bin_dir / "pdftotext"
    exe.write_text("#!/bin/sh\n" + script + "\n")
    exe.chmod(0o755)


def use_path(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> None:
    # the fake first, the system's tools (sleep, yes) after it
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")


def test_pdf_without_pdftotext_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    finding = result(tmp_path / "a.pdf", sniff.PDF)
    assert finding.result == "unknown" and "pdftotext" in finding.detail


def test_pdftotext_output_is_read_as_utf8_lines_and_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake_pdftotext(tmp_path / "bin", r"printf 'Trang 1\n\fIV. R\303\272t kinh nghi\341\273\207m\n'")
    use_path(monkeypatch, tmp_path / "bin")
    assert result(tmp_path / "a.pdf", sniff.PDF).result == "present"


def test_pdftotext_failure_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake_pdftotext(tmp_path / "bin", "echo 'Trang 1'; exit 3")
    use_path(monkeypatch, tmp_path / "bin")
    finding = result(tmp_path / "a.pdf", sniff.PDF)
    assert finding.result == "unknown" and "exit status 3" in finding.detail


def test_slow_pdftotext_is_stopped_at_the_time_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake_pdftotext(tmp_path / "bin", "echo 'Trang 1'; exec sleep 30")
    use_path(monkeypatch, tmp_path / "bin")
    started = time.monotonic()
    finding = cc.search(cc.pdf_lines(tmp_path / "a.pdf", timeout=0.5))
    assert finding.result == "unknown" and "longer than" in finding.detail
    assert time.monotonic() - started < 5


def test_endless_text_stops_at_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fake_pdftotext(tmp_path / "bin", "exec yes 'Hoạt động luyện tập'")
    use_path(monkeypatch, tmp_path / "bin")
    monkeypatch.setattr(cc, "MAX_TEXT_CHARS", 100_000)
    finding = result(tmp_path / "a.pdf", sniff.PDF)
    assert finding.result == "unknown" and "longer than 100000 characters" in finding.detail


def test_the_heading_found_early_stops_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # the process is stopped as soon as the answer is known, long before its own end
    fake_pdftotext(tmp_path / "bin", "echo 'Rút kinh nghiệm'; exec sleep 30")
    use_path(monkeypatch, tmp_path / "bin")
    started = time.monotonic()
    assert result(tmp_path / "a.pdf", sniff.PDF).result == "present"
    assert time.monotonic() - started < 5


def test_formats_not_read_are_not_applicable(tmp_path: Path):
    path = tmp_path / "a.xml"
    path.write_text("<KeHoach>Rút kinh nghiệm</KeHoach>")
    assert result(path, sniff.XML).result == "not_applicable"
    assert result(path, sniff.XLSX).result == "not_applicable"


def test_other_document_types_get_no_check(tmp_path: Path):
    path = docx(tmp_path / "a.docx", BODY)
    assert cc.inspect(path, sniff.DOCX, "so-dang-bo") == []
    assert cc.inspect(path, sniff.DOCX, "ke-hoach-bai-day") != []
