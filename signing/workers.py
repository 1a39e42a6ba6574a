"""Long-lived forked processes that run untrusted work one job at a time, under a memory limit set per job.

A fork per validation cost the caller a copy of its page tables and, in the child, copy-on-write faults on whatever
Python touched, tens of milliseconds on an application process (and the trust roots' parsed state died with each
child). A worker here is forked once and serves jobs over a pipe. What made the fork per file safe is kept: each job
runs in another process under an address-space limit fixed for that job; a job that overruns its time limit has its
worker killed; a worker whose job ended in an error (or that has served MAX_JOBS) is retired and a new one forked,
so no state a hostile file may have left behind outlives the job that met it. A worker answers in JSON (`encode` in
the worker, `decode` here), never pickle: a worker a hostile file took over can send a wrong answer, not code for the
caller to run.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import threading
from collections.abc import Callable
from typing import Any

MAX_JOBS = 50  # jobs per worker before it is replaced (memory a parser keeps does not pile up)
MAX_IDLE = 2  # idle workers kept; more concurrent callers fork more, which end after their job
MAX_ANSWER = 16 * 1024 * 1024  # bytes of one answer; a report is a few kilobytes


class JobFailed(Exception):
    """The job raised in its worker (MemoryError under the limit included), or the worker died."""


class _Worker:
    def __init__(self, work: Callable[..., Any], encode: Callable[[Any], Any]) -> None:
        ctx = multiprocessing.get_context("fork")
        self.conn, child_end = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child_end, work, encode), daemon=True)
        self.proc.start()
        child_end.close()
        self.jobs = 0

    def stop(self) -> None:
        self.conn.close()
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(5)


_lock = threading.Lock()
_idle: dict[tuple[Callable[..., Any], Callable[[Any], Any]], list[_Worker]] = {}  # by (work, encode)
_live: set[_Worker] = set()  # idle or busy: a new worker closes its copies of their pipes


def run(
    work: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    memory: int,
    time_limit: float,
    encode: Callable[[Any], Any],
    decode: Callable[[Any], Any],
    reusable: Callable[[Any], bool] = lambda _: True,
) -> tuple[bool, Any]:
    """(True, decode(encode(work(*args)))) from a worker whose address space may grow by `memory` bytes for this
    job, `encode` turning the result into JSON values there; (False, None) when the time limit passed (the worker is
    killed). JobFailed when the job raised, the worker died or its answer is not one. The worker serves again only if
    `reusable(result)`. `work` and `encode` are module-level functions: idle workers are kept for them, and a
    lambda or inner function made per call would leave a worker behind that no later call could reuse."""
    for f in (work, encode):
        if "<" in getattr(f, "__qualname__", ""):  # <lambda>, <locals>
            raise ValueError(f"workers.run needs module-level functions, not {f.__qualname__}")
    # a worker answers with the encoder it was forked with: only a caller with that encoder may reuse it
    kind = (work, encode)
    with _lock:
        pool = _idle.setdefault(kind, [])
        worker = pool.pop() if pool else None
    if worker is None:
        worker = _Worker(work, encode)
        with _lock:
            _live.add(worker)
    keep = False
    try:
        try:
            worker.conn.send((memory, args))
            if not worker.conn.poll(time_limit):
                return False, None
            raw = worker.conn.recv_bytes(MAX_ANSWER)
        except (EOFError, OSError) as exc:  # OSError: an answer longer than MAX_ANSWER
            raise JobFailed("the worker process died or answered more than it may") from exc
        try:
            ok, payload = json.loads(raw)
            value = decode(payload) if ok else None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise JobFailed(f"the worker's answer is not one: {type(exc).__name__}") from None
        if not ok:
            raise JobFailed(str(payload))
        worker.jobs += 1
        keep = worker.jobs < MAX_JOBS and reusable(value)
        return True, value
    finally:
        _give_back(kind, worker, keep)


def _give_back(kind: tuple[Callable[..., Any], Callable[[Any], Any]], worker: _Worker, keep: bool) -> None:
    with _lock:
        pool = _idle.setdefault(kind, [])
        if keep and len(pool) < MAX_IDLE and worker.proc.is_alive():
            pool.append(worker)
            return
        _live.discard(worker)
    worker.stop()


def retire_all() -> None:
    """Stop every idle worker (tests that measure what the children used, and shutdown)."""
    with _lock:
        workers = [w for pool in _idle.values() for w in pool]
        _idle.clear()
        _live.difference_update(workers)
    for w in workers:
        w.stop()


def _let_go_of_sockets(keep: int) -> None:
    """A fork holds copies of the caller's sockets: a server's listening socket, database connections. A worker living
    for many jobs would keep them open after the caller closed them (a listening socket held here keeps its port, and
    connections to it wait for an accept that never comes). Each is pointed at /dev/null rather than closed, so that no
    object still holding its number closes some later file of this worker by mistake."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in (keep, null):
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(null, fd)
            except OSError:
                continue  # the listing's own descriptor, gone already
    finally:
        os.close(null)


def _serve(conn: Any, work: Callable[..., Any], encode: Callable[[Any], Any]) -> None:
    for other in list(_live):  # copies of the other workers' pipes: they must see EOF when the caller goes
        other.conn.close()
    try:
        _let_go_of_sockets(keep=conn.fileno())
    except OSError:
        pass  # no /proc: the sockets stay, as with the fork per job before
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    while True:
        try:
            memory, args = conn.recv()
        except (EOFError, OSError):
            return  # the caller went away
        try:
            with open("/proc/self/statm") as f:
                current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            limit = current + memory
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (OSError, ValueError):
            pass
        try:
            ok, payload = True, encode(work(*args))
            answer = json.dumps([ok, payload]).encode()
        except BaseException as exc:  # MemoryError included: the caller gets an answer either way
            ok = False
            answer = json.dumps([ok, f"{type(exc).__name__}: {exc}"]).encode()
        try:
            conn.send_bytes(answer)
        except BaseException:
            return
        if not ok:
            return
