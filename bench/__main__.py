"""`python -m bench` (make bench): run every benchmark that is present."""

from __future__ import annotations

import importlib

for name in (
    "bench.bench_ingest", "bench.bench_signing", "bench.bench_fixity", "bench.bench_fixity_claim", "bench.bench_province", "bench.bench_overview",
    "bench.bench_inspection", "bench.bench_validation_cache", "bench.bench_downloads",
):  # fmt: skip
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # a benchmark that is there but cannot import what it needs is an error, not a benchmark that is absent
        if exc.name != name:
            raise
        continue
    print(f"\n== {name} ==")
    module.main()
