"""A 500 MB upload must not raise the server's memory by more than ~50 MB (streamed end to end)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from bench.pdfgen import make_big_pdf
from tests.factories import boot
from tests.processes import stop_server

MB = 1024 * 1024


@pytest.mark.slow
def test_500mb_upload_keeps_server_memory_flat(tmp_path: Path):
    server = boot(tmp_path, HOSO_MAX_UPLOAD_BYTES=str(600 * MB))
    try:
        big = tmp_path / "so-theo-doi-toan-truong.pdf"
        sha = make_big_pdf(big, 500 * MB)
        proc = psutil.Process(server.proc.pid)
        token = server.token()
        with server.client(token) as c:  # warm up: first request loads modules
            c.get("/api/v1/documents")
        base = proc.memory_info().rss
        peak = base
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, proc.memory_info().rss)
                time.sleep(0.05)

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        with open(big, "rb") as f, server.client(token) as c:
            r = c.post(
                "/api/v1/documents",
                data={"school": "T01", "type": "so-theo-doi-danh-gia-lop", "year": "2024-2025"},
                files={"file": (big.name, f, "application/pdf")},
                timeout=httpx.Timeout(600),
            )
        stop.set()
        t.join()
        assert r.status_code == 201, r.text
        assert r.json()["sha256"] == sha and r.json()["size"] == big.stat().st_size
        grown = (peak - base) / MB
        assert grown < 50, f"server RSS grew by {grown:.0f} MB during a 500 MB upload"
    finally:
        stop_server(server)
