"""Media type from the bytes, never from the file name."""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import bounded
from .errors import IngestRefused

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
XML = "application/xml"

# An office document has tens of parts (a workbook with many sheets, a few hundred); zipfile builds an object per
# entry before we can look at any, so a container declaring more is refused before it is opened.
MAX_ZIP_ENTRIES = 10_000

ACCEPTED = (PDF, DOCX, XLSX, ODT, ODS, DOC, XLS, XML)
EXTENSIONS = {
    PDF: ".pdf",
    DOCX: ".docx",
    XLSX: ".xlsx",
    ODT: ".odt",
    ODS: ".ods",
    DOC: ".doc",
    XLS: ".xls",
    XML: ".xml",
}


def sniff(path: Path, filename: str = "") -> str | None:
    """Return the media type of the file at `path`, or None when it is not a kind of file hoso keeps."""
    with open(path, "rb") as f:
        head = f.read(2048)
    # ISO 32000-2 §7.5.2: a PDF file begins with "%PDF-". Readers tolerate up to 1024 bytes of anything before it
    # (an old Acrobat habit, not the standard), which is exactly what a polyglot needs: "MZ…" or "#!/bin/sh" that
    # runs as a program and opens as a PDF. Nothing may precede the header here, not even a byte-order mark.
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        # OLE2 compound file: Word 97 and Excel 97 share the container; the name only picks between the two
        return XLS if filename.lower().endswith(".xls") else DOC
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml"):
        return XML
    return None


def _sniff_zip(path: Path) -> str | None:
    entries = bounded.zip_entry_count(path)
    if entries is not None and entries > MAX_ZIP_ENTRIES:
        raise IngestRefused(
            f"Tệp nén có quá nhiều thành phần ({entries}); tệp không được lưu",
            f"The file is a ZIP container with too many entries ({entries}, at most {MAX_ZIP_ENTRIES})",
            code="decompression_bomb",
        )
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                with z.open("mimetype") as f:
                    kind = f.read(100).decode("ascii", "replace").strip()  # bounded: a bomb stops here
                return {ODT: ODT, ODS: ODS}.get(kind)
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return None
    return None
