"""Media type from the bytes, never from the file name."""

from __future__ import annotations

import zipfile
from pathlib import Path

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
XML = "application/xml"

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
    if b"%PDF-" in head[:1024]:
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
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                kind = z.read("mimetype").decode("ascii", "replace").strip()
                return {ODT: ODT, ODS: ODS}.get(kind)
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return None
