"""The full-fixity period math: even slices, least recently verified first, nothing ever overdue."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from retention.fixity import overdue_cutoff, runs_per_period, slice_quota, slot_name

DAY = timedelta(days=1)
PERIOD = timedelta(days=90)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_even_share_is_total_over_runs_per_period():
    assert runs_per_period(PERIOD, DAY) == 90
    assert slice_quota(9000, 0, 0, PERIOD, DAY) == 100
    assert slice_quota(9001, 0, 0, PERIOD, DAY) == 101  # rounded up, never down
    assert slice_quota(0, 0, 0, PERIOD, DAY) == 0


def test_overdue_and_damaged_raise_the_quota_but_never_past_total():
    assert slice_quota(9000, 250, 0, PERIOD, DAY) == 250  # everything that would be late by the next run
    assert slice_quota(9000, 5, 5, PERIOD, DAY) == 105  # damaged copies do not eat the healthy share
    assert slice_quota(10, 50, 0, PERIOD, DAY) == 10


def test_interval_longer_than_the_period_checks_everything_each_run():
    assert runs_per_period(PERIOD, timedelta(days=200)) == 1
    assert slice_quota(77, 0, 0, PERIOD, timedelta(days=200)) == 77


def test_cutoff_looks_one_interval_ahead():
    now = T0 + 100 * DAY
    assert overdue_cutoff(now, PERIOD, DAY) == now - 89 * DAY


def test_slots_are_shared_within_an_interval_and_differ_across():
    interval = timedelta(hours=24)
    a = slot_name("full", T0 + timedelta(hours=1), interval)
    b = slot_name("full", T0 + timedelta(hours=23), interval)
    c = slot_name("full", T0 + timedelta(hours=25), interval)
    assert a == b != c
    assert slot_name("light", T0, interval) != slot_name("full", T0, interval)


def simulate(verified: list[datetime], days: int, interval: timedelta = DAY) -> tuple[list[int], float]:
    """Run the planner daily over `verified` (last verification per copy) the way run_fixity claims:
    least recently verified first, `slice_quota` copies per run. Returns per-run counts and the worst age seen."""
    counts = []
    worst = 0.0
    now = T0
    for _ in range(days):
        cutoff = overdue_cutoff(now, PERIOD, interval)
        must = sum(v < cutoff for v in verified)
        quota = slice_quota(len(verified), must, 0, PERIOD, interval)
        order = sorted(range(len(verified)), key=lambda i: verified[i])
        for i in order[:quota]:
            verified[i] = now
        counts.append(quota)
        worst = max(worst, max((now - v) / DAY for v in verified))
        now += interval
    return counts, worst


def test_steady_state_is_even_and_nothing_passes_the_period():
    # 900 copies ingested evenly over the previous 90 days
    verified = [T0 - timedelta(days=90 * i / 900) for i in range(900)]
    counts, worst = simulate(verified, 270)
    assert worst <= 90
    assert max(counts) <= math.ceil(900 / 90) + 1
    assert sum(counts[-90:]) == pytest.approx(900, rel=0.05)  # each copy about once per period, not more


def test_a_burst_of_ingests_is_never_late_and_is_spread_out_again():
    # 600 copies written on one day 80 days ago, 300 spread evenly: the burst comes due all at once
    verified = [T0 - 80 * DAY] * 600 + [T0 - timedelta(days=90 * i / 300) for i in range(300)]
    counts, worst = simulate(verified, 365)
    assert worst <= 90, "a copy went more than the period without a full check"
    # the first period has to absorb the burst; by the fourth period the load is even again
    assert max(counts[270:]) <= math.ceil(900 / 90) + 1
    assert max(counts) >= 100  # the burst really was absorbed somewhere (the test would be vacuous otherwise)


def test_copies_never_verified_are_taken_in_the_first_run():
    verified = [datetime.min.replace(tzinfo=UTC)] * 50 + [T0] * 50
    counts, worst = simulate(verified, 1)
    assert counts[0] >= 50
