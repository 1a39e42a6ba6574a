"""Opening PDFs for incremental updates, with our error type instead of pyHanko's."""

from __future__ import annotations

import io
from decimal import Decimal

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from .errors import InvalidDocument

A4 = (595.0, 842.0)


def open_for_update(pdf_bytes: bytes) -> IncrementalPdfFileWriter:
    if not pdf_bytes.lstrip()[:5].startswith(b"%PDF-"):
        raise InvalidDocument("not a PDF file (no %PDF- header)")
    try:
        return IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
    except Exception as exc:  # pyHanko raises PdfReadError, but also KeyError/ValueError on damaged trailers
        raise InvalidDocument(f"cannot open PDF for signing: {exc}") from exc


def existing_signature_names(reader: PdfFileReader) -> list[str]:
    try:
        return [sig.field_name for sig in reader.embedded_signatures]
    except Exception as exc:
        raise InvalidDocument(f"cannot read the signature fields: {exc}") from exc


def page_size(writer: IncrementalPdfFileWriter, page_ix: int) -> tuple[float, float]:
    try:
        page_ref, _ = writer.find_page_for_modification(page_ix)
        page = page_ref.get_object()
        box = None
        node = page
        while node is not None and box is None:  # MediaBox is inheritable
            box = node.get("/MediaBox")
            parent = node.get("/Parent")
            node = parent.get_object() if parent is not None else None
        if box is None:
            return A4
        x1, y1, x2, y2 = (float(Decimal(str(v))) for v in box)
        return abs(x2 - x1), abs(y2 - y1)
    except Exception as exc:
        raise InvalidDocument(f"page {page_ix} not found: {exc}") from exc


def unique_field_name(existing: list[str], prefix: str) -> str:
    n = len(existing) + 1
    while f"{prefix}{n}" in existing:
        n += 1
    return f"{prefix}{n}"


def empty_field_rect(writer: IncrementalPdfFileWriter, name: str) -> tuple[float, float, float, float] | None:
    """The rectangle of an unsigned signature field called `name`, if the file has one."""
    from pyhanko.sign.fields import enumerate_sig_fields

    for field_name, value, ref in enumerate_sig_fields(writer.prev, filled_status=False, with_name=name):
        del field_name, value
        field = ref.get_object()
        widget = field["/Kids"][0].get_object() if "/Rect" not in field and "/Kids" in field else field
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)
    return None


def append_signature_page(writer: IncrementalPdfFileWriter, heading: tuple[str, ...]) -> None:
    """Append a page (the size of the last one) headed by `heading`, for signature blocks that find no room."""
    from pyhanko.pdf_utils import generic

    from .layout import signature_page_pdf

    size = page_size(writer, -1)
    page_pdf = signature_page_pdf(size, heading)
    xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(page_pdf)), page_ix=0)
    stream = generic.StreamObject(stream_data=b"q /SigPage Do Q")
    page = generic.DictionaryObject(
        {
            generic.pdf_name("/Type"): generic.pdf_name("/Page"),
            generic.pdf_name("/MediaBox"): generic.ArrayObject(
                [
                    generic.FloatObject(0),
                    generic.FloatObject(0),
                    generic.FloatObject(size[0]),
                    generic.FloatObject(size[1]),
                ]
            ),
            generic.pdf_name("/Resources"): generic.DictionaryObject(
                {generic.pdf_name("/XObject"): generic.DictionaryObject({generic.pdf_name("/SigPage"): xobj})}
            ),
            generic.pdf_name("/Contents"): writer.add_object(stream),
        }
    )
    writer.insert_page(page)
