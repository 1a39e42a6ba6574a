"""A server process leaves the heap it built at startup out of Python's full collections (hoso.app.settled)."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from hoso.app import settled


def test_the_startup_heap_is_left_out_of_full_collections():
    app = FastAPI(title="startup")
    assert any(o is app for o in gc.get_objects())  # a collection would scan it
    try:
        assert settled(app) is app
        assert gc.get_freeze_count() > 0
        assert not any(o is app for o in gc.get_objects())  # frozen: no collection scans it again
        # what the process makes afterwards is collected as ever
        later = FastAPI(title="after startup")
        assert any(o is later for o in gc.get_objects())
    finally:
        gc.unfreeze()  # this is a test process: its later cycles must stay collectable
