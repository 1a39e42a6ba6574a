"""The pure retention function: periods, counting, schedule choice by effective date, holds, unverified rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from retention.errors import RuleError
from retention.rules import (
    B_DISPOSED,
    B_EVENT_DATE,
    B_HOLD,
    B_NO_RULE,
    B_NOT_YET,
    B_PERMANENT,
    B_UNVERIFIED,
    EVENT,
    PERMANENT,
    STUDENTS_LEAVE,
    YEARS,
    DocumentFacts,
    RetentionPeriod,
    Rule,
    Schedule,
    applicable_schedules,
    closing_date,
    decide,
    work_end_year,
)

Y5 = RetentionPeriod(YEARS, years=5)
Y10 = RetentionPeriod(YEARS, years=10)
PERM = RetentionPeriod(PERMANENT)
LEAVE = RetentionPeriod(EVENT, event=STUDENTS_LEAVE)


def law(code: str, effective: date, *rules: tuple[str, RetentionPeriod, str] | Rule) -> Schedule:
    rows = tuple(r if isinstance(r, Rule) else Rule(code, r[0], r[1], r[2]) for r in rules)
    return Schedule(code, "law", effective, rows)


OLD = law("tt27", date(2016, 11, 14), ("so-ghi-dau-bai", Y5, "sourced"), ("hoc-ba", PERM, "unverified"))
NEW = law("tt08", date(2025, 7, 1), ("so-ghi-dau-bai", Y10, "sourced"), ("hoc-ba", PERM, "sourced"))


def facts(type_code: str = "so-ghi-dau-bai", year: str = "2019-2020", **kw: object) -> DocumentFacts:
    args: dict[str, object] = {"school": "T01", "school_levels": ("THPT",)}
    args.update(kw)
    return DocumentFacts("doc-1", type_code, school_year=year, **args)  # type: ignore[arg-type]


# periods ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("permanent", PERM),
        ("Vĩnh viễn", PERM),
        ("5 years", Y5),
        ("1 year", RetentionPeriod(YEARS, years=1)),
        ("10 năm", Y10),
        ("until the students concerned leave the school", LEAVE),
    ],
)
def test_periods_parse_from_schedule_text(text: str, expected: RetentionPeriod):
    assert RetentionPeriod.parse(text) == expected
    assert RetentionPeriod.parse(expected.text) == expected


@pytest.mark.parametrize("text", ["", "forever", "0 years", "-3 years", "5 months"])
def test_unreadable_periods_are_refused(text: str):
    with pytest.raises(RuleError):
        RetentionPeriod.parse(text)


def test_period_labels_follow_the_maintenance_field():
    assert Y5.label_vi == "05 năm"
    assert PERM.label_vi == "Vĩnh viễn"


def test_bad_rows_are_refused():
    with pytest.raises(RuleError):
        Rule("x", "hoc-ba", PERM, "maybe")
    with pytest.raises(RuleError):
        Rule("x", "hoc-ba", PERM, "sourced", counted_from="creation")


# counting ----------------------------------------------------------------------------------------------------------
def test_school_year_record_counts_from_the_year_it_ends():
    assert work_end_year("2019-2020") == 2020
    assert closing_date("2019-2020") == date(2020, 5, 31)
    with pytest.raises(RuleError):
        work_end_year("2019-2021")


def test_years_are_kept_in_full_after_the_end_year():
    d = decide(facts(), [OLD], date(2025, 12, 31))
    assert d.disposable_from == date(2026, 1, 1)  # 2020 + 5 years kept in full
    assert d.period == Y5 and d.confirmed
    assert d.blockers == (B_NOT_YET,) and not d.due
    d = decide(facts(), [OLD], date(2026, 1, 1))
    assert d.due and d.blockers == ()


def test_permanent_confirmed_row_never_becomes_due():
    s = law("tt27", date(2016, 1, 1), ("ho-so-goc-cap-bang", PERM, "sourced-medium"))
    d = decide(facts("ho-so-goc-cap-bang"), [s], date(2999, 1, 1))
    assert d.permanent and d.blockers == (B_PERMANENT,) and d.confirmed


# unverified and missing rows ---------------------------------------------------------------------------------------
def test_unverified_row_counts_as_permanent_even_if_it_names_years():
    s = law("tt27", date(2016, 1, 1), ("so-ghi-dau-bai", Y5, "unverified"))
    d = decide(facts(), [s], date(2999, 1, 1))
    assert d.period == PERM and d.disposable_from is None
    assert d.blockers == (B_UNVERIFIED,) and not d.confirmed


def test_no_row_for_the_type_blocks_like_unverified():
    d = decide(facts("khac"), [OLD], date(2999, 1, 1))
    assert d.blockers == (B_NO_RULE,) and d.permanent


# schedule changes ----------------------------------------------------------------------------------------------------
def test_schedule_in_force_when_the_work_ended_applies():
    # 2024-2025 closes on 31 May 2025, before TT 08/2025 (1 July 2025): the old schedule applies
    d = decide(facts(year="2024-2025"), [OLD, NEW], date(2040, 1, 1))
    assert [r.schedule for r in d.applied] == ["tt27"]
    assert d.disposable_from == date(2031, 1, 1)
    # 2025-2026 closes in 2026: the new schedule applies (10 years)
    d = decide(facts(year="2025-2026"), [OLD, NEW], date(2040, 1, 1))
    assert [r.schedule for r in d.applied] == ["tt08"]
    assert d.disposable_from == date(2037, 1, 1)


def test_document_older_than_every_schedule_uses_the_earliest():
    d = decide(facts(year="2009-2010"), [NEW, OLD], date(2040, 1, 1))
    assert [r.schedule for r in d.applied] == ["tt27"]
    assert d.disposable_from == date(2016, 1, 1)


def test_future_schedule_does_not_apply_yet():
    chosen = applicable_schedules([OLD, NEW], "T01", date(2025, 6, 30))
    assert [s.code for s in chosen] == ["tt27"]


def test_confirming_a_row_changes_the_outcome():
    before = decide(facts("hoc-ba"), [OLD], date(2040, 1, 1))
    confirmed = law("tt27", date(2016, 11, 14), ("hoc-ba", Y10, "sourced"))
    after = decide(facts("hoc-ba"), [confirmed], date(2040, 1, 1))
    assert before.blockers == (B_UNVERIFIED,)
    assert after.due and after.disposable_from == date(2031, 1, 1)


def test_school_schedule_may_keep_longer_never_shorter():
    longer = Schedule(
        "t01-own", "school", date(2020, 1, 1), (Rule("t01-own", "so-ghi-dau-bai", Y10, "sourced"),), "T01"
    )
    shorter = Schedule(
        "t01-short",
        "school",
        date(2020, 1, 1),
        (Rule("t01-short", "so-ghi-dau-bai", RetentionPeriod(YEARS, years=1), "sourced"),),
        "T01",
    )
    assert decide(facts(), [OLD, longer], date(2040, 1, 1)).disposable_from == date(2031, 1, 1)
    assert decide(facts(), [OLD, shorter], date(2040, 1, 1)).disposable_from == date(2026, 1, 1)
    # another school's own schedule does not apply here
    assert decide(facts(school="C01"), [OLD, longer], date(2040, 1, 1)).disposable_from == date(2026, 1, 1)


def test_level_specific_row_wins_over_the_general_row():
    s = law(
        "tt27",
        date(2016, 1, 1),
        Rule("tt27", "so-ghi-dau-bai", Y5, "sourced-medium", level="THPT"),
        Rule("tt27", "so-ghi-dau-bai", PERM, "unverified"),
    )
    assert decide(facts(), [s], date(2040, 1, 1)).due
    thcs = decide(facts(school_levels=("THCS",)), [s], date(2040, 1, 1))
    assert thcs.blockers == (B_UNVERIFIED,)


def test_unverified_row_in_any_applicable_schedule_blocks():
    guidance = Schedule("cv", "guidance", date(2018, 1, 1), (Rule("cv", "so-ghi-dau-bai", Y5, "unverified"),))
    d = decide(facts(), [OLD, guidance], date(2040, 1, 1))
    assert d.blockers == (B_UNVERIFIED,)


# event-based periods -------------------------------------------------------------------------------------------------
def test_until_students_leave_needs_a_confirmed_date():
    s = law("cv", date(2016, 1, 1), ("bien-ban-chinh-sua-du-lieu", LEAVE, "sourced"))
    d = decide(facts("bien-ban-chinh-sua-du-lieu"), [s], date(2040, 1, 1))
    assert d.blockers == (B_EVENT_DATE,) and d.disposable_from is None and d.period == LEAVE
    left = date(2027, 6, 15)
    f = facts("bien-ban-chinh-sua-du-lieu", event_dates={STUDENTS_LEAVE: left})
    assert decide(f, [s], date(2027, 6, 14)).blockers == (B_NOT_YET,)
    d = decide(f, [s], date(2027, 6, 15))
    assert d.due and d.disposable_from == left


def test_event_and_years_together_take_the_later_date():
    a = law("tt", date(2016, 1, 1), ("bien-ban-chinh-sua-du-lieu", Y5, "sourced"))
    b = Schedule(
        "cv", "guidance", date(2016, 1, 1), (Rule("cv", "bien-ban-chinh-sua-du-lieu", LEAVE, "sourced"),)
    )
    f = facts("bien-ban-chinh-sua-du-lieu", year="2019-2020", event_dates={STUDENTS_LEAVE: date(2022, 6, 1)})
    d = decide(f, [a, b], date(2040, 1, 1))
    assert d.disposable_from == date(2026, 1, 1) and d.period == Y5
    late = facts(
        "bien-ban-chinh-sua-du-lieu", year="2019-2020", event_dates={STUDENTS_LEAVE: date(2028, 6, 1)}
    )
    assert decide(late, [a, b], date(2040, 1, 1)).disposable_from == date(2028, 6, 1)


# holds, status, locks --------------------------------------------------------------------------------------------
def test_legal_hold_blocks_a_due_document_but_keeps_its_date():
    d = decide(facts(holds=(7,)), [OLD], date(2040, 1, 1))
    assert d.blockers == (B_HOLD,) and d.holds == (7,)
    assert d.disposable_from == date(2026, 1, 1)


def test_disposed_document_is_not_due_again():
    assert decide(facts(status="disposed"), [OLD], date(2040, 1, 1)).blockers == (B_DISPOSED,)


def test_lock_until_is_the_date_far_away_when_permanent_or_rolling_when_unknown():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    d = decide(facts(), [OLD], date(2025, 1, 1))
    assert d.lock_until(now) == datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 1/1/2026 00:00 +07:00
    assert d.lock_slack() == timedelta(0)
    p = decide(facts("hoc-ba"), [NEW], date(2026, 1, 1))  # hoc-ba confirmed permanent in NEW
    assert p.lock_until(now).year >= 2125
    u = decide(
        facts("hoc-ba"), [OLD], date(2025, 1, 1)
    )  # unverified: rolling, so a later "5 years" can still act
    assert u.lock_until(now) == now + timedelta(days=400) and u.lock_slack() > timedelta(0)


def test_decision_is_frozen():
    d = decide(facts(), [OLD], date(2040, 1, 1))
    with pytest.raises(AttributeError):
        d.disposable_from = None  # type: ignore[misc]
