"""Schedules in the catalog: loaded from retention/data, confirmed with an audit event, decisions per document."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.accounts import create_user, get_user
from archive.context import Archive
from archive.errors import InvalidInput, PermissionDenied
from archive.models import Event
from retention import rules
from retention.models import RetentionRule
from retention.schedules import (
    add_school_schedule,
    confirm_rule,
    decision_for,
    ensure_schedules,
    load_schedules,
    set_event_date,
)

from .conftest import ingest_pdf


def test_data_files_load_once_and_keep_sources(catalog: Archive):
    with catalog.sessions() as s, s.begin():
        assert ensure_schedules(s) > 30
        assert ensure_schedules(s) == 0  # idempotent: nothing added twice
        scheds = {x.code: x for x in load_schedules(s)}
    assert set(scheds) >= {"tt27-2016", "tt08-2025", "cv1370-2023"}
    tt27 = scheds["tt27-2016"]
    row = tt27.rules_for("so-ghi-dau-bai", ("THPT",))[0]
    assert row.period == rules.RetentionPeriod(rules.YEARS, years=5) and row.status == "sourced-medium"
    assert "Mục 58" in row.source
    # no value was invented for TT 08/2025: every row unverified
    assert all(r.status == "unverified" for r in scheds["tt08-2025"].rules)
    assert scheds["tt08-2025"].effective_from == date(2025, 7, 1)


def test_document_decisions_follow_the_catalog(catalog: Archive, tmp_path: Path):
    thpt = ingest_pdf(catalog, tmp_path, year="2018-2019", school="T01")
    thcs = ingest_pdf(catalog, tmp_path, year="2018-2019", school="C01")
    recent = ingest_pdf(catalog, tmp_path, year="2025-2026", school="T01")
    with catalog.sessions() as s:
        d = decision_for(s, thpt.document.id, date(2026, 1, 1))
        assert d.due and d.disposable_from == date(2025, 1, 1)
        assert decision_for(s, thcs.document.id, date(2026, 1, 1)).blockers == (rules.B_UNVERIFIED,)
        assert decision_for(s, recent.document.id, date(2050, 1, 1)).blockers == (rules.B_UNVERIFIED,)


def test_confirm_records_a_new_row_version_and_an_event(catalog: Archive, tmp_path: Path):
    doc = ingest_pdf(catalog, tmp_path, type_code="ke-hoach-bai-day", year="2015-2016")
    with catalog.sessions() as s, s.begin():
        admin = get_user(s, "admin")
        before = decision_for(s, doc.document.id, date(2030, 1, 1))
        c = confirm_rule(
            s,
            type_code="ke-hoach-bai-day",
            retention="5 years",
            source="TT 27/2016 Mục X (test)",
            user=admin,
            schedule="tt27-2016",
        )
        assert c.previous == "permanent" and c.previous_status == "unverified"
    with catalog.sessions() as s:
        after = decision_for(s, doc.document.id, date(2030, 1, 1))
        versions = list(
            s.scalars(
                select(RetentionRule).where(
                    RetentionRule.schedule_code == "tt27-2016", RetentionRule.type_code == "ke-hoach-bai-day"
                )
            )
        )
        ev = s.scalars(select(Event).where(Event.action == "retention.confirm")).one()
    assert before.blockers == (rules.B_UNVERIFIED,)
    assert after.due and after.disposable_from == date(2022, 1, 1)
    assert len(versions) == 2 and sum(v.superseded_at is None for v in versions) == 1
    assert (
        ev.actor == "admin"
        and ev.detail["retention"] == "5 years"
        and ev.detail["previous_status"] == "unverified"
    )


def test_confirm_refuses_unauthorised_people_and_bad_input(catalog: Archive):
    with catalog.sessions() as s, s.begin():
        clerk = create_user(s, username="vanthu")
        admin = get_user(s, "admin")
        with pytest.raises(PermissionDenied) as e:
            confirm_rule(s, type_code="hoc-ba", retention="5 years", source="x", user=clerk)
        assert e.value.message_vi and e.value.message_en
        with pytest.raises(InvalidInput):
            confirm_rule(s, type_code="hoc-ba", retention="five years", source="x", user=admin)
        with pytest.raises(InvalidInput):
            confirm_rule(s, type_code="hoc-ba", retention="5 years", source="  ", user=admin)
        with pytest.raises(InvalidInput):
            confirm_rule(s, type_code="no-such-type", retention="5 years", source="x", user=admin)


def test_event_based_row_needs_the_students_leave_date(catalog: Archive, tmp_path: Path):
    doc = ingest_pdf(catalog, tmp_path, type_code="bien-ban-chinh-sua-du-lieu", year="2018-2019")
    with catalog.sessions() as s, s.begin():
        admin = get_user(s, "admin")
        confirm_rule(
            s,
            type_code="bien-ban-chinh-sua-du-lieu",
            retention="until the students leave the school",
            source="CV 1370 Phụ lục II.2.a",
            user=admin,
            schedule="tt27-2016",
        )
        assert decision_for(s, doc.document.id, date(2030, 1, 1)).blockers == (rules.B_EVENT_DATE,)
        set_event_date(
            s, document_id=doc.document.id, occurred_on=date(2021, 6, 1), source="QĐ 12", user=admin
        )
        d = decision_for(s, doc.document.id, date(2030, 1, 1))
    assert d.due and d.disposable_from == date(2021, 6, 1)


def test_school_schedule_lengthens_a_period(catalog: Archive, tmp_path: Path):
    doc = ingest_pdf(catalog, tmp_path, year="2018-2019")
    with catalog.sessions() as s, s.begin():
        add_school_schedule(
            s,
            code="t01-2020",
            school="T01",
            title="Quy chế lưu trữ của trường T01",
            effective_from=date(2017, 1, 1),
            rows=[("so-ghi-dau-bai", "10 years", "Quyết định 5/QĐ-T01")],
            user=get_user(s, "admin"),
        )
        d = decision_for(s, doc.document.id, date(2026, 1, 1))
    assert d.disposable_from == date(2030, 1, 1) and d.blockers == (rules.B_NOT_YET,)
