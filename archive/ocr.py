"""Scanned documents (image-only PDFs) read by OCR: tesseract with Vietnamese, driven by ocrmypdf.

The scan itself is what is archived; the recognised text is stored beside it (the version's ``ocr_text`` rendition)
and used for the "Rút kinh nghiệm" check. OCR runs in a child process group with an address-space limit and a
wall-clock timeout, over the first MAX_PAGES pages only: a lesson plan is a few pages, and OCR costs about a second
and a half per page, paid while the upload waits.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from .child_env import child_env

MAX_PAGES = 10
TIMEOUT = 180.0
MEMORY = 2 * 1024**3
MAX_TEXT = 4 * 1024 * 1024
LANGUAGES = "vie+eng"


def available() -> bool:
    return shutil.which("ocrmypdf") is not None and shutil.which("tesseract") is not None


def _limits() -> None:
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def read_scan(path: Path, *, workdir: Path) -> str | None:
    """The text of an image-only PDF (the caller found no text layer), or None (OCR is not installed, or failed)."""
    if not available():
        return None
    with tempfile.TemporaryDirectory(dir=workdir, prefix="ocr-") as tmp:
        sidecar = Path(tmp) / "text.txt"
        cmd = [
            "ocrmypdf", "-q", "-l", LANGUAGES, "--pages", f"1-{MAX_PAGES}", "--sidecar", str(sidecar),
            "--output-type", "none", str(path), "-",
        ]  # fmt: skip
        env = child_env("HOME", TMPDIR=tmp)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=_limits,  # noqa: PLW1509 - limits must be set in the child before exec
        )
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # tesseract workers started by ocrmypdf go too
            except ProcessLookupError:
                pass
            proc.wait()
        if proc.returncode != 0 or not sidecar.exists():
            return None
        with open(sidecar, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_TEXT)
    # ocrmypdf writes a form feed between pages and a marker for pages it skipped
    text = "\n".join(
        line for line in text.replace("\f", "\n").splitlines() if "[OCR skipped on page" not in line
    )
    return text if text.strip() else None
