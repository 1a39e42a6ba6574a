"""A small pool of long-lived worker processes that read untrusted PDFs for the server (archive/inspection_worker.py).

Forking the server for every upload cost more than the inspection itself (a 1 MB PDF: ~10 ms of pikepdf, ~40 ms of
fork, pipe and exit of a 100+ MB process). A worker is a fresh, lean Python started once: it inspects one file at a
time under its own address-space limit and reads the file's text with pdftotext (each run with limits of its own).

- One request at a time per worker; a caller holds its worker from the inspection to the end of the text read, so the
  text can be read while the caller writes the copies.
- A worker that dies, overruns its time, answers nonsense or reports a failure is killed and replaced; every worker is
  also replaced after MAX_FILES files, so what a file did to its heap does not stay.
- The protocol is JSON lines on the worker's stdin and stdout, never pickle: a worker taken over by a hostile file can
  send wrong answers, not code for the server to run.

This module knows processes and messages, not PDFs: archive/pdfcheck.py and archive/content_checks.py say what is
asked and what the answers mean.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .child_env import child_env

SIZE = 2  # workers; the machines hoso runs on have a few cores and uploads wait on disks more than on CPU
MAX_FILES = 200  # files a worker reads before it is replaced
START_TIMEOUT = 60.0  # seconds for a new worker to import pikepdf and say it is ready
PING_TIMEOUT = 5.0  # an idle worker answers in well under a millisecond
_ROOT = (
    Path(__file__).resolve().parent.parent
)  # the folder holding the `archive` package, for the worker's path


class WorkerLost(Exception):
    """The worker died or said something that is not an answer (it has been replaced)."""


class WorkerTimeout(Exception):
    """The worker did not answer in time (it has been killed and replaced)."""


class _Worker:
    def __init__(self) -> None:
        path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = child_env(PYTHONPATH=path)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "archive.inspection_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self.files = 0
        self.ready = False
        self._buf = b""

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise WorkerLost("the inspection worker is gone") from None

    def receive(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise WorkerTimeout(f"no answer within {timeout:.0f} s")
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise WorkerLost("the inspection worker died")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            answer = json.loads(line)
        except ValueError:
            raise WorkerLost("the inspection worker sent something that is not JSON") from None
        if not isinstance(answer, dict):
            raise WorkerLost("the inspection worker sent something that is not an answer")
        return answer

    def alive(self) -> bool:
        """Ready (the first time) and answering."""
        try:
            if not self.ready:
                self.ready = self.receive(START_TIMEOUT).get("ready") == self.proc.pid
            self.send({"op": "ping"})
            return self.ready and self.receive(PING_TIMEOUT).get("pong") is True
        except (WorkerLost, WorkerTimeout):
            return False

    def stop(self, *, kill: bool = False) -> None:
        if kill and self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()  # a worker reads until its stdin ends, then exits
            except OSError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Pool:
    def __init__(self, size: int = SIZE, max_files: int = MAX_FILES) -> None:
        self.size, self.max_files = size, max_files
        self.owner = os.getpid()
        self._idle: list[_Worker] = []
        self._busy = 0
        self._cond = threading.Condition()
        self._closed = False
        self.started = 0  # workers started so far (tests see replacements)

    def _spawn(self) -> _Worker:
        self.started += 1
        return _Worker()

    def _checkout(self) -> _Worker:
        with self._cond:
            while not self._idle and self._busy >= self.size:
                self._cond.wait()
            self._busy += 1
            worker = self._idle.pop() if self._idle else None
        try:
            for _ in range(3):
                if worker is None:
                    worker = self._spawn()
                # a worker that died while idle (killed, out of memory) must not cost an upload its answer: a ping
                # (a tenth of a millisecond) finds it before the file is sent
                if worker.alive():
                    return worker
                worker.stop(kill=True)
                worker = None
            raise WorkerLost("no inspection worker could be started")
        except BaseException:
            if worker is not None:
                worker.stop(kill=True)
            with self._cond:
                self._busy -= 1
                self._cond.notify()
            raise

    def _checkin(self, worker: _Worker, healthy: bool) -> None:
        worker.files += 1
        keep = healthy and worker.files < self.max_files and worker.proc.poll() is None and not self._closed
        back: _Worker | None = worker
        if not keep:
            worker.stop(kill=True)
            # the replacement starts now and imports while nobody waits for it
            back = self._spawn() if not self._closed else None
        with self._cond:
            self._busy -= 1
            if back is not None:
                self._idle.append(back)
            self._cond.notify()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A worker for one file: its requests in order, then back to the pool (or replaced)."""
        worker = self._checkout()
        s = Session(worker)
        try:
            yield s
        except BaseException:
            s.healthy = s.healthy and s.pending is None
            raise
        finally:
            if s.pending is not None:  # an answer asked for and never collected: the worker is still busy
                s.healthy = False
            self._checkin(worker, s.healthy)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.stop()


class Session:
    """Requests to one worker. `ask` sends and waits; `send` and `collect` let the caller work in between."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker
        self.healthy = True
        self.pending: float | None = None  # the timeout of the answer to collect

    def ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.send(message, timeout)
        return self.collect()

    def send(self, message: dict[str, Any], timeout: float) -> None:
        assert self.pending is None, "collect the previous answer first"
        try:
            self.worker.send(message)
        except WorkerLost:
            self.healthy = False
            raise
        self.pending = timeout

    def collect(self) -> dict[str, Any]:
        assert self.pending is not None, "nothing was asked"
        timeout, self.pending = self.pending, None
        try:
            answer = self.worker.receive(timeout)
        except (WorkerLost, WorkerTimeout):
            self.healthy = False
            self.worker.stop(kill=True)
            raise
        if answer.get("retire"):  # the worker met a failure (out of memory …) and asks to be replaced
            self.healthy = False
        return answer


_pool: Pool | None = None
_pool_lock = threading.Lock()


def default() -> Pool:
    """The process's pool, started on first use (a forked child gets its own: pipes are not shared across a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool.owner != os.getpid():
            _pool = Pool()
        return _pool


def shutdown() -> None:
    """Stop the process's workers and wait for them (at exit; tests that measure children's memory call it)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None and pool.owner == os.getpid():
        pool.close()


atexit.register(shutdown)
