"""The inspection worker (run as ``python -m archive.inspection_worker`` by archive/inspection_pool.py).

Reads one JSON request a line on stdin, answers one JSON line; exits when stdin ends or after a failure it cannot
vouch for (out of memory, an unexpected exception), so the pool replaces it. Requests:

- ``{"op": "inspect", "path", "headroom"[, "text"]}``: pdfcheck's inspection under an address-space limit of what the
  worker maps now + headroom + twice the file (qpdf may map it) → ``{"facts": {...}}`` or ``{"refused": [code, vi,
  en]}``. With `text` (a text request), pdftotext starts on the file before the inspection, for a text request equal
  to it that comes next; any other request, or a refusal, stops it.
- ``{"op": "text", "path", "exe", "timeout", "memory", "max_chars"}``: pdftotext's lines (at most about max_chars
  characters) → ``{"lines": [...], "error": null | "why the text is incomplete"}``. pdftotext runs with its own
  address-space and CPU limits and is killed after `timeout` seconds.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import resource
import selectors
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import pdfcheck

CHUNK = 64 * 1024
_LINE_END = re.compile(r"[\n\f]")  # pdftotext ends each page with a form feed


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _limit_memory(extra: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _mapped_bytes() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _unlimit_memory() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def inspect(request: dict[str, Any]) -> dict[str, Any]:
    path = Path(request["path"])
    _limit_memory(int(request["headroom"]) + 2 * path.stat().st_size)
    try:
        outcome = pdfcheck._outcome(path)
    except BaseException:
        # whatever broke, this heap is not trusted with another file
        out_of_memory = pdfcheck._out_of_memory()
        _unlimit_memory()
        if out_of_memory:
            return {"refused": list(pdfcheck._memory_refusal()), "retire": True}
        return {"failed": True, "retire": True}
    _unlimit_memory()
    if isinstance(outcome, pdfcheck.PdfFacts):
        return {"facts": outcome.__dict__}
    return {"refused": list(outcome), "retire": outcome == pdfcheck._memory_refusal()}


@dataclass
class _Text:
    request: dict[str, Any]
    proc: subprocess.Popen[bytes]
    deadline: float


def start_text(request: dict[str, Any]) -> _Text:
    """pdftotext started on the file, with its own limits; its lines are read by finish_text."""
    timeout, memory = float(request["timeout"]), int(request["memory"])

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a killed pdftotext leaves no core file behind

    proc = subprocess.Popen(
        [request["exe"], "-q", "-enc", "UTF-8", request["path"], "-"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        preexec_fn=limits,  # noqa: PLW1509 — setrlimit only, and this worker has one thread
    )
    return _Text(request, proc, time.monotonic() + timeout)


def drop(text: _Text) -> None:
    if text.proc.poll() is None:
        text.proc.kill()  # done, out of time, not wanted, or the text is longer than anyone reads
    text.proc.wait()
    assert text.proc.stdout is not None
    text.proc.stdout.close()


def finish_text(text: _Text) -> dict[str, Any]:
    proc, deadline = text.proc, text.deadline
    timeout, max_chars = float(text.request["timeout"]), int(text.request["max_chars"])
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines: list[str] = []
    size = 0
    pending = ""
    error = None
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while size <= max_chars:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    error = f"pdftotext took longer than {timeout:.0f} s"
                    break
                chunk = os.read(fd, CHUNK)
                pending += decoder.decode(chunk, final=not chunk)
                *done, pending = _LINE_END.split(pending)
                lines += done
                size += sum(len(line) + 1 for line in done)
                if not chunk:
                    break
                if len(pending) > max_chars:  # one endless line
                    lines.append(pending)
                    size += len(pending)
                    pending = ""
        if error is None and size <= max_chars:
            lines.append(pending)
            rc = exit_status(proc, max(deadline - time.monotonic(), 0.1))
            if rc != 0:
                error = f"pdftotext failed (exit status {rc})"
    except subprocess.TimeoutExpired:
        error = f"pdftotext took longer than {timeout:.0f} s"
    finally:
        drop(text)
    return {"lines": lines, "error": error}


def read_text(request: dict[str, Any]) -> dict[str, Any]:
    return finish_text(start_text(request))


def exit_status(proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait for a process to end, woken by the kernel the moment it does (Popen.wait with a timeout polls with
    growing sleeps: up to tens of milliseconds after pdftotext has already exited)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        return proc.wait(timeout)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            if not sel.select(timeout):
                raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    return proc.wait()


def main() -> None:
    # the answers get a descriptor of their own: nothing a library prints can be taken for one
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    out.write(json.dumps({"ready": os.getpid()}).encode() + b"\n")
    early: _Text | None = (
        None  # pdftotext started with an inspection, for the text request that may follow it
    )
    for line in sys.stdin.buffer:
        request = json.loads(line)
        op = request.get("op")
        if early is not None and not (op == "text" and request == early.request):
            drop(early)
            early = None
        if op == "ping":
            out.write(b'{"pong": true}\n')
            continue
        try:
            if op == "inspect":
                # pdftotext has limits of its own: it may read the file while the inspection judges it
                early = start_text(request["text"]) if request.get("text") else None
                answer = inspect(request)
            elif early is not None:
                answer, early = finish_text(early), None
            else:
                answer = read_text(request)
        except Exception as exc:  # noqa: BLE001 — reported, and this worker is replaced
            answer = {"failed": f"{type(exc).__name__}: {exc}"[:500], "retire": True}
        if early is not None and "facts" not in answer:
            drop(early)
            early = None
        out.write(json.dumps(answer).encode() + b"\n")
        if answer.get("retire"):
            return


if __name__ == "__main__":
    main()
