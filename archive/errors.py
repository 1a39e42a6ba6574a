"""The archive's exception hierarchy; one FastAPI handler and the CLI map these to HTTP status / exit codes.

ArchiveError(code, message_vi, message_en, status)
 ├── IngestRefused      the file is refused (not_pdf, encrypted_pdf, active_content, decompression_bomb, too_complex, too_large, unsupported_type, empty_file)
 ├── NotFound           no such document / organisation / user (404)
 ├── Conflict           duplicate codes, locked records (409)
 ├── InvalidInput       a bad parameter (422)
 ├── AuthError          missing/invalid credentials (401) — PermissionDenied (403)
 ├── Gone               a disposed document: its tombstone, never its bytes (410)
 └── StorageDown        not enough replicas reachable to store or serve (503)
"""

from __future__ import annotations


class ArchiveError(Exception):
    status = 400
    code = "error"

    def __init__(
        self,
        message_vi: str,
        message_en: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.extra = extra or {}  # more facts for the JSON body (e.g. a disposed document's tombstone)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return f"{self.message_vi} / {self.message_en}"

    def to_dict(self) -> dict[str, object]:
        return {
            "error": self.code,
            "message": self.message,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        } | self.extra


class IngestRefused(ArchiveError):
    status = 422


class NotFound(ArchiveError):
    status = 404
    code = "not_found"


class Conflict(ArchiveError):
    status = 409
    code = "conflict"


class InvalidInput(ArchiveError):
    status = 422
    code = "invalid_input"


class AuthError(ArchiveError):
    status = 401
    code = "unauthenticated"


class PermissionDenied(ArchiveError):
    status = 403
    code = "forbidden"


class Gone(ArchiveError):
    status = 410
    code = "disposed"


class StorageDown(ArchiveError):
    status = 503
    code = "storage_unavailable"
