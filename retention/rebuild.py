"""Rebuild an EMPTY catalog from the manifests held by one replica store (`hoso catalog rebuild --from URL`).

Every version wrote a self-describing manifest to every replica (archive/manifests.py), so one surviving store is
enough to find every organisation, document, version, checksum and signature report again. What the manifests do not
carry is not invented: people missing from the catalog come back as inactive placeholders (no password, no role),
retention confirmations and the audit trail start again (unconfirmed rows count as permanent, so nothing becomes
disposable by losing them). Locks, withdrawals, edits of details and legal holds come back from the replica's state
records (archive/state_records.py, retention/state_replay.py).

Copies: the source store's copies are read and hashed here (`ok`, `corrupt` or `missing`); the other configured stores'
copies are `pending`, for the fixity run to check.

Uncommitted uploads: ingest writes the manifest before it commits, so a crash in between leaves
`manifests/<new-id>/000001.json` for a document the catalog never had, and the retry of the same upload makes another
document id. Version-1 manifests that share (school code, type code, content SHA-256) are therefore one upload: the
catalog's own duplicate check (archive/ingest.py) never lets two committed documents of a school and type start with the
same bytes. The one with the most versions is rebuilt, then the latest `created_at` (the retry, which is the one that
committed); the others are reported as `skipped_orphans`, not created (their manifests stay in the stores, where
`hoso fixity reconcile` lists them). A lone uncommitted upload, with no retry, IS rebuilt: its content was written and
verified in every replica before its manifest, so nothing distinguishes it from a committed document but the lost
commit, and dropping a school's file is worse than keeping one the uploader may think failed. (Two uploads of the same
bytes racing each other past the duplicate check could both commit; rebuild then keeps one of them, and the other's id is
in the report.)
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.context import Archive
from archive.db import utcnow
from archive.errors import Conflict, InvalidInput, StorageDown
from archive.events import record_event
from archive.manifests import FORMAT, PREFIX
from archive.models import Document, DocumentType, Organisation, ReplicaCopy, StoredObject, User, Version
from storage import StorageError, Store, content_key, open_store
from storage.replicas import verify_copy

from .backup import EXPORT_PREFIX, METADATA_PREFIX, read_organisations
from .state_replay import replay

_KEY_RE = re.compile(rf"^{PREFIX}([0-9a-fA-F-]{{36}})/(\d{{6}})\.json$")


@dataclass(frozen=True)
class ChainBreak:
    document_id: str
    number: int
    expected_previous: str | None
    found_previous: str | None
    detail: str


@dataclass(frozen=True)
class BadCopy:
    key: str
    state: str
    detail: str


@dataclass(frozen=True)
class SkippedOrphan:
    """A manifest of an upload that never committed, left out because a retry of the same upload was rebuilt."""

    document_id: str
    manifest_key: str
    kept_document_id: str  # the document rebuilt in its place (same school, type and first content)


@dataclass(frozen=True)
class RebuildReport:
    store: str
    organisations: int
    documents: int
    versions: int
    objects: int
    exports: int
    users_created: tuple[str, ...]
    chain_breaks: tuple[ChainBreak, ...]
    bad_copies: tuple[BadCopy, ...]
    unreadable: tuple[str, ...]  # keys under manifests/ that are not readable manifests
    skipped_orphans: tuple[
        SkippedOrphan, ...
    ] = ()  # expected after a crash: not a reason for `ok` to be False
    state_records: int = 0  # locks, withdrawals, edits, holds replayed (retention/state_replay.py)
    unmatched_records: tuple[str, ...] = ()  # records naming what the rebuilt catalog does not hold

    @property
    def ok(self) -> bool:
        return not (self.chain_breaks or self.bad_copies or self.unreadable)


@dataclass
class _Manifest:
    key: str
    number: int
    sha256: str
    size: int
    body: dict[str, Any] = field(default_factory=dict)


def catalog_is_empty(session: Session) -> bool:
    """Empty = no organisations, documents or stored objects (migrating seeds document types and `admin`; those are
    allowed, they are the same on every catalog)."""
    return not any(
        session.scalar(select(func.count()).select_from(model))
        for model in (Organisation, Document, StoredObject)
    )


def rebuild_catalog(archive: Archive, store_url: str) -> RebuildReport:
    with archive.sessions() as session:
        if not catalog_is_empty(session):
            raise Conflict(
                "Cơ sở dữ liệu không rỗng: chỉ dựng lại vào một cơ sở dữ liệu mới",
                "The catalog is not empty: rebuild only into a new, empty catalog",
                code="catalog_not_empty",
            )
    store = _open(archive, store_url)
    try:
        return _rebuild(archive, store)
    except StorageError as exc:
        # the store went away while being read (or could never be listed): the transaction rolled back, nothing is kept
        raise StorageDown(
            f"Không đọc được kho {store.url}: {exc}; cơ sở dữ liệu vẫn rỗng",
            f"Cannot read store {store.url}: {exc}; the catalog is still empty",
        ) from None


def _rebuild(archive: Archive, store: Store) -> RebuildReport:
    manifests, unreadable = _read_manifests(store)
    if not manifests and not unreadable:
        raise InvalidInput(
            f"Kho {store.url} không có bản kê nào ({PREFIX}): sai địa chỉ kho?",
            f"Store {store.url} holds no manifests ({PREFIX}): wrong store URL?",
            code="no_manifests",
        )
    manifests, skipped = _drop_uncommitted_duplicates(manifests)
    breaks = [b for docs in manifests.values() for b in _check_chain(docs)]
    bad: list[BadCopy] = []
    with archive.sessions() as session, session.begin():
        users: dict[str, User | None] = {}
        created_users: list[str] = []
        orgs: dict[str, Organisation] = {}
        n_versions = 0
        objects: dict[str, StoredObject] = {}
        _organisations_from_export(session, orgs, store)
        for doc_id, docs in sorted(manifests.items()):
            first, last = docs[0].body, docs[-1].body
            org = _organisation(session, orgs, last["organisation"])
            d = last["document"]
            _document_type(session, d["type_code"], d.get("TypeName") or d["type_code"])
            doc = Document(
                id=doc_id,
                school=org,
                type_code=d["type_code"],
                school_year=d["school_year"],
                title=last["dossier"].get("Title") or d.get("Subject") or "",
                class_name=d.get("class_name"),
                subject=d.get("subject_taught"),
                teacher=d.get("teacher"),
                status=d.get("status") or "active",
                created_at=_when(first["document"]["created_at"]),
                created_by=_user(session, users, created_users, d.get("created_by")),
            )
            session.add(doc)
            for m in docs:
                v = m.body["version"]
                session.add(
                    Version(
                        document=doc,
                        number=v["number"],
                        sha256=v["sha256"],
                        size=v["size"],
                        media_type=v["media_type"],
                        original_filename=v["original_filename"],
                        page_count=v.get("page_count"),
                        created_at=_when(v["created_at"]),
                        created_by=_user(session, users, created_users, v.get("created_by")),
                        reason=v.get("reason") or "",
                        manifest_sha256=m.sha256,
                        previous_manifest_sha256=m.body.get("previous_manifest_sha256"),
                        signed=bool(v.get("signed")),
                        validation=v.get("validation"),
                    )
                )
                n_versions += 1
                _object(
                    archive, session, objects, bad, store, m.key, m.sha256, m.size, "manifest", verified=True
                )
                ckey = v.get("content_key") or content_key(v["sha256"])
                _object(archive, session, objects, bad, store, ckey, v["sha256"], v["size"], "content")
        session.flush()
        # locks, withdrawals, edits and holds: the state records the replica holds besides manifests
        state = replay(session, store, lambda name: _user(session, users, created_users, name))
        for key, sha, size in state.read:
            _object(archive, session, objects, bad, store, key, sha, size, "record", verified=True)
        for key, sha, size in state.content:  # a correction's evidence files
            _object(archive, session, objects, bad, store, key, sha, size, "content")
        unreadable.extend(state.unreadable)
        n_exports = _exports(archive, session, objects, bad, store)
        session.flush()
        report = RebuildReport(
            store=store.url,
            organisations=len(orgs),
            documents=len(manifests),
            versions=n_versions,
            objects=len(objects),
            exports=n_exports,
            users_created=tuple(created_users),
            chain_breaks=tuple(breaks),
            bad_copies=tuple(bad),
            unreadable=tuple(unreadable),
            skipped_orphans=tuple(skipped),
            state_records=state.applied,
            unmatched_records=tuple(state.unmatched),
        )
        record_event(
            session,
            "catalog.rebuild",
            actor_name="system",
            outcome="ok" if report.ok else "warning",
            detail=report_to_dict(report),
        )
    return report


def _open(archive: Archive, url: str) -> Store:
    try:
        return archive.replicas.store(url)
    except KeyError:
        try:
            return open_store(url)
        except StorageError as exc:
            raise InvalidInput(
                f"Không mở được kho {url}: {exc}", f"Cannot open store {url}: {exc}", code="bad_store_url"
            ) from None


def _read_manifests(store: Store) -> tuple[dict[str, list[_Manifest]], list[str]]:
    by_doc: dict[str, list[_Manifest]] = {}
    unreadable: list[str] = []
    for key in store.list(PREFIX):
        m = _KEY_RE.match(key)
        if not m:
            unreadable.append(key)
            continue
        try:
            with store.get(key) as f:
                data = f.read()
            body = json.loads(data)
        except (StorageError, ValueError):
            unreadable.append(key)
            continue
        if (
            not isinstance(body, dict)
            or body.get("format") != FORMAT
            or body["version"]["number"] != int(m.group(2))
        ):
            unreadable.append(key)
            continue
        by_doc.setdefault(m.group(1), []).append(
            _Manifest(key, int(m.group(2)), hashlib.sha256(data).hexdigest(), len(data), body)
        )
    for docs in by_doc.values():
        docs.sort(key=lambda x: x.number)
    return by_doc, unreadable


def _drop_uncommitted_duplicates(
    manifests: dict[str, list[_Manifest]],
) -> tuple[dict[str, list[_Manifest]], list[SkippedOrphan]]:
    """Keep one document per (school code, type code, version-1 content SHA-256); see the module docstring."""
    uploads: dict[tuple[str, str, str], list[str]] = {}
    for doc_id, docs in manifests.items():
        first = docs[0]
        if (
            first.number != 1
        ):  # version 1 is missing: a chain break, reported as such, never merged on a guess
            continue
        b = first.body
        uploads.setdefault(
            (b["organisation"]["code"], b["document"]["type_code"], b["version"]["sha256"]), []
        ).append(doc_id)
    kept = dict(manifests)
    skipped: list[SkippedOrphan] = []
    for ids in uploads.values():
        if len(ids) < 2:
            continue
        # most versions, then the latest created_at (the retry, which committed); the id only makes the choice stable
        winner, *losers = sorted(
            ids,
            key=lambda d: (len(manifests[d]), _when(manifests[d][0].body["document"]["created_at"]), d),
            reverse=True,
        )
        for loser in losers:
            skipped.extend(SkippedOrphan(loser, m.key, winner) for m in kept.pop(loser))
    return kept, sorted(skipped, key=lambda x: x.manifest_key)


def _check_chain(docs: list[_Manifest]) -> list[ChainBreak]:
    """Each manifest names its predecessor's SHA-256; version numbers run 1, 2, 3 … without a gap."""
    out: list[ChainBreak] = []
    previous: _Manifest | None = None
    for m in docs:
        expected_number = previous.number + 1 if previous else 1
        found = m.body.get("previous_manifest_sha256")
        doc_id = m.body["document"]["id"]
        if m.number != expected_number:
            out.append(ChainBreak(doc_id, m.number, None, found, f"version {expected_number} is missing"))
        elif previous is None and found is not None:
            out.append(ChainBreak(doc_id, m.number, None, found, "first version names a predecessor"))
        elif previous is not None and found != previous.sha256:
            out.append(
                ChainBreak(doc_id, m.number, previous.sha256, found, "previous manifest does not match")
            )
        previous = m
    return out


def _organisations_from_export(session: Session, orgs: dict[str, Organisation], store: Store) -> None:
    """Restore the whole organisation tree from the newest readable metadata export, if the store has one (manifests
    carry a school and its direct parent only, so a Phòng's Sở, or an organisation without documents, comes from
    here)."""
    tree: dict[str, dict[str, str]] = {}
    for key in sorted((k for k in store.list(METADATA_PREFIX) if k.endswith(".xml")), reverse=True):
        try:
            with store.get(key) as f:
                tree = {o["code"]: o for o in read_organisations(f.read())}
            break
        except (StorageError, ET.ParseError, KeyError):
            continue  # an unreadable export: try the one before it

    def make(code: str, seen: frozenset[str] = frozenset()) -> Organisation | None:
        if code in orgs:
            return orgs[code]
        o = tree.get(code)
        if o is None or code in seen:  # unknown, or a cycle in damaged data
            return None
        parent = make(o["parent"], seen | {code}) if o.get("parent") else None
        org = Organisation(
            code=code, name=o["name"], kind=o["kind"], level=o.get("level") or None, parent=parent
        )
        session.add(org)
        orgs[code] = org
        return org

    for code in tree:
        make(code)


def _organisation(session: Session, orgs: dict[str, Organisation], data: dict[str, Any]) -> Organisation:
    if data["code"] in orgs:
        return orgs[data["code"]]
    parent_data = data.get("parent")
    parent = _organisation(session, orgs, parent_data) if parent_data else None
    org = Organisation(
        code=data["code"], name=data["name"], kind=data["kind"], level=data.get("level"), parent=parent
    )
    session.add(org)
    orgs[data["code"]] = org
    return org


def _document_type(session: Session, code: str, name: str) -> None:
    if session.get(DocumentType, code) is None:
        session.add(
            DocumentType(code=code, name_vi=name, name_en=name, notes="Tạo lại từ manifest / from a manifest")
        )
        session.flush()


def _user(
    session: Session, users: dict[str, User | None], created: list[str], name: str | None
) -> User | None:
    if not name:
        return None
    if name not in users:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            # a placeholder keeps the name on the record; it cannot log in until someone activates it
            user = User(username=name, full_name="", is_active=False, created_at=utcnow())
            session.add(user)
            created.append(name)
        users[name] = user
    return users[name]


def _object(
    archive: Archive,
    session: Session,
    objects: dict[str, StoredObject],
    bad: list[BadCopy],
    source: Store,
    key: str,
    sha256: str,
    size: int,
    kind: str,
    *,
    verified: bool = False,
) -> None:
    if key in objects:
        return
    obj = StoredObject(key=key, sha256=sha256, size=size, kind=kind, created_at=utcnow())
    session.add(obj)
    objects[key] = obj
    now = utcnow()
    urls = list(dict.fromkeys(s.url for s in archive.replicas.stores))
    for url in urls:
        copy = ReplicaCopy(
            object=obj, store_url=url, state="pending", detail="chờ kiểm tra / to be checked by fixity"
        )
        if url == source.url:
            if verified:  # the manifest was just read and hashed
                copy.state, copy.detail = "ok", ""
            else:
                r = verify_copy(source, key, sha256)
                copy.state, copy.detail = r.state, r.detail[:1000]
                if not r.ok:
                    bad.append(BadCopy(key, r.state, r.detail))
            copy.checked_at = copy.verified_at = now if copy.state == "ok" else None
        session.add(copy)


def _exports(
    archive: Archive, session: Session, objects: dict[str, StoredObject], bad: list[BadCopy], store: Store
) -> int:
    n = 0
    for key in store.list(EXPORT_PREFIX):
        try:
            with store.get(key) as f:
                data = f.read()
        except StorageError as exc:
            bad.append(BadCopy(key, "unreadable", str(exc)))
            continue
        _object(archive, session, objects, bad, store, key, hashlib.sha256(data).hexdigest(), len(data), "export",
                verified=True)  # fmt: skip
        n += 1
    return n


def _when(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def report_to_dict(r: RebuildReport) -> dict[str, Any]:
    return {
        "store": r.store,
        "ok": r.ok,
        "organisations": r.organisations,
        "documents": r.documents,
        "versions": r.versions,
        "objects": r.objects,
        "exports": r.exports,
        "users_created": list(r.users_created),
        "chain_breaks": [b.__dict__ for b in r.chain_breaks],
        "bad_copies": [b.__dict__ for b in r.bad_copies],
        "unreadable": list(r.unreadable),
        "skipped_orphans": [o.__dict__ for o in r.skipped_orphans],
        "state_records": r.state_records,
        "unmatched_records": list(r.unmatched_records),
    }
