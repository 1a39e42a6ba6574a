"""PDFs whose structure, not their compressed data, is the attack: deep nesting, page trees that are huge, deep or
circular, and cross-reference sections that loop. Written byte by byte, since pikepdf refuses to write most of them."""

from __future__ import annotations

from collections.abc import Callable

_PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
_CONTENT = b"<< /Length 34 >>\nstream\nBT /F1 12 Tf 72 770 Td (Hi) Tj ET\nendstream"


def raw_pdf(objects: dict[int, bytes], root: int = 1, extra_trailer: bytes = b"") -> bytes:
    """A PDF with a correct classic xref table for ``objects`` (number → body)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objects):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objects[num] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for n in range(1, size):
        out += (b"%010d 00000 n \n" % offsets[n]) if n in offsets else b"0000000000 65535 f \n"
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        size,
        root,
        extra_trailer,
        xref,
    )
    return bytes(out)


def _one_page(**extra: bytes) -> dict[int, bytes]:
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + b"".join(
        b" /%s %s" % (k.encode(), v) for k, v in extra.items()
    )
    return {1: catalog + b" >>", 2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", 3: _PAGE, 4: _CONTENT}


def deep_arrays(depth: int = 200_000) -> bytes:
    return raw_pdf({**_one_page(Deep=b"5 0 R"), 5: b"[" * depth + b"]" * depth})


def deep_dictionaries(depth: int = 100_000) -> bytes:
    return raw_pdf({**_one_page(Deep=b"5 0 R"), 5: b"<< /A " * depth + b"1" + b" >>" * depth})


def page_tree_loop() -> bytes:
    """A /Pages node whose kids include its own parent and itself."""
    objects = _one_page()
    objects[2] = b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>"
    objects[5] = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 5 0 R] /Count 1 >>"
    return raw_pdf(objects)


def deep_page_tree(depth: int = 50_000) -> bytes:
    """One page at the bottom of a chain of 50 000 /Pages nodes."""
    objects = {
        1: b"<< /Type /Catalog /Pages 10 0 R >>",
        3: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>" % (10 + depth - 1),
        4: _CONTENT,
    }
    for i in range(depth):
        kid = b"%d 0 R" % (11 + i) if i < depth - 1 else b"3 0 R"
        parent = b" /Parent %d 0 R" % (9 + i) if i else b""
        objects[10 + i] = b"<< /Type /Pages /Kids [%s] /Count 1%s >>" % (kid, parent)
    return raw_pdf(objects)


def huge_page_tree(kids: int = 2_000_000) -> bytes:
    """One /Pages node listing the same page two million times (12 MB that qpdf expands to gigabytes)."""
    objects = _one_page()
    objects[2] = b"<< /Type /Pages /Kids [" + b"3 0 R " * kids + b"] /Count %d >>" % kids
    return raw_pdf(objects)


def declared_page_count(count: int = 5_000_000) -> bytes:
    """A small page tree that claims millions of pages."""
    objects = _one_page()
    objects[2] = b"<< /Type /Pages /Kids 5 0 R /Count %d >>" % count
    objects[5] = b"[3 0 R]"
    return raw_pdf(objects)


def xref_loop() -> bytes:
    """The trailer's /Prev points back at its own cross-reference section."""
    pdf = raw_pdf(_one_page())
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    return pdf.replace(b"/Root 1 0 R ", b"/Root 1 0 R /Prev %d " % xref)


STRUCTURES: dict[str, Callable[[], bytes]] = {
    "deep_arrays": deep_arrays,
    "deep_dictionaries": deep_dictionaries,
    "page_tree_loop": page_tree_loop,
    "deep_page_tree": deep_page_tree,
    "declared_page_count": declared_page_count,
    "xref_loop": xref_loop,
}
