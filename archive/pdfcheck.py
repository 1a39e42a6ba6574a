"""Inspect an uploaded PDF with pikepdf: refuse what we must not keep, report what we learn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pikepdf

from .errors import IngestRefused

EXECUTABLE_EXTENSIONS = (
    ".exe", ".dll", ".com", ".bat", ".cmd", ".scr", ".msi", ".ps1", ".vbs", ".vbe", ".js", ".jse",
    ".wsf", ".jar", ".sh", ".app", ".pif", ".cpl", ".hta", ".lnk", ".reg",
)  # fmt: skip
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMedia"}


@dataclass(frozen=True)
class PdfFacts:
    page_count: int
    signed: bool
    signature_count: int


def inspect_pdf(path: Path) -> PdfFacts:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise _refuse(
            "encrypted_pdf", "Tệp PDF được bảo vệ bằng mật khẩu", "The PDF is password-protected"
        ) from None
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError) as exc:
        raise _refuse(
            "not_pdf", "Tệp không phải PDF hợp lệ hoặc bị hỏng", f"The file is not a readable PDF ({exc})"
        ) from None
    with pdf:
        if pdf.is_encrypted:
            raise _refuse("encrypted_pdf", "Tệp PDF bị mã hóa", "The PDF is encrypted")
        reason = _active_content(pdf)
        if reason:
            raise _refuse(
                "active_content",
                f"Tệp PDF chứa nội dung thực thi ({reason}); hãy xuất lại tệp không có mã lệnh",
                f"The PDF carries active content ({reason}); export it again without scripts or attachments",
            )
        try:
            pages = len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise _refuse(
                "not_pdf", "Tệp PDF bị hỏng (không đọc được trang)", f"Broken PDF page tree ({exc})"
            ) from None
        if pages == 0:
            raise _refuse("not_pdf", "Tệp PDF không có trang nào", "The PDF has no pages")
        sigs = _signature_count(pdf)
    return PdfFacts(page_count=pages, signed=sigs > 0, signature_count=sigs)


def _refuse(code: str, vi: str, en: str) -> IngestRefused:
    return IngestRefused(vi, en, code=code)


def _active_content(pdf: pikepdf.Pdf) -> str | None:
    names = pdf.Root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        return "JavaScript"
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream):
            d: pikepdf.Object = obj.stream_dict
        elif isinstance(obj, pikepdf.Dictionary):
            d = obj
        else:
            continue
        if "/JS" in d:
            return "JavaScript"
        action = d.get("/S")
        if isinstance(action, pikepdf.Name) and str(action) in ACTIVE_ACTIONS:
            return str(action)[1:]
        if d.get("/Type") == pikepdf.Name.Filespec:
            fname = str(d.get("/UF", d.get("/F", ""))).lower()
            if fname.endswith(EXECUTABLE_EXTENSIONS):
                return f"embedded executable {fname}"
        if isinstance(obj, pikepdf.Stream) and d.get("/Type") == pikepdf.Name.EmbeddedFile:
            try:
                head = obj.read_bytes()[:8]
            except pikepdf.PdfError:
                head = b""
            if head.startswith(EXECUTABLE_MAGIC):
                return "embedded executable"
    return None


def _signature_count(pdf: pikepdf.Pdf) -> int:
    acro = pdf.Root.get("/AcroForm")
    if not isinstance(acro, pikepdf.Dictionary):
        return 0
    count = 0
    stack = list(acro.get("/Fields", []))
    seen: set[tuple[int, int]] = set()
    while stack:
        field = stack.pop()
        if not isinstance(field, pikepdf.Dictionary):
            continue
        og = field.objgen
        if og in seen:
            continue
        seen.add(og)
        if field.get("/FT") == pikepdf.Name.Sig and isinstance(field.get("/V"), pikepdf.Dictionary):
            count += 1
        stack.extend(field.get("/Kids", []))
    return count
