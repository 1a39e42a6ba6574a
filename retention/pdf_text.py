"""What the PDFs retention draws share (disposal record, inspection report, check records): a Unicode font that
renders Vietnamese, and word wrapping for reportlab's single-line drawString."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

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


class Sheet:
    """An A4 report drawn with reportlab, the layout every biên bản shares (NĐ 30/2020 Phụ lục I): the issuing body
    on the left (superior body, then the school, then the number), the national motto on the right, the title centred,
    then wrapped lines that flow onto new pages."""

    def __init__(self, title: str, *, subject: str = "") -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas

        self.regular, self.bold = fonts()
        self._buf = BytesIO()
        self.c = canvas.Canvas(self._buf, pagesize=A4, pageCompression=1, invariant=1)
        self.c.setTitle(title)
        self.c.setAuthor("hoso — Kho hồ sơ số")
        if subject:
            self.c.setSubject(subject)
        self.width, self.height = A4
        self.left = 45.0
        self.y = self.height - 55

    def header(
        self, title: str, *, issuer: tuple[str, str] | None = None, number: str = "", dated: str = ""
    ) -> None:
        """`issuer` is (superior body, issuing body); `dated` the "…, ngày … tháng … năm …" line."""
        c, right = self.c, self.width - self.left
        top = self.y
        if issuer is not None:
            centre = self.left + 110
            c.setFont(self.regular, 10)
            c.drawCentredString(centre, top, issuer[0].upper())
            c.setFont(self.bold, 10)
            c.drawCentredString(centre, top - 14, issuer[1].upper())
            if number:
                c.setFont(self.regular, 10)
                c.drawCentredString(centre, top - 32, number)
        c.setFont(self.bold if issuer else self.regular, 10)
        c.drawRightString(right, top, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
        c.setFont(self.regular, 10)
        c.drawRightString(right - 25, top - 14, "Độc lập - Tự do - Hạnh phúc")
        if dated:
            c.drawRightString(right - 10, top - 32, dated)
        self.y = top - (60 if issuer or dated else 44)
        c.setFont(self.bold, 14)
        c.drawCentredString(self.width / 2, self.y, title)
        self.y -= 24

    def line(self, text: str, size: float = 9.5, font: str = "", indent: float = 0, gap: float = 3.5) -> None:
        for part in wrap(text, int((self.width - 2 * self.left - indent) / (size * 0.5))) or [""]:
            if self.y < 55:
                self.c.showPage()
                self.y = self.height - 55
            self.c.setFont(font or self.regular, size)
            self.c.drawString(self.left + indent, self.y, part)
            self.y -= size + gap

    def skip(self, points: float) -> None:
        self.y -= points

    def pdf(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self._buf.getvalue()
