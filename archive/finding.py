"""Finding documents in the catalog: the search box (diacritics and case ignored), filters and sorting.

One query builder serves the web list and GET /api/v1/documents, so both find the same documents. The folded text
searched is documents.search_text (archive/search_text.py); filters are plain SQL that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, literal, or_, select, text
from sqlalchemy.orm import Session, contains_eager, selectinload

from .chain_models import SigningRequest
from .errors import InvalidInput, NotFound
from .models import Document, DocumentType, Organisation, RecordLock, ReplicaCopy, StoredObject, User, Version
from .permissions import permitted, school_ids_by_action
from .search_text import like_patterns, words

# how a list may be ordered: the name a page or the API uses → the column (or expression) behind it
SORT_KEYS = ("created", "title", "type", "school", "year", "class", "signed", "status")
STATUSES = ("active", "withdrawn", "disposed")
# a list counts its matches up to here and says "more than" beyond
COUNT_CAP = 1000
DAMAGED_STATES = ("missing", "corrupt")
# a withdrawn record is shown only to the school's own people who keep records, never to inspectors (issue 12)
WITHDRAWN_READERS = ("document.upload", "document.upload_group", "document.upload_own")


def awaiting_condition(user_id: int) -> ColumnElement[bool]:
    """Documents whose open signing step waits for this person (archive/chains.py: a request `waiting` for them)."""
    return Document.id.in_(
        select(SigningRequest.document_id).where(
            SigningRequest.status == "waiting", SigningRequest.user_id == user_id
        )
    )


@dataclass(frozen=True)
class DocumentFilter:
    """What the person asked for. `status` None means the default list: everything except withdrawn records."""

    school: str | None = None
    type_code: str | None = None
    year: str | None = None
    q: str | None = None
    status: str | None = None
    mine: bool = False
    locked: bool | None = None
    damaged: bool | None = None
    awaiting_me: bool = False
    sort: str = "created"
    descending: bool = True


def check_filter(f: DocumentFilter) -> None:
    if f.sort not in SORT_KEYS:
        raise InvalidInput(
            f"Không sắp xếp được theo «{f.sort}»; chọn một trong: {', '.join(SORT_KEYS)}",
            f"Cannot sort by {f.sort!r}; choose one of {', '.join(SORT_KEYS)}",
            code="bad_sort",
        )
    if f.status is not None and f.status not in STATUSES:
        raise InvalidInput(
            f"Trạng thái không hợp lệ: «{f.status}»; chọn một trong: {', '.join(STATUSES)}",
            f"Unknown status {f.status!r}; choose one of {', '.join(STATUSES)}",
            code="bad_status",
        )


def current_version_signed() -> ColumnElement[bool]:
    """The current (highest-numbered) version's signed flag, as a scalar subquery per document."""
    return (
        select(Version.signed)
        .where(Version.document_id == Document.id)
        .order_by(Version.number.desc())
        .limit(1)
        .scalar_subquery()
    )


def is_locked() -> ColumnElement[bool]:
    return exists().where(
        RecordLock.school_id == Document.school_id,
        RecordLock.type_code == Document.type_code,
        RecordLock.school_year == Document.school_year,
    )


def has_damaged_copy() -> ColumnElement[bool]:
    """Some copy of one of the document's files is missing or corrupt (as fixity or a download last found it)."""
    key = literal("content/") + func.substr(Version.sha256, 1, 2) + literal("/") + Version.sha256
    return exists().where(
        Version.document_id == Document.id,
        StoredObject.key == key,
        ReplicaCopy.object_id == StoredObject.id,
        ReplicaCopy.state.in_(DAMAGED_STATES),
    )


def _order(sort: str, descending: bool) -> list[Any]:
    column: Any = {
        "created": Document.created_at,
        # the folded text starts with the folded title: "Ánh" sorts with "Anh", not after "Z"
        "title": Document.search_text,
        "type": DocumentType.name_vi,
        "school": Organisation.name,
        "year": Document.school_year,
        "class": func.coalesce(Document.class_name, ""),
        "signed": func.coalesce(current_version_signed(), False),
        "status": Document.status,
    }[sort]
    first = column.desc() if descending else column.asc()
    # a stable order between equal keys, so paging never shows a row twice or skips one
    return [first, Document.created_at.desc(), Document.id]


def _conditions(
    f: DocumentFilter, *, school_ids: list[int] | None, user_id: int | None, user_name: str | None
) -> list[ColumnElement[bool]]:
    """What a document must satisfy besides the search words: each a condition on documents alone."""
    conds: list[ColumnElement[bool]] = []
    if school_ids is not None:
        conds.append(Document.school_id.in_(school_ids))
    if f.school:
        # by id, so PostgreSQL walks ix_documents_school_created newest first instead of sorting the school's records
        school_id = select(Organisation.id).where(Organisation.code == f.school).scalar_subquery()
        conds.append(Document.school_id == school_id)
    if f.type_code:
        conds.append(Document.type_code == f.type_code)
    if f.year:
        conds.append(Document.school_year == f.year)
    if f.status is None:
        conds.append(Document.status != "withdrawn")
    else:
        conds.append(Document.status == f.status)
    if f.mine and user_id is not None:
        mine = Document.created_by_id == user_id
        conds.append(or_(mine, Document.teacher == user_name) if user_name else mine)
    if f.locked is not None:
        conds.append(is_locked() if f.locked else ~is_locked())
    if f.damaged is not None:
        conds.append(has_damaged_copy() if f.damaged else ~has_damaged_copy())
    if f.awaiting_me and user_id is not None:
        conds.append(awaiting_condition(user_id))
    return conds


def _word_conditions(q: str | None) -> list[ColumnElement[bool]]:
    # words hold letters and digits only (archive/search_text.py), so no LIKE wildcard can reach the pattern
    return [Document.search_text.like(pattern) for pattern in like_patterns(q or "")]


def document_query(
    f: DocumentFilter, *, school_ids: list[int] | None, user_id: int | None, user_name: str | None
) -> Select[Document]:
    """The filtered, sorted query (no paging). `school_ids` None means every school (the system administrator)."""
    check_filter(f)
    conds = _conditions(f, school_ids=school_ids, user_id=user_id, user_name=user_name)
    return (
        select(Document)
        .join(Organisation, Document.school_id == Organisation.id)
        .join(DocumentType, Document.type_code == DocumentType.code)
        .where(*conds, *_word_conditions(f.q))
        .order_by(*_order(f.sort, f.descending))
    )


def may_see_withdrawn(session: Session, user: User, doc: Document) -> bool:
    return any(permitted(session, user, action, doc.school) for action in WITHDRAWN_READERS)


def ensure_visible(session: Session, user: User, doc: Document) -> None:
    """A withdrawn record does not exist for inspectors (404, as for a record they may not know of)."""
    if doc.status == "withdrawn" and not may_see_withdrawn(session, user, doc):
        raise NotFound(f"Không tìm thấy hồ sơ {doc.id}", f"No document {doc.id}", code="document_not_found")


def _merge(a: list[int] | None, b: list[int] | None) -> list[int] | None:
    if a is None or b is None:
        return None
    return sorted(set(a) | set(b))


def visible_school_ids(
    session: Session, user: User, f: DocumentFilter, *, scopes: frozenset[str] | None = None
) -> list[int] | None:
    """The schools whose documents this list may show: where the person may read, and for withdrawn records only
    where they also keep records (inspectors never see them). None means every school."""
    reach = school_ids_by_action(session, user, ("document.read", *WITHDRAWN_READERS), scopes=scopes)
    readable = reach["document.read"]
    if f.status != "withdrawn":
        return readable
    keepers: list[int] | None = []
    for action in WITHDRAWN_READERS:
        keepers = _merge(keepers, reach[action])
    if readable is None:
        return keepers
    if keepers is None:
        return readable
    return sorted(set(readable) & set(keepers))


# A search for common words ("giáo viên" is in every record) finds its first COUNT_CAP + 1 matches soonest by reading
# the candidates newest first and testing their words (PostgreSQL: an index-only walk of ix_documents_walk or
# ix_documents_school_walk, migration 0020); rarer words are found soonest from the word index (the trigram index),
# whose matches are then sorted. Which one is guessed from PostgreSQL's sample of search_text (pg_stats, as the
# planner does; SQLite keeps none and always walks): a search walks when the sample promises COUNT_CAP + 1 matches
# (WALK_MARGIN times over) within WALK_MAX candidates. A walk that reads WALK_MAX candidates without enough matches
# (they were older than the sample promised) hands over to the word index, so no search reads more than WALK_MAX
# candidates before its word index answers. At --scale 0.5 (bench_province.py) a walk of 110 000 candidates for
# «lớp 9A3» (one record in seventy) was slower than fetching its 37 000 matches from the word index and sorting
# them, while one school's 11 750 candidates walked beat the word index: WALK_MAX sits between.
# WALK_MAX 0: never walk, the list's own query as before (bench_province.py compares).
WALK_MAX = 30_000
WALK_MARGIN = 1.5  # the sample is a thousand documents: it must promise half as many matches again as needed
SAMPLE_SECONDS = 300.0  # how long one process reuses the sample (ANALYZE renews it far less often)
_samples: dict[str, tuple[float, list[str] | None]] = {}


def _sample(session: Session) -> list[str] | None:
    """PostgreSQL's sample of documents.search_text (the histogram bounds: a spread of values from its last ANALYZE),
    or None where there is none (SQLite; a catalog never analysed)."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return None
    key = str(bind.engine.url)  # the password masked
    now = time.monotonic()
    cached = _samples.get(key)
    if cached is None or now - cached[0] > SAMPLE_SECONDS:
        bounds = session.scalar(
            text(
                "SELECT histogram_bounds::text::text[] FROM pg_stats"
                " WHERE tablename = 'documents' AND attname = 'search_text' AND schemaname = current_schema()"
            )
        )
        cached = _samples[key] = (now, list(bounds) if bounds else None)
    return cached[1]


def _walk_promises(session: Session, q: str | None) -> bool:
    """Whether COUNT_CAP + 1 matches are to be expected within WALK_MAX candidates (always, without a sample)."""
    sample = _sample(session)
    if not sample:
        return True
    hits = sample
    for typed in (f" {w}" for w in words(q)):  # what like_patterns asks: '% w%' is ' w' anywhere
        hits = [s for s in hits if typed in s]
    return len(hits) * WALK_MAX >= WALK_MARGIN * (COUNT_CAP + 1) * len(sample)


def _walk(
    session: Session, conds: list[ColumnElement[bool]], word_conds: list[ColumnElement[bool]]
) -> list[str] | None:
    """The first COUNT_CAP + 1 matches among the newest WALK_MAX candidates, if that is all of them (enough matches,
    or every candidate read); None when the walk stopped at its bound."""
    order = (Document.created_at.desc(), Document.id)
    w = (
        select(Document.id, Document.created_at, and_(*word_conds).label("hit"))
        .where(*conds)
        .order_by(*order)
        .limit(WALK_MAX)
        .subquery()
    )
    # PostgreSQL keeps the index's order through the subquery: the walk stops at the COUNT_CAP + 1st match
    hits = list(
        session.scalars(
            select(w.c.id).where(w.c.hit).order_by(w.c.created_at.desc(), w.c.id).limit(COUNT_CAP + 1)
        )
    )
    if len(hits) > COUNT_CAP:
        return hits
    # fewer: were there fewer candidates than WALK_MAX? (counted in any order, stopping at WALK_MAX)
    read = session.scalar(
        select(func.count()).select_from(select(literal(1)).where(*conds).limit(WALK_MAX).subquery())
    )
    return hits if (read or 0) < WALK_MAX else None


def _indexed(
    session: Session, conds: list[ColumnElement[bool]], word_conds: list[ColumnElement[bool]]
) -> list[str]:
    """The first COUNT_CAP + 1 matches from the word index: every match found, then sorted. OFFSET 0 keeps the
    matches' query apart from the order (PostgreSQL does not merge such a subquery into the outer one), so the planner
    cannot turn it back into a walk of the newest-first index when it misjudges how soon the matches come; unlike a
    MATERIALIZED CTE it copies nothing (at --scale 0.5, «lớp 9A3»: about 100 ms against 200 ms)."""
    m = select(Document.id, Document.created_at).where(*conds, *word_conds).offset(0).subquery()
    return list(session.scalars(select(m.c.id).order_by(m.c.created_at.desc(), m.c.id).limit(COUNT_CAP + 1)))


def _searched_ids(
    session: Session,
    f: DocumentFilter,
    *,
    school_ids: list[int] | None,
    user_id: int | None,
    user_name: str | None,
) -> list[str] | None:
    """The first COUNT_CAP + 1 matches of a newest-first search, walked or from the word index; None for other
    lists (no words, another order), which take the list's own query."""
    word_conds = _word_conditions(f.q)
    if not word_conds or f.sort != "created" or not f.descending or WALK_MAX < 1:
        return None
    conds = _conditions(f, school_ids=school_ids, user_id=user_id, user_name=user_name)
    if _walk_promises(session, f.q):
        walked = _walk(session, conds, word_conds)
        if walked is not None:
            return walked
    return _indexed(session, conds, word_conds)


def find_documents(
    session: Session,
    f: DocumentFilter,
    *,
    school_ids: list[int] | None,
    user_id: int | None = None,
    user_name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Document], int]:
    """A page of the matching documents (their versions loaded with them) and how many match, counted up to
    COUNT_CAP + 1: above the cap a list says "hơn 1000" instead of counting a province's millions each time."""
    stmt = document_query(f, school_ids=school_ids, user_id=user_id, user_name=user_name)
    # the school and type come from the query's own joins; versions and uploaders in one statement each
    loaded = stmt.options(
        contains_eager(Document.school),
        contains_eager(Document.doc_type),
        selectinload(Document.versions),
        selectinload(Document.created_by),
    )
    ids = _searched_ids(session, f, school_ids=school_ids, user_id=user_id, user_name=user_name)
    if ids is None:
        # One walk in the list's own order finds the first COUNT_CAP + 1 matches: their number is the total, and the
        # page is cut from them, so a search that reads many rows to find a few reads them once, not once per count.
        ids = list(session.scalars(stmt.with_only_columns(Document.id).limit(COUNT_CAP + 1)))
    total = len(ids)
    if offset + limit > COUNT_CAP:  # past the counted matches: page by offset as before
        return list(session.scalars(loaded.limit(limit).offset(offset))), total
    page = ids[offset : offset + limit]
    if not page:
        return [], total
    by_id = {d.id: d for d in session.scalars(loaded.where(Document.id.in_(page)))}
    return [by_id[i] for i in page if i in by_id], total


def locked_keys(session: Session, docs: list[Document]) -> set[tuple[int, str, str]]:
    """(school id, type, year) of the given documents that are locked: one query for a page of them."""
    schools = {d.school_id for d in docs}
    if not schools:
        return set()
    rows = session.execute(
        select(RecordLock.school_id, RecordLock.type_code, RecordLock.school_year).where(
            RecordLock.school_id.in_(schools)
        )
    )
    return {(a, b, c) for a, b, c in rows}


def damaged_ids(session: Session, docs: list[Document]) -> set[str]:
    ids = [d.id for d in docs]
    if not ids:
        return set()
    stmt = select(Document.id).where(and_(Document.id.in_(ids), has_damaged_copy()))
    return set(session.scalars(stmt))
