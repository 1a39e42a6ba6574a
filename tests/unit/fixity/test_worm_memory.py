"""The WORM canary against memory stores: one that honours retention, one that silently does not."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from retention.worm import PREFIX, check_store
from storage.memory import MemoryStore


class IgnoresRetention(MemoryStore):
    """A store that accepts a retention date and then forgets to honour it (the failure the canary exists for)."""

    def _locked(self, key: str) -> bool:
        return False


def test_a_store_that_honours_retention_passes():
    store = MemoryStore("memory://worm-ok")
    r = check_store(store, now=datetime.now(UTC))
    assert r.protected is True and r.key is not None and r.key.startswith(PREFIX)
    assert not r.server_checked  # a memory store has no server to ask
    assert list(store.list(PREFIX)) == [r.key]  # the canary is still there


def test_a_store_that_deletes_a_retained_object_fails():
    r = check_store(IgnoresRetention("memory://worm-bad"), now=datetime.now(UTC))
    assert r.protected is False and "deleted" in r.detail


def test_expired_canaries_are_cleaned_up_later():
    store = MemoryStore("memory://worm-cleanup")
    first = check_store(store, retention=timedelta(seconds=1))
    time.sleep(1.2)  # the store enforces retention on its own clock
    later = check_store(store)
    assert later.expired_canaries_removed == 1
    assert first.key not in list(store.list(PREFIX))
