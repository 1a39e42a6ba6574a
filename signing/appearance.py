"""Visible signature appearances per Nghị định 30/2020, Phụ lục I.

- A person's signature: title (e.g. "HIỆU TRƯỞNG") on top, the blue signature image centred below it, the full name
  under the image. The organisation's red seal, when given, covers about the left third of the signature image.
- The organisation's signature on attachments and copies: text only, top right of page 1, Times-like 10 pt black:
  document number / copy form and organisation, then the signing time in ISO 8601 with +07:00.

The appearance is drawn with reportlab (which embeds a subset of a Noto TrueType font, so Vietnamese diacritics render
correctly) into a one-page PDF that pyHanko imports as the widget's appearance stream.
"""

from __future__ import annotations

import io
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pyhanko.pdf_utils import content, layout
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.stamp import StaticStampStyle

from .errors import SigningError

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")

# Times New Roman is not installable here; Noto Serif has the same role (serif, full Vietnamese coverage).
SERIF_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
)
SERIF_BOLD_FONTS = (
    "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
) + SERIF_FONTS

ImageSource = bytes | str | Path


@dataclass(frozen=True)
class Appearance:
    """How a signature looks on the page. Build one with :meth:`person`, :meth:`text_form` or :meth:`invisible`.

    ``page`` is 0-based (negative counts from the end); ``box`` is ``(x1, y1, x2, y2)`` in PDF points.
    """

    kind: Literal["person", "text", "invisible"] = "invisible"
    page: int = -1
    box: tuple[float, float, float, float] | None = None
    title: str | None = None
    full_name: str | None = None
    signature_image: ImageSource | None = None
    seal_image: ImageSource | None = None
    lines: tuple[str, ...] = ()
    font_size: float = 10.0
    # non-empty: append a signature page with this heading first (see signing.layout), then draw on it
    new_page_heading: tuple[str, ...] = ()

    @classmethod
    def person(
        cls,
        *,
        title: str,
        full_name: str,
        signature_image: ImageSource | None = None,
        seal_image: ImageSource | None = None,
        page: int = -1,
        box: tuple[float, float, float, float] | None = None,
    ) -> Appearance:
        return cls("person", page, box, title, full_name, signature_image, seal_image)

    def placed(self, page: int, box: tuple[float, float, float, float], new_page_heading=()) -> Appearance:
        """The same appearance at a chosen place (and, with a heading, on a signature page appended first)."""
        from dataclasses import replace

        return replace(self, page=page, box=box, new_page_heading=tuple(new_page_heading))

    @classmethod
    def text_form(
        cls, *lines: str, page: int = 0, box: tuple[float, float, float, float] | None = None
    ) -> Appearance:
        """Organisation's signature on attachments/copies, e.g. ``("Số: 12/QĐ-THPT", "SAO Y — Trường THPT X")``.

        The signing time line is appended when signing.
        """
        return cls("text", page, box, lines=tuple(lines))

    @classmethod
    def invisible(cls) -> Appearance:
        return cls("invisible")

    @property
    def visible(self) -> bool:
        return self.kind != "invisible"


def format_signing_time(moment: datetime) -> str:
    """ISO 8601 in Vietnam time, e.g. ``2026-11-28T09:15:00+07:00``."""
    return moment.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()


_font_lock = threading.Lock()
_fonts: dict[str, str] = {}


def _font(bold: bool) -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    key = "bold" if bold else "regular"
    with _font_lock:
        if key not in _fonts:
            for candidate in SERIF_BOLD_FONTS if bold else SERIF_FONTS:
                if Path(candidate).exists():
                    name = f"HosoSerif-{key}"
                    pdfmetrics.registerFont(TTFont(name, candidate))
                    _fonts[key] = name
                    break
            else:
                raise SigningError("no font with Vietnamese glyphs found (install fonts-noto-core)")
        return _fonts[key]


def _image_reader(source: ImageSource):
    from reportlab.lib.utils import ImageReader

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return ImageReader(io.BytesIO(data))
    except Exception as exc:
        raise SigningError(f"cannot read signature/seal image: {exc}") from exc


def _fit(reader, max_w: float, max_h: float) -> tuple[float, float]:
    iw, ih = reader.getSize()
    scale = min(max_w / iw, max_h / ih)
    return iw * scale, ih * scale


def text_form_size(appearance: Appearance, signing_time: datetime) -> tuple[float, float]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines = [*appearance.lines, format_signing_time(signing_time)]
    font = _font(False)
    width = max(stringWidth(line, font, appearance.font_size) for line in lines)
    return width + 4, len(lines) * appearance.font_size * 1.25 + 4


def render_appearance_pdf(
    appearance: Appearance, width: float, height: float, signing_time: datetime
) -> bytes:
    """One page of ``width`` × ``height`` points with the drawn appearance."""
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width, height), pageCompression=1)
    c.setTitle("signature appearance")
    if appearance.kind == "text":
        font = _font(False)
        size = appearance.font_size
        c.setFillColorRGB(0, 0, 0)
        c.setFont(font, size)
        lines = [*appearance.lines, format_signing_time(signing_time)]
        y = height - 2 - size
        for line in lines:
            c.drawRightString(width - 2, y, line)
            y -= size * 1.25
    else:
        _draw_person(c, appearance, width, height, signing_time)
    c.showPage()
    c.save()
    return buf.getvalue()


def _draw_person(c, appearance: Appearance, width: float, height: float, signing_time: datetime) -> None:
    if not (appearance.title or appearance.full_name or appearance.signature_image) and appearance.seal_image:
        seal = _image_reader(appearance.seal_image)  # the organisation's seal alone fills its own box
        seal_w, seal_h = _fit(seal, width, height)
        c.drawImage(seal, (width - seal_w) / 2, (height - seal_h) / 2, seal_w, seal_h, mask="auto")
        return
    bold = _font(True)
    title_size = min(12.0, height / 10)
    name_size = title_size
    c.setFillColorRGB(0, 0, 0)
    c.setFont(bold, title_size)
    if appearance.title:
        c.drawCentredString(width / 2, height - title_size * 1.2, appearance.title)
    if appearance.full_name:
        c.drawCentredString(width / 2, name_size * 0.5, appearance.full_name)
    zone_bottom = name_size * 1.6
    zone_top = height - title_size * 1.7
    zone_h = max(zone_top - zone_bottom, 1)
    sig_w, sig_h = width * 0.5, zone_h
    sig_x = (width - sig_w) / 2
    if appearance.signature_image is not None:
        img = _image_reader(appearance.signature_image)
        sig_w, sig_h = _fit(img, width * 0.5, zone_h)
        sig_x = (width - sig_w) / 2
        c.drawImage(img, sig_x, zone_bottom + (zone_h - sig_h) / 2, sig_w, sig_h, mask="auto")
    elif appearance.full_name:
        # no handwritten image: say in words that it is signed, and when (Vietnam time)
        size = max(6.0, min(9.0, zone_h / 3))
        c.setFillColorRGB(0.05, 0.2, 0.6)
        c.setFont(_font(False), size)
        when = signing_time.astimezone(VIETNAM_TZ).strftime("%d/%m/%Y %H:%M")
        c.drawCentredString(width / 2, zone_bottom + zone_h / 2 + size * 0.2, "Đã ký số")
        c.drawCentredString(width / 2, zone_bottom + zone_h / 2 - size * 1.1, when)
        c.setFillColorRGB(0, 0, 0)
    if appearance.seal_image is not None:
        # drawn after the signature so it lies on top; its right edge ends a third of the way into the signature
        seal = _image_reader(appearance.seal_image)
        seal_w, seal_h = _fit(seal, width * 0.4, zone_h * 1.15)
        seal_x = max(0.0, sig_x + sig_w / 3 - seal_w)
        seal_y = zone_bottom + (zone_h - seal_h) / 2
        c.drawImage(seal, seal_x, seal_y, seal_w, seal_h, mask="auto")


class ImportedPdfBytes(content.PdfContent):
    """Like pyHanko's ``ImportedPdfPage`` but from bytes in memory, not a file."""

    def __init__(self, data: bytes):
        super().__init__()
        self.data = data

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.data)), page_ix=0)
        name = "/Import" + uuid.uuid4().hex
        self.resources.xobject[name] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return name.encode("ascii") + b" Do"


def stamp_style_for(appearance: Appearance, width: float, height: float, signing_time: datetime):
    pdf = render_appearance_pdf(appearance, width, height, signing_time)
    return StaticStampStyle(
        background=ImportedPdfBytes(pdf),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )


PERSON_BOX_SIZE = (220.0, 150.0)
MARGIN = 36.0


def resolve_box(
    appearance: Appearance, page_size: tuple[float, float], signing_time: datetime
) -> tuple[float, float, float, float]:
    if appearance.box is not None:
        return appearance.box
    page_w, page_h = page_size
    if appearance.kind == "text":
        w, h = text_form_size(appearance, signing_time)
        return (page_w - MARGIN - w, page_h - MARGIN / 2 - h, page_w - MARGIN, page_h - MARGIN / 2)
    w, h = PERSON_BOX_SIZE
    return (page_w - MARGIN - w, MARGIN, page_w - MARGIN, MARGIN + h)
