"""The environment of a program hoso runs on an uploaded file: pdftotext, Ghostscript, LibreOffice, ocrmypdf and the
inspection workers. They get the few variables a program needs, never the server's own (HOSO_DATABASE_URL with its
password, S3 keys, the mail password): a file that takes over such a program finds no secret in its environment."""

from __future__ import annotations

import os

KEPT = ("PATH", "LANG", "LC_ALL", "TMPDIR")


def child_env(*also: str, **values: str) -> dict[str, str]:
    """KEPT and the variables named in `also` as the server has them, then `values`."""
    env = {k: v for k, v in os.environ.items() if k in KEPT or k in also}
    env.update(values)
    return env
