"""Reading an upload's multipart body only after the caller is authenticated and allowed.

A route that declares File/Form parameters has its body read by FastAPI before any dependency runs, so an anonymous
client could make the server spool a gigabyte before hearing 401. Upload routes therefore declare no body
parameters: their dependencies authenticate first, then the route calls `read_upload_form`. The body's size, idle time
and rate are bounded by hoso/http_limits.py while it is read; the schema for /openapi.json is given by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from archive.context import Archive
from archive.corrections import EvidenceFile as SpooledFile
from archive.errors import InvalidInput
from archive.ingest import spool
from archive.models import Document, DocumentType, Organisation


def _width(column: Any) -> int:
    return int(column.type.length)


# the catalog's column widths (what archive.ingest.check_lengths holds every caller to): a longer value is refused
# before the file is read, never truncated by a database
FIELD_LIMITS = {
    "school": _width(Organisation.__table__.c.code),
    "type": _width(DocumentType.__table__.c.code),
    "year": 20,  # room for a mistyped year, which the school-year rule then explains
    **{name: _width(Document.__table__.c[name]) for name in ("title", "class_name", "subject", "teacher")},
}
REQUIRED = ("school", "type", "year")
LABELS_VI = {  # how the upload page names each field, for messages a person reads
    "school": "Trường",
    "type": "Loại hồ sơ",
    "year": "Năm học",
    "title": "Tên hồ sơ",
    "class_name": "Lớp",
    "subject": "Môn học",
    "teacher": "Giáo viên",
    "file": "Tệp",
}


def typed_values(form: FormData) -> dict[str, str]:
    """What the person typed, cut to each field's width: to show the form again after a refusal."""
    return {
        name: value[:width]
        for name, width in FIELD_LIMITS.items()
        if isinstance(value := form.get(name), str)
    }


@asynccontextmanager
async def form_of(request: Request, **limits: int) -> AsyncIterator[FormData]:
    """The multipart body, read when the route's checks have passed; its spooled files are removed when the block
    ends, not when the connection does."""
    try:
        yield await request.form(**limits)
    finally:
        await request.close()


def chosen_file(form: FormData, name: str = "file") -> UploadFile | None:
    """The file sent as `name`; None when none was chosen (a browser sends an empty part without a file name)."""
    upload = form.get(name)
    return upload if isinstance(upload, UploadFile) and upload.filename else None


def chosen_files(form: FormData, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def form_texts(form: FormData, *names: str) -> dict[str, str]:
    """Text fields by name, '' for one not sent or sent as a file."""
    return {n: v if isinstance(v := form.get(n), str) else "" for n in names}


@dataclass
class UploadForm:
    file: UploadFile | None
    fields: dict[str, str]


async def read_upload_form(request: Request, *, require_file: bool = True) -> UploadForm:
    form = await request.form(max_files=1, max_fields=len(FIELD_LIMITS) + 4, max_part_size=64 * 1024)
    upload = form.get("file")
    file = upload if isinstance(upload, UploadFile) else None
    fields = {name: value.strip() for name in FIELD_LIMITS if isinstance(value := form.get(name), str)}
    if require_file:
        missing = [name for name in REQUIRED if not fields.get(name)] + ([] if file else ["file"])
        if missing:
            names = ", ".join(missing)
            names_vi = ", ".join(LABELS_VI[name] for name in missing)
            raise InvalidInput(
                f"Dữ liệu gửi lên không hợp lệ hoặc thiếu: {names_vi}", f"Invalid or missing input: {names}"
            )
    too_long = [name for name, value in fields.items() if len(value) > FIELD_LIMITS[name]]
    if too_long:
        raise InvalidInput(
            "Quá dài: " + ", ".join(f"{LABELS_VI[n]} (tối đa {FIELD_LIMITS[n]} ký tự)" for n in too_long),
            "Too long: " + ", ".join(f"{n} (at most {FIELD_LIMITS[n]} characters)" for n in too_long),
            code="too_long",
        )
    return UploadForm(file, fields)


def _text(description: str, max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description}


OPENAPI_UPLOAD: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", *REQUIRED],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file (PDF export, lesson plan …)",
                        },
                        "school": _text("School code", FIELD_LIMITS["school"]),
                        "type": _text(
                            "Document type code (shared/data/document-types.csv)", FIELD_LIMITS["type"]
                        ),
                        "year": _text("School year, e.g. 2024-2025", FIELD_LIMITS["year"]),
                        "title": _text("Title", FIELD_LIMITS["title"]),
                        "class_name": _text("Class, e.g. 10A1", FIELD_LIMITS["class_name"]),
                        "subject": _text("Subject", FIELD_LIMITS["subject"]),
                        "teacher": _text("Teacher", FIELD_LIMITS["teacher"]),
                    },
                }
            }
        },
    }
}


@contextmanager
def spooled_files(archive: Archive, uploads: list[UploadFile], limit: int) -> Iterator[list[SpooledFile]]:
    """Several files of one form (a correction's evidence) spooled and hashed, at most `limit` + 1 of them (enough
    for the rule to refuse too many); removed afterwards."""
    out: list[SpooledFile] = []
    try:
        for u in uploads[: limit + 1]:
            path, sha, size = spool(archive, u.file)
            out.append(SpooledFile(path, u.filename or "tep", sha, size))
        yield out
    finally:
        for f in out:
            f.path.unlink(missing_ok=True)
