"""When a B-LTA document needs a fresh document timestamp (pure decision; the real renewal test comes with signing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from retention.upkeep import algorithm_approved, renewal_decision

NOW = datetime(2027, 6, 1, tzinfo=UTC)
MARGIN = timedelta(days=365)


def decide(expires: datetime | None, alg: str | None = "sha256"):
    return renewal_decision(expires, alg, now=NOW, margin=MARGIN)


def test_far_from_expiry_with_an_approved_algorithm_is_left_alone():
    d = decide(NOW + timedelta(days=800))
    assert not d.due and "renew after" in d.reason


def test_within_the_margin_is_renewed():
    d = decide(NOW + timedelta(days=364))
    assert d.due and not d.late
    assert decide(NOW + MARGIN).due  # exactly at the margin counts


def test_already_expired_is_renewed_and_flagged_late():
    d = decide(NOW - timedelta(days=1))
    assert d.due and d.late


@pytest.mark.parametrize("alg", ["sha1", "SHA-1", "md5", "sha1WithRSAEncryption", "sha224", "ripemd160"])
def test_weak_or_unknown_algorithms_are_renewed_even_far_from_expiry(alg: str):
    d = decide(NOW + timedelta(days=3000), alg)
    assert d.due and alg in d.reason


@pytest.mark.parametrize("alg", ["sha256", "SHA-384", "sha512", "sha3_256", "sha3-512", "sha256_rsa"])
def test_approved_algorithms(alg: str):
    assert algorithm_approved(alg)


def test_a_document_without_timestamp_is_not_an_lta_document():
    assert not decide(None, None).due


def test_unknown_expiry_with_a_timestamp_is_renewed():
    assert decide(None, "sha256").due
