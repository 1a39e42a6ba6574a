"""Inspect an uploaded PDF with pikepdf: refuse what we must not keep, report what we learn.

Two things are refused besides broken and encrypted files:

- **Decompression bombs** (`decompression_bomb`): every stream reachable in the file, object streams first, is
  decoded incrementally with a size bound (archive/bounded.py), never in one piece, so an 8 KB file that inflates to
  gigabytes is refused in constant memory. What qpdf itself decodes while opening (a cross-reference stream) cannot be
  bounded that way, so the whole inspection runs in a worker process of a small pool (archive/inspection_pool.py)
  with an address-space limit and a time limit: whatever the file does, the server keeps its memory and gets an
  answer, and a worker that failed is replaced.
- **Active content** (`active_content`): anything a reader would execute or fetch. The whole object graph is walked
  from the trailer — direct objects included, each indirect object once (cycles), with a bounded budget — because an
  action written as a direct object inside an annotation is as live as an indirect one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pikepdf

from . import bounded, inspection_pool
from .errors import IngestRefused

# Limits. A 300-dpi A4 colour scan page decoded is 2480 × 3508 × 3 bytes ≈ 26 MB, a 600-dpi A3 colour page ≈ 209 MB;
# no stream of a school's PDF gets near MAX_STREAM_DECODED. Over a whole document, MAX_TOTAL_DECODED allows the
# 200 MB upload limit at an average compression ratio of 20:1 (real scans and text compress 2–10:1; only blank areas
# compress more), and bounds the time spent inflating (about a second per GiB).
MAX_STREAM_DECODED = 256 * 1024 * 1024
MAX_TOTAL_DECODED = 4 * 1024 * 1024 * 1024
# Objects and array elements visited in the walk. A 500-page tagged report has a few hundred thousand.
MAX_VISITS = 5_000_000
# Pages a document may declare. A year's class register of a large school is a few thousand pages.
MAX_PAGES = 20_000
# What qpdf says when a file nests deeper than its parser allows (it drops the rest silently), or when references or
# cross-reference sections run in a circle: readers disagree on such files, so they are refused, not repaired.
_STRUCTURE_WARNINGS = re.compile(r"parser-max-nesting|too deeply nested|loop detected", re.IGNORECASE)
# The inspection worker: address space on top of what it already maps (it reads one raw stream at a time, at most
# the file size, and qpdf's object table), and wall-clock time.
CHILD_MEMORY_HEADROOM = 512 * 1024 * 1024
CHILD_TIME_LIMIT = 120.0
MAGIC_BYTES = 512

EXECUTABLE_EXTENSIONS = (
    ".exe", ".dll", ".com", ".bat", ".cmd", ".scr", ".msi", ".msp", ".ps1", ".psm1", ".vbs", ".vbe", ".vb", ".js",
    ".jse", ".mjs", ".wsf", ".wsh", ".ws", ".jar", ".sh", ".bash", ".app", ".pif", ".cpl", ".hta", ".lnk", ".reg",
    ".scf", ".inf", ".gadget", ".application", ".appref-ms", ".msc", ".url", ".iso", ".img", ".vhd", ".vhdx",
    ".html", ".htm", ".xhtml", ".shtml", ".mht", ".mhtml", ".svg", ".svgz", ".xml-js", ".swf", ".py", ".pyw",
    ".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".xlsb", ".xla", ".pptm", ".potm", ".ppsm", ".ppam", ".sldm",
    ".ppa", ".accdb", ".accde", ".mdb", ".mde", ".one", ".xll", ".wll", ".pdf.exe",
)  # fmt: skip
EXECUTABLE_MIME = re.compile(
    r"(x-ms-?download|x-msdos|x-dosexec|x-executable|x-elf|x-mach|x-sh$|x-shellscript|javascript|ecmascript|"
    r"^text/html|xhtml|svg|hta|macroenabled|vnd\.ms-excel\.addin|x-ms-installer|x-msi|java-archive|"
    r"x-shockwave-flash|vbscript)",
    re.IGNORECASE,
)
EXECUTABLE_MAGIC = (
    b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf", b"FWS", b"CWS", b"ZWS", b"L\x00\x00\x00\x01\x14\x02\x00",
)  # fmt: skip
MARKUP_MAGIC = re.compile(
    rb"^\s*(<!doctype\s+html|<html|<script|<svg|<hta:|<\?xml[^>]*>\s*(<!--.*?-->\s*)*<svg)", re.I | re.S
)

# Actions a reader may carry out without running or fetching anything we do not control. /URI, /GoToR and /GoToE are
# further checked (the target); every other action type — JavaScript, Launch, SubmitForm, ImportData,
# RichMediaExecute, GoToDp, and any unknown one — is refused.
SAFE_ACTIONS = {
    "/GoTo", "/GoToR", "/GoToE", "/Named", "/URI", "/Thread", "/Hide", "/ResetForm", "/SetOCGState", "/Trans",
    "/GoTo3DView", "/Sound", "/Movie", "/Rendition",
}  # fmt: skip
SAFE_URI_SCHEMES = {"http", "https", "mailto", "tel"}
# keys whose value is an action (or, for /AA, a dictionary of actions; for /Next, one or an array of them)
ACTION_KEYS = {"/A", "/OpenAction", "/Next", "/PA"}
# annotation and XObject types that embed players or scripts
ACTIVE_SUBTYPES = {"/RichMedia", "/Flash"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


@dataclass(frozen=True)
class PdfFacts:
    page_count: int
    signed: bool
    signature_count: int
    # the PDF/A part and conformance the file claims in its XMP ("2B", "1A"…), "" when it claims none
    pdfa_claim: str = ""


class _Refusal(Exception):
    """Raised inside the inspection; becomes an IngestRefused in the caller (exceptions with keyword-only arguments
    do not cross a process boundary, plain tuples do)."""

    def __init__(self, code: str, vi: str, en: str) -> None:
        super().__init__(code, vi, en)
        self.code, self.vi, self.en = code, vi, en


def inspect_pdf(path: Path, *, isolate: bool = True) -> PdfFacts:
    """Facts about a PDF we may keep, or IngestRefused (not_pdf, encrypted_pdf, active_content, decompression_bomb,
    too_complex). Runs in a worker process of the inspection pool, with memory and time limits, unless `isolate` is
    False."""
    if not isolate:
        outcome = _outcome(path)
        if isinstance(outcome, PdfFacts):
            return outcome
        code, vi, en = outcome
        raise IngestRefused(vi, en, code=code)
    with inspection(path) as job:
        return job.facts()


@contextmanager
def inspection(path: Path, text: dict[str, Any] | None = None) -> Iterator[Inspection]:
    """One file in a worker of the pool: its facts, then, if the caller asks (content_checks.start_pdf_text), its
    text read by the same worker while the caller writes the copies. `text`: the text request the caller will make
    (content_checks.text_request), which the worker then starts during the inspection. The worker goes back to the
    pool (or is replaced) when the block ends."""
    with inspection_pool.default().session() as session:
        yield Inspection(session, path, text)


class Inspection:
    def __init__(
        self, session: inspection_pool.Session, path: Path, text: dict[str, Any] | None = None
    ) -> None:
        self.session, self.path, self.text = session, path, text
        self._facts: PdfFacts | None = None

    def facts(self) -> PdfFacts:
        if self._facts is None:
            self._facts = _facts_of(self._ask())
        return self._facts

    def _ask(self) -> dict[str, Any]:
        request = {
            "op": "inspect",
            "path": str(self.path),
            "headroom": CHILD_MEMORY_HEADROOM,
            "text": self.text,
        }
        try:
            return self.session.ask(request, CHILD_TIME_LIMIT)
        except inspection_pool.WorkerTimeout:
            raise IngestRefused(
                f"Không kiểm tra xong tệp PDF trong {CHILD_TIME_LIMIT:.0f} giây; tệp quá phức tạp nên không được lưu",
                f"The PDF could not be inspected within {CHILD_TIME_LIMIT:.0f} s; it is too complex to store",
                code="too_complex",
            ) from None
        except inspection_pool.WorkerLost:
            return {}  # the worker died: qpdf aborts when an allocation fails under the limit


def _facts_of(answer: dict[str, Any]) -> PdfFacts:
    facts, refused = answer.get("facts"), answer.get("refused")
    if isinstance(facts, dict):
        try:
            return PdfFacts(
                page_count=int(facts["page_count"]),
                signed=facts["signed"] is True,
                signature_count=int(facts["signature_count"]),
                pdfa_claim=str(facts["pdfa_claim"]),
            )
        except (KeyError, TypeError, ValueError):
            pass  # not an answer the worker's code writes: treated like a worker that died
    if isinstance(refused, list) and len(refused) == 3 and all(isinstance(x, str) for x in refused):
        code, vi, en = refused
        raise IngestRefused(vi, en, code=code)
    code, vi, en = _memory_refusal()
    raise IngestRefused(vi, en, code=code)


def _outcome(path: Path) -> PdfFacts | tuple[str, str, str]:
    try:
        return _inspect(path)
    except _Refusal as r:
        return r.code, r.vi, r.en
    except MemoryError:
        return _memory_refusal()


def _memory_refusal() -> tuple[str, str, str]:
    mb = CHILD_MEMORY_HEADROOM // (1024 * 1024)
    return (
        "decompression_bomb",
        f"Tệp PDF cần quá nhiều bộ nhớ để kiểm tra (hơn {mb} MB), có thể là «bom giải nén» hoặc cây trang quá lớn; "
        "tệp không được lưu",
        f"The PDF needs more than {mb} MB of memory to inspect (a decompression bomb or a huge page tree?); "
        "it was not stored",
    )


def _structure_refusal(detail: str) -> _Refusal:
    return _refuse(
        "too_complex",
        "Tệp PDF có cấu trúc lồng nhau quá sâu hoặc tham chiếu vòng; tệp không được lưu",
        f"The PDF nests too deeply or its references run in a loop ({_without_path(detail)[:200]}); "
        "it was not stored",
    )


def _out_of_memory() -> bool:
    try:
        bytearray(1024 * 1024)
    except MemoryError:
        return True
    return False


def _refuse(code: str, vi: str, en: str) -> _Refusal:
    return _Refusal(code, vi, en)


def _inspect(path: Path) -> PdfFacts:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise _refuse(
            "encrypted_pdf", "Tệp PDF được bảo vệ bằng mật khẩu", "The PDF is password-protected"
        ) from None
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError) as exc:
        if _STRUCTURE_WARNINGS.search(str(exc)):
            raise _structure_refusal(str(exc)) from None
        raise _refuse(
            "not_pdf", "Tệp không phải PDF hợp lệ hoặc bị hỏng", f"The file is not a readable PDF ({exc})"
        ) from None
    with pdf:
        if pdf.is_encrypted:
            raise _refuse("encrypted_pdf", "Tệp PDF bị mã hóa", "The PDF is encrypted")
        _check_declared_pages(pdf)
        walk = _Walk(pdf)
        try:
            walk.object_streams()  # before anything resolves an object stored in one of them
            reason = walk.run()
        except bounded.TooLarge as exc:
            raise _refuse(
                "decompression_bomb",
                f"Tệp PDF chứa dữ liệu nén giải ra quá lớn ({exc}); có thể là «bom giải nén», tệp không được lưu",
                f"The PDF holds compressed data that inflates beyond the limit ({exc}); a decompression bomb "
                "is not stored",
            ) from None
        except pikepdf.PdfError as exc:
            if _STRUCTURE_WARNINGS.search(str(exc)):
                raise _structure_refusal(str(exc)) from None
            raise _refuse("not_pdf", "Tệp PDF bị hỏng", f"Broken PDF ({exc})") from None
        if reason:
            raise _refuse(
                "active_content",
                f"Tệp PDF chứa nội dung thực thi ({reason}); hãy xuất lại tệp không có mã lệnh",
                f"The PDF carries active content ({reason}); export it again without scripts or attachments",
            )
        try:
            pages = len(pdf.pages)
        except pikepdf.PdfError as exc:
            if _STRUCTURE_WARNINGS.search(str(exc)):
                raise _structure_refusal(str(exc)) from None
            raise _refuse(
                "not_pdf", "Tệp PDF bị hỏng (không đọc được trang)", f"Broken PDF page tree ({exc})"
            ) from None
        if pages == 0:
            raise _refuse("not_pdf", "Tệp PDF không có trang nào", "The PDF has no pages")
        sigs = _signature_count(pdf)
        # every object has been parsed by now (the walk resolved them all): qpdf's warnings are complete
        structural = [w for w in pdf.get_warnings() if _STRUCTURE_WARNINGS.search(w)]
        if structural:
            raise _structure_refusal(structural[0])
        claim = _pdfa_claim(pdf)
    return PdfFacts(page_count=pages, signed=sigs > 0, signature_count=sigs, pdfa_claim=claim)


def _pdfa_claim(pdf: pikepdf.Pdf) -> str:
    try:
        return pdf.open_metadata().pdfa_status or ""
    except Exception:  # lxml's syntax errors and qpdf's alike: unreadable XMP claims nothing
        return ""


def _without_path(message: str) -> str:
    # qpdf starts its messages with the file's path, a server detail the uploader has no business seeing
    return message.split(": ", 1)[-1]


def _check_declared_pages(pdf: pikepdf.Pdf) -> None:
    """Refuse a page tree that declares more pages than any school document has, before qpdf builds its list."""
    try:
        count = int(pdf.Root.Pages.get("/Count", 0))
    except (AttributeError, TypeError, ValueError, pikepdf.PdfError):
        return  # a missing or odd tree is judged when the pages are counted
    if count > MAX_PAGES:
        raise _refuse(
            "too_complex",
            f"Tệp PDF khai báo {count} trang, quá {MAX_PAGES} trang cho phép; tệp không được lưu",
            f"The PDF declares {count} pages, more than the {MAX_PAGES} allowed; it was not stored",
        )


class _Walk:
    """One pass over the object graph: every stream measured, every dictionary judged in its context."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.seen: set[tuple[int, int]] = set()
        self.visits = 0
        self.decoded = 0

    # streams ----------------------------------------------------------------------------------------------------

    def measure(self, stream: pikepdf.Stream, prefix: int = 0) -> bounded.Measured:
        filters = _as_list(stream.get("/Filter"))
        parms = _as_list(stream.get("/DecodeParms"))
        names = [str(f) for f in filters if isinstance(f, pikepdf.Name)]
        plain = [
            {str(k): _scalar(v) for k, v in p.items()} if isinstance(p, pikepdf.Dictionary) else None
            for p in parms
        ]
        budget = min(MAX_STREAM_DECODED, MAX_TOTAL_DECODED - self.decoded)
        try:
            result = bounded.measure(stream.read_raw_bytes(), names, plain, limit=budget, prefix=prefix)
        except bounded.TooLarge as exc:
            if budget < MAX_STREAM_DECODED:
                raise bounded.TooLarge(
                    f"all streams together larger than {MAX_TOTAL_DECODED // 1024**3} GiB"
                ) from exc
            raise
        self.decoded += result.decoded
        return result

    def object_streams(self) -> None:
        """qpdf decodes an object stream whole when it resolves an object stored in it: measure those first."""
        containers = {
            entry.obj_stream_number
            for entry in self.pdf.get_xref_table().values()
            if entry.type == 2 and entry.obj_stream_number is not None
        }
        for number in sorted(containers):
            obj = self.pdf.get_object((number, 0))
            if isinstance(obj, pikepdf.Stream):
                self.measure(obj)

    # the graph --------------------------------------------------------------------------------------------------

    def run(self) -> str | None:
        stack: list[tuple[pikepdf.Object, str]] = [(self.pdf.trailer, "")]
        # objects no path from the trailer reaches are still in the file: a reader never shows them, but they are
        # decoded by tools that list every object, so they are measured too
        for reason in self._drain(stack):
            return reason
        for obj in self.pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
                stack.append((obj, ""))
                for reason in self._drain(stack):
                    return reason
        return None

    def _drain(self, stack: list[tuple[pikepdf.Object, str]]) -> Iterator[str]:
        while stack:
            obj, context = stack.pop()
            if obj.is_indirect:
                og = obj.objgen
                if og in self.seen:
                    continue
                self.seen.add(og)
            self._count()
            if isinstance(obj, pikepdf.Array):
                for item in obj:
                    self._count()
                    if isinstance(item, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
                        # an array under /Next is a list of actions; elsewhere the context stops here
                        stack.append((item, context if context == "/Next" else ""))
                continue
            if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                continue
            reason = self._judge(obj, context)
            if reason:
                yield reason
                return
            for key, value in obj.items():
                self._count()
                if isinstance(value, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array):
                    stack.append((value, _child_context(context, key)))

    def _count(self) -> None:
        self.visits += 1
        if self.visits > MAX_VISITS:
            raise _refuse(
                "too_complex",
                "Tệp PDF có quá nhiều đối tượng để kiểm tra; tệp không được lưu",
                f"The PDF has more than {MAX_VISITS} objects to inspect; it was not stored",
            )

    def _judge(self, d: pikepdf.Object, context: str) -> str | None:
        if isinstance(d, pikepdf.Stream):
            is_file = context == "/EF" or d.get("/Type") == pikepdf.Name.EmbeddedFile
            measured = self.measure(d, MAGIC_BYTES if is_file else 0)
            if is_file:
                reason = _executable_content(measured.prefix) or _executable_mime(d.get("/Subtype"))
                if reason:
                    return reason
        if "/JS" in d:
            return "JavaScript"
        if "/JavaScript" in d:  # the name tree of document-level scripts, run when the file opens
            return "document JavaScript"
        subtype = d.get("/Subtype")
        if isinstance(subtype, pikepdf.Name) and str(subtype) in ACTIVE_SUBTYPES:
            return f"{str(subtype)[1:]} annotation"
        if "/OnInstantiate" in d:
            return "3D JavaScript"
        if "/XFA" in d:
            # XFA forms carry their own scripts in XML packets; deprecated in PDF 2.0 and never produced by the tools
            # schools use, so they are refused outright rather than parsed for scripts
            return "XFA form"
        action = d.get("/S")
        is_action = context in ("/A", "/Next") or d.get("/Type") == pikepdf.Name.Action
        if is_action and isinstance(action, pikepdf.Name):
            reason = _judge_action(str(action), d)
            if reason:
                return reason
        if d.get("/Type") == pikepdf.Name.Filespec or context == "/FS" or "/EF" in d:
            for key in ("/UF", "/F", "/Unix", "/DOS", "/Mac"):
                name = _text(d.get(key)).lower()
                if name.endswith(EXECUTABLE_EXTENSIONS):
                    return f"embedded executable {name}"
        return None


def _child_context(context: str, key: str) -> str:
    if context == "/AA":
        return "/A"  # each entry of an additional-actions dictionary is an action
    if key in ACTION_KEYS:
        return "/A" if key != "/Next" else "/Next"
    if key in ("/AA", "/EF", "/FS"):
        return key
    if context == "/EF":
        return "/EF"
    return ""


def _judge_action(action: str, d: pikepdf.Object) -> str | None:
    if action not in SAFE_ACTIONS:
        return f"{action[1:]} action"
    if action == "/URI":
        uri = _text(d.get("/URI"))
        if not _safe_uri(uri):
            return f"link {uri[:80]!r}"
    if action in ("/GoToR", "/GoToE"):
        target = d.get("/F")
        names = [_text(target)]
        if isinstance(target, pikepdf.Dictionary):
            if target.get("/FS") == pikepdf.Name.URL:
                return f"{action[1:]} to a URL"
            names = [_text(target.get(k)) for k in ("/UF", "/F", "/Unix", "/DOS", "/Mac")]
        for name in names:
            if _network_path(name):
                return f"{action[1:]} to {name[:80]!r}"
    return None


def _safe_uri(uri: str) -> bool:
    # readers drop whitespace and control characters inside a scheme ("java\tscript:"), so we do too
    folded = _INVISIBLE.sub("", uri).lower()
    m = _SCHEME.match(folded)
    if m is None:
        return ":" not in folded.split("/", 1)[0]  # a relative reference, resolved against the document
    return m.group(1) in SAFE_URI_SCHEMES


def _network_path(name: str) -> bool:
    folded = _INVISIBLE.sub("", name).lower().replace("\\", "/")
    if folded.startswith("//"):
        return True  # \\server\share or //server/share
    m = _SCHEME.match(folded)
    return m is not None and len(m.group(1)) > 1  # any scheme; one letter is a drive ("c:")


def _executable_content(head: bytes) -> str | None:
    if head.startswith(EXECUTABLE_MAGIC):
        return "embedded executable"
    if MARKUP_MAGIC.match(head.lstrip(b"\xef\xbb\xbf")):
        return "embedded HTML/SVG"
    return None


def _executable_mime(subtype: object) -> str | None:
    if isinstance(subtype, pikepdf.Name) and EXECUTABLE_MIME.search(_unescape_name(str(subtype)[1:])):
        return f"embedded file of type {str(subtype)[1:]}"
    return None


def _unescape_name(name: str) -> str:
    return re.sub(r"#([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), name)


def _text(value: object) -> str:
    if isinstance(value, pikepdf.String):
        return str(value)
    return ""


def _as_list(value: object) -> list[pikepdf.Object]:
    if value is None:
        return []
    if isinstance(value, pikepdf.Array):
        return list(value)
    return [value]  # type: ignore[list-item]


def _scalar(value: object) -> object:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
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
