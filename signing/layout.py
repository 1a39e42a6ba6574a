"""Where each signature of a chain goes on the page, so that no two ever overlap (Nghị định 30/2020, Phụ lục I).

The bottom row holds the last two personal signatures: the preparer (or the homeroom teacher) on the left, the head
(the principal, the group head) on the right. The organisation's seal sits immediately left of the head's signature.
NĐ 30 draws the seal over the left third of the head's signature; two digital signatures must not share a widget
rectangle (each one's appearance would hide the other's, and a viewer shows only one as clickable), so the seal's
rectangle abuts the head's instead of covering it. Several people of one step (every subject teacher of a class) sign
in rows of up to four above the bottom row. The blocks go below the last line of text of the last page; when that
page has no room, they go on a signature page appended at the end — before the first signature only, since a page
added after a signature is a change that invalidates it.
"""

from __future__ import annotations

import io
import re
import resource
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import enumerate_sig_fields

Rect = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF points

MARGIN = 40.0
ROW_BLOCK = (130.0, 92.0)  # one of several signers of a step: width, height
HEAD_BLOCK_H = 112.0
SEAL_SIDE = 84.0
GAP = 10.0
PER_ROW = 4


@dataclass(frozen=True)
class Slot:
    """One signature to place: `key` names it, `kind` is "row" (one of several), "left", "right" or "seal"."""

    key: str
    kind: str


@dataclass(frozen=True)
class Placement:
    page: int  # 0-based page index; -1 means the signature page to append
    boxes: dict[str, Rect]
    new_page: bool


def intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def needed_height(slots: Sequence[Slot]) -> float:
    rows = -(-sum(1 for s in slots if s.kind == "row") // PER_ROW)
    bottom = any(s.kind in ("left", "right", "seal") for s in slots)
    return rows * (ROW_BLOCK[1] + GAP) + (HEAD_BLOCK_H if bottom else 0.0)


def arrange(slots: Sequence[Slot], page_w: float, top: float) -> dict[str, Rect]:
    """Boxes for `slots` stacked downward from `top`: rows of signers first, the preparer/head row last."""
    width = page_w - 2 * MARGIN
    boxes: dict[str, Rect] = {}
    y = top
    row = [s for s in slots if s.kind == "row"]
    for start in range(0, len(row), PER_ROW):
        chunk = row[start : start + PER_ROW]
        w = min(ROW_BLOCK[0] * 1.4, width / len(chunk))
        x = MARGIN + (width - w * len(chunk)) / 2
        for s in chunk:
            boxes[s.key] = (x, y - ROW_BLOCK[1], x + w, y)
            x += w
        y -= ROW_BLOCK[1] + GAP
    half = width / 2
    bottom = y - HEAD_BLOCK_H
    for s in slots:
        if s.kind == "left":
            boxes[s.key] = (MARGIN, bottom, MARGIN + half - GAP, y)
        elif s.kind == "right":
            boxes[s.key] = (MARGIN + half + SEAL_SIDE, bottom, MARGIN + width, y)
        elif s.kind == "seal":
            mid = bottom + HEAD_BLOCK_H / 2
            x = MARGIN + half
            boxes[s.key] = (x, mid - SEAL_SIDE / 2, x + SEAL_SIDE, mid + SEAL_SIDE / 2)
    return boxes


def place(
    slots: Sequence[Slot],
    *,
    page_size: tuple[float, float],
    page_count: int,
    text_bottom: float | None,
    taken: Sequence[tuple[int, Rect]] = (),
    may_append: bool,
) -> Placement:
    """Below the text of the last page if the blocks fit there without touching a signature already on it, else on
    a new signature page (when `may_append`), else in the lowest free band of the last page."""
    page_w, page_h = page_size
    last = page_count - 1
    need = needed_height(slots)
    on_last = [r for p, r in taken if p == last]
    top = (text_bottom - 14) if text_bottom is not None else page_h - MARGIN
    if top - need >= MARGIN:
        boxes = arrange(slots, page_w, top)
        if not any(intersects(b, r) for b in boxes.values() for r in on_last):
            return Placement(last, boxes, False)
    if may_append:
        return Placement(-1, arrange(slots, page_w, page_h - 3 * MARGIN), True)
    # already signed and no room: scan upward from the bottom margin for a band free of signatures
    top = MARGIN + need
    while top <= page_h - MARGIN:
        boxes = arrange(slots, page_w, top)
        if not any(intersects(b, r) for b in boxes.values() for r in on_last):
            return Placement(last, boxes, False)
        top += GAP
    return Placement(last, arrange(slots, page_w, MARGIN + need), False)


# --- reading the page: where the text ends, which signature fields exist -----------------------------------------
_WORD = re.compile(rb'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"')
TEXT_LIMIT_BYTES = 512 * 1024 * 1024
TEXT_TIMEOUT_S = 30


def _limits() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (TEXT_LIMIT_BYTES, TEXT_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (TEXT_TIMEOUT_S, TEXT_TIMEOUT_S))


def text_bottom(pdf_bytes: bytes, page_index: int, page_height: float) -> float | None:
    """The lowest point of text on a page in PDF coordinates (None: no text found, or it could not be read).
    pdftotext runs as a child under memory and time limits: the file is whatever was uploaded."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf_bytes)
        f.flush()
        n = str(page_index + 1)
        try:
            out = subprocess.run(
                ["pdftotext", "-q", "-bbox", "-f", n, "-l", n, f.name, "-"],
                capture_output=True, timeout=TEXT_TIMEOUT_S, preexec_fn=_limits, check=False,
            ).stdout  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
    lows = [float(m.group(4)) for m in _WORD.finditer(out[: 64 * 1024 * 1024])]
    if not lows:
        return None
    return page_height - max(lows)  # pdftotext measures from the top


@dataclass(frozen=True)
class Field:
    name: str
    page: int
    rect: Rect
    signed: bool


def signature_fields(pdf_bytes: bytes) -> list[Field]:
    """Every signature field of the file with its page and rectangle (filled or empty)."""
    reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    pages = {}
    try:
        for ix in range(int(reader.root["/Pages"]["/Count"])):
            pages[reader.find_page_for_modification(ix)[0].idnum] = ix
    except Exception:  # an odd page tree: fields then report page -1 and are kept out of placement
        pages = {}
    out: list[Field] = []
    for name, value, ref in enumerate_sig_fields(reader):
        field = ref.get_object()
        widget = field
        if "/Rect" not in field and "/Kids" in field:
            widget = field["/Kids"][0].get_object()
        try:
            x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        except (KeyError, TypeError, ValueError):
            continue
        page_ref = widget.get_value_as_reference("/P") if "/P" in widget else None
        page = pages.get(page_ref.idnum, -1) if page_ref is not None else -1
        rect = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        out.append(Field(str(name), page, rect, value is not None))
    return out


def fold(name: str) -> str:
    """A field or step name compared without case, diacritics or punctuation: "Hiệu trưởng" → "hieutruong"."""
    import unicodedata

    text = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c)).lower()


def signature_page_pdf(size: tuple[float, float], heading: Sequence[str]) -> bytes:
    """A one-page PDF with a heading, imported as the appended signature page."""
    from reportlab.pdfgen import canvas

    from .appearance import _font

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size, pageCompression=1)
    c.setTitle("signature page")
    y = size[1] - MARGIN - 14
    for i, line in enumerate(heading):
        c.setFont(_font(i == 0), 13 if i == 0 else 11)
        c.drawCentredString(size[0] / 2, y, line)
        y -= 18
    c.showPage()
    c.save()
    return buf.getvalue()
