"""What the PDFs retention draws share (disposal record, inspection report, check records): a Unicode font that
renders Vietnamese, and word wrapping for reportlab's single-line drawString."""

from __future__ import annotations

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
