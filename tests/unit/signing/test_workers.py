"""signing/workers.py: a worker serves job after job, and one that overran its time, raised, met its memory limit or
returned what may not be reused is gone before the next job (which gets a new process)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from signing import workers

MiB = 1024 * 1024


def _same(value: object) -> object:
    return value


def run(*args: Any, **kw: Any) -> tuple[bool, Any]:
    """workers.run with results that are JSON values already (tuples come back as lists)."""
    return workers.run(*args, encode=_same, decode=_same, **kw)


def _tagged(value: Any) -> Any:
    return {"tagged": value}


def _unwritable(value: Any) -> Any:
    return object()


def idle(work: object) -> list[object]:
    """The idle workers forked for `work`, whatever their encoder."""
    return [w for (job, _), pool in workers._idle.items() if job is work for w in pool]


@pytest.fixture(autouse=True)
def no_idle_workers() -> Iterator[None]:
    workers.retire_all()
    yield
    workers.retire_all()


def whoami(value: object = None) -> tuple[int, object]:
    return os.getpid(), value


def sleepy(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def failing() -> None:
    raise ValueError("broken input")


def greedy(size: int) -> int:
    return len(bytearray(size))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # killed but not yet reaped would be a zombie
        return f.read().split(") ")[1][0] != "Z"


def test_a_worker_serves_again_in_another_process():
    pids = {run(whoami, (i,), memory=64 * MiB, time_limit=30)[1][0] for i in range(5)}
    assert len(pids) == 1 and os.getpid() not in pids


def test_a_job_over_its_time_limit_has_its_worker_killed():
    first = run(whoami, (), memory=64 * MiB, time_limit=30)[1][0]
    finished, value = run(sleepy, (30,), memory=64 * MiB, time_limit=0.5)
    assert (finished, value) == (False, None)
    # the sleepy job ran in a worker of its own function; whoami's worker is still the same
    assert run(whoami, (), memory=64 * MiB, time_limit=30)[1][0] == first
    assert run(sleepy, (0,), memory=64 * MiB, time_limit=30)[0]


def test_a_job_that_raises_retires_its_worker():
    pid = run(whoami, (), memory=64 * MiB, time_limit=30)[1][0]
    workers.retire_all()
    assert not alive(pid)
    with pytest.raises(workers.JobFailed, match="ValueError: broken input"):
        run(failing, (), memory=64 * MiB, time_limit=30)
    assert idle(failing) == []


def test_the_memory_limit_is_set_for_each_job():
    assert run(greedy, (32 * MiB,), memory=256 * MiB, time_limit=30) == (True, 32 * MiB)
    with pytest.raises(workers.JobFailed, match="MemoryError"):
        run(greedy, (1024 * MiB,), memory=256 * MiB, time_limit=30)
    # a new worker, limited afresh: a larger allowance for this job lets it through
    assert run(greedy, (512 * MiB,), memory=1024 * MiB, time_limit=30) == (True, 512 * MiB)


def test_a_result_that_may_not_be_reused_retires_the_worker():
    finished, (pid, _) = run(whoami, ("bad",), memory=64 * MiB, time_limit=30, reusable=lambda r: False)
    assert finished and not alive(pid)
    again = run(whoami, (), memory=64 * MiB, time_limit=30)[1][0]
    assert again != pid


def test_workers_are_replaced_after_max_jobs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(workers, "MAX_JOBS", 2)
    pids = [run(whoami, (), memory=64 * MiB, time_limit=30)[1][0] for _ in range(4)]
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_a_worker_lets_go_of_the_callers_sockets():
    """A listening socket the caller closes is closed for good: the worker forked while it was open does not keep
    its port (which a server started again on that port would share with a process that never accepts)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    found, _ = run(whoami, (), memory=64 * MiB, time_limit=30)
    assert found  # the worker lives on, idle
    listener.close()
    again = socket.socket()
    try:
        again.bind(("127.0.0.1", port))  # EADDRINUSE while a worker still listens there
        again.listen()
    finally:
        again.close()


def test_an_answer_that_is_not_one_fails_the_job_and_retires_the_worker():
    """The caller reads JSON only; what it cannot make a result of is the worker's failure, not the caller's."""
    with pytest.raises(workers.JobFailed, match="answer is not one"):
        workers.run(whoami, (), memory=64 * MiB, time_limit=30, encode=_same, decode=lambda v: v["report"])
    assert idle(whoami) == []
    # a result the worker cannot write as JSON is the job's failure too
    with pytest.raises(workers.JobFailed, match="TypeError"):
        workers.run(whoami, (), memory=64 * MiB, time_limit=30, encode=_unwritable, decode=_same)


def test_a_worker_is_reused_only_by_a_caller_with_its_encoder():
    """The encoder is fixed when the worker is forked: another caller of the same work must not get its answers."""
    first = run(whoami, (), memory=64 * MiB, time_limit=30)[1][0]
    assert len(idle(whoami)) == 1
    tagged = workers.run(
        whoami,
        (),
        memory=64 * MiB,
        time_limit=30,
        encode=_tagged,
        decode=lambda v: v["tagged"],
    )[1]
    assert tagged[0] != first  # a worker of its own, answering with its own encoder
    assert len(idle(whoami)) == 2
    assert run(whoami, (), memory=64 * MiB, time_limit=30)[1][0] == first


def test_a_function_made_per_call_is_refused_before_any_worker_is_forked():
    """A worker kept for a lambda could never be reused: each call would leave one more process behind."""
    with pytest.raises(ValueError, match="module-level"):
        workers.run(whoami, (), memory=64 * MiB, time_limit=30, encode=lambda v: v, decode=_same)
    with pytest.raises(ValueError, match="module-level"):
        workers.run(lambda: os.getpid(), (), memory=64 * MiB, time_limit=30, encode=_same, decode=_same)
    assert workers._idle == {} and workers._live == set()
