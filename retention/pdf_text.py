"""What the PDFs retention draws share (disposal record, inspection report, check records): a Unicode font that
renders Vietnamese, word wrapping for reportlab's single-line drawString, the page layouts, and the machine-readable
copy of a report's facts embedded in its PDF."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path
from typing import Any

FONT_PATH = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
FONT_BOLD_PATH = Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf")


def fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with reportlab."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # Vietnamese needs a real Unicode font: the PDF base-14 fonts have no ư, ơ, ạ …
    if "NotoSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("NotoSans", str(FONT_PATH)))
    bold = "NotoSans"
    if FONT_BOLD_PATH.exists():
        if "NotoSans-Bold" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("NotoSans-Bold", str(FONT_BOLD_PATH)))
        bold = "NotoSans-Bold"
    return "NotoSans", bold


def wrap(text: str, width: int) -> list[str]:
    out: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        out.append(current)
    return out


class Report:
    """A report page set in the layout of Nghị định 30/2020/NĐ-CP (Phụ lục I): the issuing body top left with the
    number under it, the national motto top right with the date, the kind and summary of the document centred, then
    the body, and at the end the recipients (Nơi nhận) on the left and the signer's title on the right.
    `line` wraps and breaks pages; `table` repeats its heading on each page."""

    def __init__(self, title: str, author: str, *, landscape: bool = False, subject: str = "") -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.pagesizes import landscape as turned
        from reportlab.pdfgen import canvas

        self.regular, self.bold = fonts()
        self.buf = BytesIO()
        size = turned(A4) if landscape else A4
        self.c = canvas.Canvas(self.buf, pagesize=size, pageCompression=1, invariant=1)
        self.c.setTitle(title)
        self.c.setAuthor(author)
        if subject:
            self.c.setSubject(subject)
        self.width, self.height = size
        self.left = 45.0
        self.y = self.height - 50

    def _room(self, needed: float) -> bool:
        """Start a new page unless `needed` points remain; True when it did."""
        if self.y - needed >= 45:
            return False
        self.c.showPage()
        self.y = self.height - 50
        return True

    def line(
        self, text: str, size: float = 9.5, bold: bool = False, indent: float = 0, gap: float = 3.5
    ) -> None:
        font = self.bold if bold else self.regular
        for part in wrap(text, int((self.width - 2 * self.left - indent) / (size * 0.5))) or [""]:
            self._room(size)
            self.c.setFont(font, size)
            self.c.drawString(self.left + indent, self.y, part)
            self.y -= size + gap

    def space(self, points: float) -> None:
        self.y -= points

    def header(self, *, parent: str, issuer: str, number: str, when: str, kind: str, summary: str) -> None:
        c, left, right = self.c, self.left + 90, self.width - self.left - 150
        top = self.y
        c.setFont(self.regular, 10)
        c.drawCentredString(left, top, parent.upper()[:60])
        c.setFont(self.bold, 10)
        c.drawCentredString(left, top - 13, issuer.upper()[:60])
        c.line(left - 30, top - 19, left + 30, top - 19)
        c.setFont(self.regular, 10)
        c.drawCentredString(left, top - 34, f"Số: {number}")
        c.setFont(self.bold, 10)
        c.drawCentredString(right, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        c.drawCentredString(right, top - 13, "Độc lập - Tự do - Hạnh phúc")
        c.line(right - 62, top - 19, right + 62, top - 19)
        c.setFont(self.regular, 10)
        c.drawCentredString(right, top - 34, when)
        self.y = top - 62
        c.setFont(self.bold, 13)
        c.drawCentredString(self.width / 2, self.y, kind)
        self.y -= 16
        c.setFont(self.bold, 11)
        for part in wrap(summary, 90):
            c.drawCentredString(self.width / 2, self.y, part)
            self.y -= 14
        self.y -= 10

    def motto(self, kind: str, subtitle: str = "") -> None:
        """The national motto top right and the kind of document centred: the plain layout of the reports the system
        itself draws up (check records, inspection reports), which carry no issuing body's number."""
        c = self.c
        c.setFont(self.regular, 10)
        c.drawRightString(self.width - self.left, self.y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        c.drawRightString(self.width - self.left, self.y - 14, "Độc lập - Tự do - Hạnh phúc")
        self.y -= 44
        c.setFont(self.bold, 14)
        c.drawCentredString(self.width / 2, self.y, kind)
        if subtitle:
            self.y -= 18
            c.setFont(self.regular, 10)
            c.drawCentredString(self.width / 2, self.y, subtitle)
        self.y -= 24

    def table(
        self, heading: list[str], rows: list[list[str]], widths: list[float], size: float = 7.5
    ) -> None:
        """A ruled table; `widths` in points, cell text wrapped to its column."""
        c = self.c

        def cells(texts: list[str], font: str) -> None:
            parts = [
                wrap(t, max(4, int((w - 4) / (size * 0.5)))) or [""]
                for t, w in zip(texts, widths, strict=True)
            ]
            height = max(len(p) for p in parts) * (size + 2) + 4
            if self._room(height) and font != self.bold:
                cells(heading, self.bold)
            x = self.left
            for p, w in zip(parts, widths, strict=True):
                c.rect(x, self.y - height + size + 2, w, height)
                c.setFont(font, size)
                for n, text in enumerate(p):
                    c.drawString(x + 2, self.y - n * (size + 2), text)
                x += w
            self.y -= height

        self._room(3 * size)
        cells(heading, self.bold)
        for row in rows:
            cells(row, self.regular)
        self.y -= 8

    def closing(self, recipients: list[str], signer: str, note: str) -> None:
        self._room(90)
        self.y -= 8
        top = self.y
        self.c.setFont(self.bold, 9)
        self.c.drawString(self.left, top, "Nơi nhận:")
        self.c.setFont(self.regular, 8.5)
        for n, r in enumerate(recipients, 1):
            self.c.drawString(self.left, top - n * 11, f"- {r};" if n < len(recipients) else f"- {r}.")
        right = self.width - self.left - 150
        self.c.setFont(self.bold, 10)
        self.c.drawCentredString(right, top, signer.upper())
        self.c.setFont(self.regular, 8.5)
        for n, part in enumerate(wrap(note, 60), 1):
            self.c.drawCentredString(right, top - n * 11, part)
        self.y = top - 11 * (max(len(recipients), 2) + 1)

    def finish(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self.buf.getvalue()


def with_json(pdf: bytes, name: str, data: dict[str, Any] | bytes, description: str = "") -> bytes:
    """`pdf` with `data` embedded as the JSON file `name`, so a machine can check the facts the page shows to people
    (the seal signed over the result covers both). Bytes are embedded as they are: their digest may be quoted
    elsewhere."""
    import pikepdf

    payload = (
        data
        if isinstance(data, bytes)
        else json.dumps(data, ensure_ascii=False, indent=1, default=str).encode()
    )
    with pikepdf.open(BytesIO(pdf)) as doc:
        doc.attachments[name] = pikepdf.AttachedFileSpec(
            doc, payload, mime_type="application/json", description=description
        )
        out = BytesIO()
        doc.save(out)
    return out.getvalue()
