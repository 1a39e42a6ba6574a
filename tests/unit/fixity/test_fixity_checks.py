"""Checking one copy on a real (memory) store: what a light check sees, what only a full check sees, retries."""

from __future__ import annotations

import dataclasses
import hashlib
import io

import pytest

from retention.fixity import CopyTask, check_copy
from storage.memory import MemoryStore

DATA = b"%PDF-1.7 hoc ba lop 10A1 " * 1000
SHA = hashlib.sha256(DATA).hexdigest()
KEY = f"content/{SHA[:2]}/{SHA}"


@pytest.fixture
def store() -> MemoryStore:
    s = MemoryStore("memory://unit-fixity")
    s.put(KEY, io.BytesIO(DATA), SHA)
    return s


def task(state: str = "ok") -> CopyTask:
    return CopyTask(1, 1, KEY, "memory://unit-fixity", SHA, len(DATA), state)


def check(store: MemoryStore, *, full: bool, state: str = "ok", attempts: int = 1, sleep=lambda s: None):
    return check_copy(store, task(state), full=full, attempts=attempts, delay=0.0, sleep=sleep)


def test_intact_copy_passes_both_checks_and_only_full_reads_bytes(store: MemoryStore):
    light, full = check(store, full=False), check(store, full=True)
    assert light.ok and light.bytes_read == 0 and not light.full
    assert full.ok and full.bytes_read == len(DATA) and full.found == SHA


def test_bit_flip_is_invisible_to_the_light_check_and_caught_by_the_full_one(store: MemoryStore):
    flipped = bytearray(DATA)
    flipped[1234] ^= 0x01
    store.corrupt(KEY, bytes(flipped))
    assert check(store, full=False).ok  # same size, the store's recorded checksum still claims the old digest
    full = check(store, full=True)
    assert full.state == "corrupt"
    assert full.found == hashlib.sha256(bytes(flipped)).hexdigest() and full.expected == SHA


def test_truncation_is_caught_by_the_light_check_and_confirmed_by_hashing(store: MemoryStore):
    store.corrupt(KEY, DATA[:100])
    r = check(store, full=False)
    assert r.state == "corrupt" and r.full  # escalated to a full re-hash on the spot
    assert r.found == hashlib.sha256(DATA[:100]).hexdigest()


def test_missing_copy(store: MemoryStore):
    store._objects.pop(KEY)
    assert check(store, full=False).state == "missing"
    assert check(store, full=True).state == "missing"


def test_a_previously_damaged_copy_gets_a_full_check_even_on_a_light_run(store: MemoryStore):
    r = check(store, full=False, state="corrupt")
    assert r.ok and r.full and r.bytes_read == len(DATA)


def test_unreachable_is_retried_before_it_is_believed(store: MemoryStore):
    store.available = False
    sleeps: list[float] = []
    r = check_copy(store, task(), full=True, attempts=3, delay=0.5, sleep=sleeps.append)
    assert r.state == "unreachable" and r.attempts == 3
    assert sleeps == [0.5, 1.0]  # growing pauses between attempts


def test_a_transient_outage_is_not_damage(store: MemoryStore):
    store.available = False

    def store_comes_back(_: float) -> None:
        store.available = True

    r = check_copy(store, task(), full=True, attempts=3, delay=0.0, sleep=store_comes_back)
    assert r.ok and r.attempts == 2


def test_results_are_frozen(store: MemoryStore):
    r = check(store, full=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.state = "corrupt"  # type: ignore[misc]
