"""The inspection pool (archive/inspection_pool.py): long-lived workers read untrusted PDFs one at a time, and a worker
that failed — died, overran its time, ran out of memory — is replaced, so the next upload is inspected as usual."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from archive import content_checks, inspection_pool, inspection_worker, pdfcheck
from archive.errors import IngestRefused
from tests.factories import make_pdf
from tests.integration import pdfkit
from tests.integration.test_pdf_bombs import objstm_bomb


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[inspection_pool.Pool]:
    """A pool of one worker, so the worker a test harms is the one the next inspection gets (or its replacement)."""
    own = inspection_pool.Pool(size=1)
    monkeypatch.setattr(inspection_pool, "default", lambda: own)
    yield own
    own.close()


def _worker_pid(pool: inspection_pool.Pool) -> int:
    with pool.session() as s:
        return s.worker.proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child not yet reaped is a zombie: gone for our purpose
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_one_worker_serves_file_after_file(pool: inspection_pool.Pool, tmp_path: Path):
    good = make_pdf(tmp_path / "a.pdf")
    first = _worker_pid(pool)
    for _ in range(3):
        assert pdfcheck.inspect_pdf(good).page_count == 1
    assert _worker_pid(pool) == first and pool.started == 1


def test_a_worker_that_died_is_replaced(pool: inspection_pool.Pool, tmp_path: Path):
    good = make_pdf(tmp_path / "a.pdf")
    dead = _worker_pid(pool)
    os.kill(dead, signal.SIGKILL)
    assert pdfcheck.inspect_pdf(good).page_count == 1
    assert _worker_pid(pool) != dead


def test_a_worker_killed_mid_inspection_refuses_the_file_and_is_replaced(
    pool: inspection_pool.Pool, tmp_path: Path
):
    good = make_pdf(tmp_path / "a.pdf")
    with pytest.raises(IngestRefused) as ei, pdfcheck.inspection(good) as job:
        os.kill(job.session.worker.proc.pid, signal.SIGKILL)
        job.facts()
    assert ei.value.code == "decompression_bomb"  # as a child that died under its memory limit always was
    assert pdfcheck.inspect_pdf(good).page_count == 1


def test_a_bomb_is_refused_with_its_code_and_the_next_file_is_inspected(
    pool: inspection_pool.Pool, tmp_path: Path
):
    good = make_pdf(tmp_path / "a.pdf")
    for bomb in (pdfkit.embedded_file_bomb(tmp_path / "ef.pdf"), objstm_bomb(tmp_path / "objstm.pdf")):
        before = _worker_pid(pool)
        with pytest.raises(IngestRefused) as ei:
            pdfcheck.inspect_pdf(bomb)
        assert ei.value.code == "decompression_bomb"
        assert pdfcheck.inspect_pdf(good).page_count == 1
        assert _worker_pid(pool) == before  # refused by the bounded decoding: the worker is fine and stays


def test_a_worker_that_failed_is_replaced(pool: inspection_pool.Pool, tmp_path: Path):
    good = make_pdf(tmp_path / "a.pdf")
    before = _worker_pid(pool)
    with pytest.raises(IngestRefused):
        pdfcheck.inspect_pdf(tmp_path / "gone.pdf")  # an error no inspection expects: the worker retires
    assert pdfcheck.inspect_pdf(good).page_count == 1
    assert not _alive(before) and _worker_pid(pool) != before


def test_out_of_memory_in_a_worker_is_a_bomb_and_retires_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def exhausted(path: Path) -> None:
        raise MemoryError

    monkeypatch.setattr(pdfcheck, "_inspect", exhausted)
    answer = inspection_worker.inspect({"path": str(make_pdf(tmp_path / "a.pdf")), "headroom": 1 << 30})
    assert answer["retire"] is True and answer["refused"][0] == "decompression_bomb"


def test_a_timeout_kills_the_worker(
    pool: inspection_pool.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    good = make_pdf(tmp_path / "a.pdf")
    monkeypatch.setattr(pdfcheck, "CHILD_TIME_LIMIT", 1.0)
    with pytest.raises(IngestRefused) as ei, pdfcheck.inspection(good) as job:
        stuck = job.session.worker.proc.pid
        os.kill(stuck, signal.SIGSTOP)  # a worker that never answers, as one lost in a hostile file
        job.facts()
    assert ei.value.code == "too_complex"
    assert not _alive(stuck)
    monkeypatch.undo()
    assert pdfcheck.inspect_pdf(good).page_count == 1


def test_workers_are_replaced_after_their_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    own = inspection_pool.Pool(size=1, max_files=2)
    monkeypatch.setattr(inspection_pool, "default", lambda: own)
    good = make_pdf(tmp_path / "a.pdf")
    try:
        for _ in range(5):
            pdfcheck.inspect_pdf(good)
        assert own.started == 3  # files 1-2, 3-4, 5
    finally:
        own.close()


def test_the_text_is_read_by_the_worker_that_inspected_the_file(pool: inspection_pool.Pool, tmp_path: Path):
    pdf = make_pdf(tmp_path / "a.pdf", text="Rút kinh nghiệm")
    with pdfcheck.inspection(pdf) as job:
        assert job.facts().page_count == 1
        content_checks.start_pdf_text(job, 1000)
        lines = list(content_checks.pdf_text(job))
    assert any("Rút kinh nghiệm" in line for line in lines)
    assert pool.started == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"facts": {"page_count": "many", "signed": False, "signature_count": 0, "pdfa_claim": ""}},
        {"facts": "yes"},
        {"refused": ["not_pdf", 1, 2]},
        {},
    ],
)
def test_an_answer_the_worker_code_never_writes_refuses_the_file(answer: dict):
    with pytest.raises(IngestRefused) as ei:
        pdfcheck._facts_of(answer)
    assert ei.value.code == "decompression_bomb"


def test_text_started_with_the_inspection_is_stopped_when_the_file_is_refused(
    pool: inspection_pool.Pool, tmp_path: Path
):
    bomb = pdfkit.embedded_file_bomb(tmp_path / "ef.pdf")
    request = content_checks.text_request(bomb, 1000)
    with pytest.raises(IngestRefused), pdfcheck.inspection(bomb, request) as job:
        worker = psutil.Process(job.session.worker.proc.pid)
        job.facts()
    assert [p.name() for p in worker.children()] == []  # no pdftotext left reading a refused file
    good = make_pdf(tmp_path / "a.pdf", text="Sổ đăng bộ")
    with pdfcheck.inspection(good, content_checks.text_request(good, 1000)) as job:
        job.facts()
        content_checks.start_pdf_text(job, 1000)
        assert any("Sổ đăng bộ" in line for line in content_checks.pdf_text(job))


def test_a_worker_sees_none_of_the_servers_secrets_and_pdftotext_still_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HOSO_DATABASE_URL", "postgresql://hoso:secret-password@db/hoso")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-key")
    own = inspection_pool.Pool(size=1)
    try:
        with own.session() as s:
            environ = Path(f"/proc/{s.worker.proc.pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
        assert "PATH" in names and "PYTHONPATH" in names
        assert not names & {"HOSO_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"}
        assert b"secret" not in b"\0".join(environ)
    finally:
        own.close()
    pdf = make_pdf(tmp_path / "plan.pdf", text="Rút kinh nghiệm")
    assert "Rút kinh nghiệm" in "".join(content_checks.pdf_lines(pdf))
