"""Content checks: findings about what a stored file says, never reasons to refuse it.

CV 1370 asks that each lesson plan (`ke-hoach-bai-day`) end with a "Rút kinh nghiệm" section. That section is written
after the lesson has been taught, and a teacher may upload the plan before, so its absence is recorded and shown
(API, web page, CLI) but the upload is kept. The finding belongs to one version: versions are immutable, and a later
version (the plan with the section filled in) gets its own.

Results: `present`, `missing`, `unknown` (the text could not be read: no pdftotext, a scanned PDF without a text
layer, a damaged file, a time or size limit reached before the heading was found) and `not_applicable` (a format we
do not read, such as XML or a spreadsheet).
"""

from __future__ import annotations

import codecs
import os
import re
import resource
import selectors
import shutil
import subprocess
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from xml.parsers import expat

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from . import bounded, encodings, inspection_pool, sniff
from .child_env import child_env
from .db import utcnow
from .models import Base, Version
from .pdfcheck import Inspection

RUT_KINH_NGHIEM = "rut_kinh_nghiem"
LESSON_PLAN = "ke-hoach-bai-day"
RESULTS = ("present", "missing", "unknown", "not_applicable")

# Limits keep a hostile or huge upload from holding the request: pdftotext is killed after PDF_TIMEOUT seconds, at most
# MAX_TEXT_CHARS of extracted text are searched, and at most MAX_XML_BYTES of a DOCX/ODT part are decompressed (a zip
# bomb stops there). A lesson plan is a few pages; hitting a limit without finding the heading gives `unknown`.
PDF_TIMEOUT = 20.0
# pdftotext reads a whole embedded font file into memory (a 4 GiB Flate bomb in a font took it past 1 GB before it
# was stopped), so it runs with an address-space limit and a CPU-time limit of its own: text extraction of a lesson
# plan needs a few tens of MB, a large scanned report a little more. A limit hit kills it and gives `unknown`.
PDFTOTEXT_MEMORY = 512 * 1024 * 1024
MAX_TEXT_CHARS = 4 * 1024 * 1024
MAX_XML_BYTES = 64 * 1024 * 1024
CHUNK = 64 * 1024

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


class ContentCheck(Base):
    """One finding about one version's content. A separate table, because `Version.validation` holds the signature
    report and versions are never updated in place."""

    __tablename__ = "content_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    name: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(20))  # one of RESULTS
    detail: Mapped[str] = mapped_column(String(1000), default="")
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("version_id", "name"),)


@dataclass(frozen=True)
class Finding:
    name: str
    result: str
    detail: str = ""


class Unreadable(Exception):
    """The text could not be read (completely): the finding is `unknown`, with this as its detail."""


# --- matching ---------------------------------------------------------------------------------------------------

# characters that editors insert inside words and that are invisible on the page
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))

# On folded text (see fold): optional bullets, an optional "Phần/Mục/Bước", an optional numbering ("IV.", "4)",
# "2.3 -", "d/"), then the heading words at the start of the line. A sentence that merely mentions the words later on
# ("giáo viên rút kinh nghiệm …") is not a heading.
_HEADING = re.compile(
    r"^[\W_]*(?:(?:phan|muc|buoc)\s+)?(?:(?:[ivxlc]+|\d+(?:\.\d+)*|[a-z])\s*[.):/\-–—]\s*)?[\W_]*"
    r"rut kinh nghiem(?!\w)"
)


def fold(text: str) -> str:
    """Lower case, without Vietnamese diacritics, spaces collapsed: NFC, NFD and the unaccented spelling that teachers
    type without a Vietnamese keyboard all become the same string."""
    text = unicodedata.normalize("NFD", text.translate(_INVISIBLE))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("đ", "d").replace("Đ", "d")  # đ has no decomposition
    return " ".join(text.casefold().split())


def is_heading(paragraph: str) -> bool:
    """True if a line of the paragraph starts with "Rút kinh nghiệm" (a soft line break in Word keeps one paragraph,
    so each visual line is tried)."""
    return any(_HEADING.match(fold(line)) for line in paragraph.splitlines())


def _encoding_note(found: set[str]) -> str:
    if not found:
        return ""
    names = ", ".join(encodings.NAMES[e] for e in sorted(found))
    return f"Văn bản gõ bằng bảng mã {names}, đã chuyển sang Unicode để kiểm tra (legacy encoding {names} converted)"


def search(paragraphs: Iterable[str]) -> Finding:
    """Read paragraphs until the heading is found, the text ends, or MAX_TEXT_CHARS have been read. Paragraphs typed
    in the legacy TCVN3 or VNI encodings are read in Unicode, and the finding says which encoding it met."""
    seen = 0
    has_text = False
    legacy: set[str] = set()
    it = iter(paragraphs)
    try:
        for raw in it:
            p, encoding = encodings.to_unicode(raw)
            if encoding is not None:
                legacy.add(encoding)
            if is_heading(p):
                return Finding(RUT_KINH_NGHIEM, "present", _encoding_note(legacy))
            has_text = has_text or bool(p.strip())
            seen += len(p)
            if seen > MAX_TEXT_CHARS:
                return Finding(
                    RUT_KINH_NGHIEM,
                    "unknown",
                    f"text longer than {MAX_TEXT_CHARS} characters; heading not in it",
                )
    except Unreadable as exc:
        return Finding(RUT_KINH_NGHIEM, "unknown", str(exc)[:1000])
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()  # a generator stops its pdftotext process at once
    if not has_text:
        # most often a scanned lesson plan (images only): we cannot tell whether the section is there
        return Finding(RUT_KINH_NGHIEM, "unknown", "no text found (scanned document?)")
    return Finding(RUT_KINH_NGHIEM, "missing", _encoding_note(legacy))


# --- text extraction --------------------------------------------------------------------------------------------


def _xml_paragraphs(
    stream: Any, *, paragraph: set[str], text: set[str] | None, spaces: dict[str, str]
) -> Iterator[str]:
    """Stream an XML part and yield the text of each paragraph element.

    `text`: elements whose character data counts (Word's w:t — so deleted text and field codes are left out); None
    means all character data inside a paragraph (ODF). Word splits a word across several runs ("R" "út kinh
    ngh" "iệm"), so the runs of one paragraph are joined without separators. A nested paragraph (a text box) is its own.
    A DOCTYPE is refused: Word and ODF never use one, and entity declarations are how XML bombs work."""
    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[list[str]] = []
    in_text = 0
    pending = 0  # characters held in open paragraphs
    done: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal in_text
        if name in paragraph:
            stack.append([])
        elif text is not None and name in text:
            in_text += 1
        elif name in spaces and stack:
            stack[-1].append(spaces[name])

    def end(name: str) -> None:
        nonlocal in_text
        nonlocal pending
        if name in paragraph and stack:
            done.append("".join(stack.pop()))
            pending = sum(map(len, (x for part in stack for x in part)))
        elif text is not None and name in text:
            in_text -= 1

    def chars(data: str) -> None:
        nonlocal pending
        if stack and (text is None or in_text > 0):
            stack[-1].append(data)
            pending += len(data)
            if pending > MAX_TEXT_CHARS:  # one endless paragraph would otherwise sit whole in memory
                raise Unreadable(f"a paragraph longer than {MAX_TEXT_CHARS} characters")

    def doctype(*_: object) -> None:
        raise Unreadable("XML with a DOCTYPE declaration is not read")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    parser.buffer_text = True
    read = 0
    try:
        while chunk := stream.read(CHUNK):
            read += len(chunk)
            if read > MAX_XML_BYTES:
                raise Unreadable(f"document part larger than {MAX_XML_BYTES} bytes")
            parser.Parse(chunk, False)
            yield from done
            done.clear()
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise Unreadable(f"damaged XML: {exc}") from None
    yield from done


def _zip_part(path: Path, member: str, **kw: Any) -> Iterator[str]:
    entries = bounded.zip_entry_count(path)
    if entries is not None and entries > sniff.MAX_ZIP_ENTRIES:
        raise Unreadable(f"ZIP container with {entries} entries is not read")
    try:
        with zipfile.ZipFile(path) as z, z.open(member) as f:
            yield from _xml_paragraphs(f, **kw)
    except KeyError:
        raise Unreadable(f"{member} not in the file") from None
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown compression method
        raise Unreadable(f"cannot read {member}: {exc}") from None


def docx_paragraphs(path: Path) -> Iterator[str]:
    w = f"{W_NS} "
    return _zip_part(
        path,
        "word/document.xml",
        paragraph={w + "p"},
        text={w + "t"},
        spaces={w + "tab": "\t", w + "br": "\n", w + "cr": "\n", w + "noBreakHyphen": "-"},
    )


def odt_paragraphs(path: Path) -> Iterator[str]:
    t = f"{TEXT_NS} "
    return _zip_part(
        path,
        "content.xml",
        paragraph={t + "p", t + "h"},
        text=None,
        spaces={t + "s": " ", t + "tab": "\t", t + "line-break": "\n"},
    )


def pdf_lines(path: Path, *, timeout: float = PDF_TIMEOUT) -> Iterator[str]:
    """The lines pdftotext (poppler-utils) prints, read as they come so that a huge text never sits in memory and the
    process can be stopped as soon as the heading is found; killed after `timeout` seconds."""
    exe = shutil.which("pdftotext")
    if exe is None:
        raise Unreadable("pdftotext (poppler-utils) is not installed")
    proc = subprocess.Popen(
        [exe, "-q", "-enc", "UTF-8", str(path), "-"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_env(),
        preexec_fn=partial(_limit_resources, int(timeout) + 1),  # noqa: PLW1509 — setrlimit only, async-signal-safe
    )
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    deadline = time.monotonic() + timeout
    pending = ""
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise Unreadable(f"pdftotext took longer than {timeout:.0f} s")
                chunk = os.read(fd, CHUNK)
                pending += decoder.decode(chunk, final=not chunk)
                # pdftotext ends each page with a form feed
                *lines, pending = re.split(r"[\n\f]", pending)
                yield from lines
                if not chunk:
                    break
                if len(pending) > MAX_TEXT_CHARS:  # one endless line: let search() see it and stop
                    yield pending
                    pending = ""
        yield pending
        rc = proc.wait(max(deadline - time.monotonic(), 0.1))
        if rc != 0:
            raise Unreadable(f"pdftotext failed (exit status {rc})")
    except subprocess.TimeoutExpired:
        raise Unreadable(f"pdftotext took longer than {timeout:.0f} s") from None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()


def _limit_resources(cpu_seconds: int) -> None:
    """In the forked pdftotext, before exec: its own memory and CPU limits (see PDFTOTEXT_MEMORY)."""
    resource.setrlimit(resource.RLIMIT_AS, (PDFTOTEXT_MEMORY, PDFTOTEXT_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed pdftotext leaves no core file behind


EXTRACTORS = {sniff.DOCX: docx_paragraphs, sniff.ODT: odt_paragraphs, sniff.PDF: pdf_lines}


def text_request(path: Path, max_chars: int) -> dict[str, Any] | None:
    """What an inspection worker is asked to read a PDF's text (pdftotext with the limits above, about `max_chars`
    characters of it); None without pdftotext. Given to pdfcheck.inspection, the worker starts on it at once."""
    exe = shutil.which("pdftotext")
    if exe is None:
        return None
    request = {"op": "text", "path": str(path), "exe": exe, "timeout": PDF_TIMEOUT}
    return request | {"memory": PDFTOTEXT_MEMORY, "max_chars": max_chars}


def start_pdf_text(job: Inspection, max_chars: int) -> None:
    """Ask the worker that inspected a PDF for its text while the caller does something else; `pdf_text` collects
    it. Call after job.facts()."""
    request = text_request(job.path, max_chars)
    if request is not None:
        job.session.send(request, PDF_TIMEOUT + 10)


def pdf_text(job: Inspection) -> Iterator[str]:
    """The lines asked for with start_pdf_text, as pdf_lines gives them: Unreadable after the lines read, when
    pdftotext could not read the whole file (or is not installed, or its worker died)."""
    if job.session.pending is None:
        raise Unreadable("pdftotext (poppler-utils) is not installed")
    try:
        answer = job.session.collect()
    except (inspection_pool.WorkerLost, inspection_pool.WorkerTimeout) as exc:
        raise Unreadable(f"pdftotext: {exc}") from None
    lines, error = answer.get("lines"), answer.get("error")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise Unreadable("pdftotext: no answer from its worker")
    yield from lines
    if error is not None:
        raise Unreadable(str(error)[:500])


def inspect(
    path: Path, media_type: str, type_code: str, paragraphs: Iterable[str] | None = None
) -> list[Finding]:
    """The findings for one file of a given document type (none for types without content rules); `paragraphs`:
    the file's text when it has been read already (pdf_text).

    Never raises: whatever goes wrong while reading becomes an `unknown` finding, because a check that cannot read a
    file must not cost the teacher the upload."""
    if type_code != LESSON_PLAN:
        return []
    extract = EXTRACTORS.get(media_type)
    if extract is None:
        return [Finding(RUT_KINH_NGHIEM, "not_applicable", f"{media_type} is not read")]
    try:
        return [search(extract(path) if paragraphs is None else paragraphs)]
    except Exception as exc:  # noqa: BLE001 — see the docstring
        return [Finding(RUT_KINH_NGHIEM, "unknown", f"{type(exc).__name__}: {exc}"[:1000])]


def inspect_text(text: str, type_code: str, source: str) -> list[Finding]:
    """The findings for text read some other way (OCR of a scan); ``source`` says how, in the finding's detail."""
    if type_code != LESSON_PLAN:
        return []
    finding = search(text.splitlines())
    detail = "; ".join(d for d in (source, finding.detail) if d)
    return [Finding(finding.name, finding.result, detail[:1000])]


def record(session: Session, version: Version, findings: Iterable[Finding]) -> list[ContentCheck]:
    """Store findings for a version inside the caller's transaction (they commit with the version)."""
    rows = [
        ContentCheck(
            version_id=version.id, name=f.name, result=f.result, detail=f.detail[:1000], checked_at=utcnow()
        )
        for f in findings
    ]
    session.add_all(rows)
    session.flush()
    return rows


MESSAGES = {
    (RUT_KINH_NGHIEM, "present"): (
        "Kế hoạch bài dạy có mục «Rút kinh nghiệm»",
        "The lesson plan has a 'Rút kinh nghiệm' section",
    ),
    (RUT_KINH_NGHIEM, "missing"): (
        "Kế hoạch bài dạy chưa có mục «Rút kinh nghiệm»",
        "The lesson plan has no 'Rút kinh nghiệm' (lessons learned) section yet",
    ),
    (RUT_KINH_NGHIEM, "unknown"): (
        "Chưa kiểm tra được mục «Rút kinh nghiệm» trong tệp này",
        "Could not tell whether the file has a 'Rút kinh nghiệm' section",
    ),
    (RUT_KINH_NGHIEM, "not_applicable"): (
        "Không kiểm tra mục «Rút kinh nghiệm» với định dạng tệp này",
        "The 'Rút kinh nghiệm' section is not checked for this file format",
    ),
}


def checks_for_version(session: Session, version_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ContentCheck).where(ContentCheck.version_id == version_id).order_by(ContentCheck.id)
    )
    out = []
    for c in rows:
        vi, en = MESSAGES.get((c.name, c.result), (c.result, c.result))
        out.append(
            {"name": c.name, "result": c.result, "message_vi": vi, "message_en": en, "detail": c.detail}
        )
    return out
