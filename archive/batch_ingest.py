"""Storing the files of a batch (a class's exports) one by one, each with its own outcome: stored, duplicate, or refused
with the reason in Vietnamese and English. One refused file never stops the others; nothing is stored for it.

The CLI (`hoso ingest`), the web batch upload and its API share this. What a batch can share between its files is
shared: the uploader's right is checked once per record type (school and type resolved in one session), not once per
file; and `store_each` commits the catalog rows of up to GROUP files in one transaction, each file in a savepoint of
its own (a file refused there leaves its neighbours stored). Each file is checked, read and copied to every replica
before that transaction, as a single upload is; the outcomes of a group are given once it has committed, so no file
is reported stored before its rows and manifest are durable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from . import batch_names
from .batch_files import BatchFile
from .context import Archive
from .db import lock_for_write
from .errors import ArchiveError, InvalidInput, PermissionDenied
from .ingest import (
    IngestResult,
    Prepared,
    hash_file,
    prepare_file,
    record,
    resolve_school_and_type,
)
from .models import User
from .permissions import (
    UPLOAD_ACTION_BY_KEEPER,
    authorize,
    record_denial,
    school_ids_by_action,
    upload_action,
)

STORED, DUPLICATE, REFUSED = "stored", "duplicate", "refused"
GROUP = 16  # files whose catalog rows commit together: one commit instead of sixteen, outcomes a group late at most


@dataclass(frozen=True)
class BatchOutcome:
    name: str  # the file's name (a ZIP entry's base name)
    source: str  # where it came from: a path, or "archive.zip:folder/entry"
    result: str  # STORED, DUPLICATE or REFUSED
    type_code: str | None
    class_name: str | None
    document_id: str | None = None
    sha256: str | None = None
    code: str | None = None  # the refusal's stable error code
    message_vi: str | None = None
    message_en: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def ensure_may_upload(archive: Archive, user: User, scopes: frozenset[str] | None = None) -> None:
    """Before a batch's body is read: refuse (recorded) a caller who may upload nothing anywhere (an inspector, a
    read-only token), rather than answer every file with the same refusal."""
    actions = tuple(dict.fromkeys(UPLOAD_ACTION_BY_KEEPER.values()))
    with archive.sessions() as session:
        user = session.merge(user, load=True)
        reach = school_ids_by_action(session, user, actions, scopes=scopes)
        if any(reach[a] != [] for a in actions):
            return
        record_denial(session, user, actions[0], None, detail={"action": "batch upload"})
    raise PermissionDenied(
        "Tài khoản của bạn không có quyền tải lên hồ sơ",
        "Your account may not upload records",
        code="forbidden",
    )


def type_unknown() -> InvalidInput:
    return InvalidInput(
        "Không đọc được loại hồ sơ từ tên tệp; hãy chọn loại hồ sơ",
        "The record type cannot be read from the file name; choose the type",
        code="type_unknown",
    )


@dataclass
class BatchIngest:
    """One batch: the school, year and uploader shared by its files. `check_rights` is off only for the operator's
    command line, which stores on the administrator's authority as `hoso ingest` always has."""

    archive: Archive
    school: str
    year: str
    actor: User | None
    check_rights: bool = True
    scopes: frozenset[str] | None = None  # an API token's scopes
    title: str | None = None
    subject: str | None = None
    teacher: str | None = None
    _rights: dict[str, ArchiveError | None] = field(default_factory=dict, repr=False)

    def _may_upload(self, type_code: str) -> None:
        if type_code not in self._rights:
            try:
                with self.archive.sessions() as session:
                    org, dtype = resolve_school_and_type(session, self.school, type_code)
                    if self.check_rights and self.actor is not None:
                        try:
                            user = session.merge(self.actor, load=True)
                            authorize(session, user, upload_action(dtype.kept_by), org, scopes=self.scopes)
                        except PermissionDenied as exc:
                            # the batch names the type: "no right to upload school records — Học bạ"
                            raise PermissionDenied(
                                f"{exc.message_vi} (loại «{dtype.name_vi}»)",
                                f"{exc.message_en} (type {dtype.name_en})",
                                code=exc.code,
                            ) from None
                self._rights[type_code] = None
            except ArchiveError as exc:
                self._rights[type_code] = exc
        refusal = self._rights[type_code]
        if refusal is not None:
            raise refusal

    def _arguments(self, item: BatchFile, type_code: str | None, class_name: str | None) -> dict[str, object]:
        """ingest_file's arguments for a file, once the file may be stored at all (ArchiveError if not)."""
        if item.refused is not None:
            raise item.refused
        if not type_code:
            raise type_unknown()
        self._may_upload(type_code)
        return {
            "filename": item.name, "school": self.school, "type_code": type_code, "year": self.year,
            "title": self.title, "class_name": class_name or None, "subject": self.subject, "teacher": self.teacher,
            "actor": self.actor,
        }  # fmt: skip

    @staticmethod
    def _refused(
        item: BatchFile, type_code: str | None, class_name: str | None, exc: ArchiveError
    ) -> BatchOutcome:
        return BatchOutcome(
            item.name, item.source, REFUSED, type_code, class_name,
            code=exc.code, message_vi=exc.message_vi, message_en=exc.message_en,
        )  # fmt: skip

    @staticmethod
    def _outcome(
        item: BatchFile, type_code: str | None, class_name: str | None, r: IngestResult
    ) -> BatchOutcome:
        return BatchOutcome(
            item.name, item.source, STORED if r.created else DUPLICATE, type_code, class_name,
            document_id=r.document.id, sha256=r.version.sha256,
        )  # fmt: skip

    def store_each(
        self, items: Iterable[BatchFile], choose: Callable[[BatchFile], Choice] | None = None
    ) -> Iterator[BatchOutcome]:
        """Each file stored with the (type, class) `choose` gives it (by default what its name says), the catalog rows
        of up to GROUP files in one transaction; outcomes in the files' order, each group's once it has committed."""
        group: list[_Entry] = []
        waiting: set[tuple[str, str]] = set()  # (type, sha256) of the group's new records
        for item in items:
            type_code, class_name = (choose or read_name)(item)
            entry = _Entry(item, type_code, class_name)
            try:
                kw = self._arguments(item, type_code, class_name)
                sha256, size = hash_file(item.path)
                if (str(type_code), sha256) in waiting:
                    # its twin's rows are not committed yet, so the catalog would not find it: commit them first
                    yield from self._commit(group)
                    group, waiting = [], set()
                prepared = prepare_file(self.archive, item.path, sha256=sha256, size=size, **kw)  # type: ignore[arg-type]
            except ArchiveError as exc:
                entry.outcome = self._refused(item, type_code, class_name, exc)
            else:
                if isinstance(prepared, IngestResult):
                    entry.outcome = self._outcome(item, type_code, class_name, prepared)
                else:
                    entry.prepared = prepared
                    waiting.add((str(type_code), sha256))
            group.append(entry)
            if sum(e.prepared is not None for e in group) >= GROUP:
                yield from self._commit(group)
                group, waiting = [], set()
        yield from self._commit(group)

    def _commit(self, group: list[_Entry]) -> Iterator[BatchOutcome]:
        if any(e.prepared is not None for e in group):
            with self.archive.sessions() as session, session.begin():
                lock_for_write(
                    session
                )  # SQLite: a real transaction around the savepoints, not one per savepoint
                for e in group:
                    if e.prepared is None:
                        continue
                    try:
                        e.outcome = self._outcome(
                            e.item, e.type_code, e.class_name, record(self.archive, e.prepared, session)
                        )
                    except ArchiveError as exc:  # only this file's savepoint is rolled back
                        e.outcome = self._refused(e.item, e.type_code, e.class_name, exc)
        for e in group:
            assert e.outcome is not None
            yield e.outcome


@dataclass
class _Entry:
    item: BatchFile
    type_code: str | None
    class_name: str | None
    prepared: Prepared | None = None
    outcome: BatchOutcome | None = None


Choice = tuple[str | None, str | None]  # (type code, class)


def read_name(item: BatchFile) -> Choice:
    g = batch_names.guess(item.name)
    return g.type_code, g.class_name
