"""Office lesson plans for the conversion tests: DOCX written part by part, ODT and Word 97 DOC made from it by
LibreOffice, and the same files carrying macros."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

PLAN_LINES = [
    "KẾ HOẠCH BÀI DẠY",
    "Môn: Ngữ văn — Lớp 10A1 — Giáo viên: Nguyễn Thị Hồng Nhung",
    "Tiết 12: Đọc hiểu văn bản “Chiếu dời đô” của Lý Công Uẩn",
    "I. Mục tiêu: học sinh hiểu được khát vọng xây dựng đất nước",
    "IV. Rút kinh nghiệm",
    "Học sinh tích cực; cần thêm thời gian luyện tập phần đọc hiểu.",
]
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    '{main}"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="word/document.xml"/></Relationships>'
)


def docx(
    path: Path, lines: list[str] = PLAN_LINES, font: str = "Times New Roman", *, macros: bool = False
) -> Path:
    runs = "".join(
        f'<w:p><w:r><w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:cs="{font}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>'
        for line in lines
    )
    document = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>{runs}</w:body></w:document>'
    types = _CONTENT_TYPES.format(main="wordprocessingml.document.main+xml")
    if macros:  # a .docm: the main part's content type says macro-enabled, and the VBA project is a part
        types = types.replace(
            "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            "vnd.ms-word.document.macroEnabled.main+xml",
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", types)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("word/document.xml", document)
        if macros:
            z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    return path


def convert_with_libreoffice(source: Path, fmt: str, out_dir: Path) -> Path:
    """Another format of ``source`` written by LibreOffice (how teachers' DOC and ODT files come about)."""
    exe = shutil.which("soffice")
    assert exe is not None
    profile = out_dir / "lo-profile"
    subprocess.run(
        [exe, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless", "--norestore",
         "--convert-to", fmt, "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out_dir / (source.stem + "." + fmt)


def odt_with_script(odt: Path, path: Path) -> Path:
    """The ODT with a Basic library and an event bound to it, as LibreOffice writes documents with macros."""
    with zipfile.ZipFile(odt) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "content.xml":
                data = data.replace(
                    b"<office:scripts/>",
                    b'<office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" '
                    b'script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main"/>'
                    b"</office:event-listeners></office:scripts>",
                )
            dst.writestr(item, data)
    return path
