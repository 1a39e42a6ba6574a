"""Unsigned PDFs that are not PDF/A become PDF/A-2b (Ghostscript) at upload, before anyone can sign them.

Done at ingest, like the Office conversion: the PDF/A is the version that is shown, validated and signed, the upload
itself is kept beside it as the version's "original" rendition. A signed PDF is never rewritten (that would break its
signatures), nor is a file that already claims PDF/A. Because it happens when the record is created, every first
signature is made on a PDF/A by construction and signing needs no change.

Ghostscript runs in a child process under the same kind of limits as LibreOffice (address space, output size, CPU
and wall-clock time, its whole process group killed on timeout); it only ever sees files that inspect_pdf already
accepted. When it fails, or what it wrote is not PDF/A-2b with an output intent, the upload is kept as it is.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from . import sniff
from .child_env import child_env
from .conversion import Converted, NotConverted, check_pdfa

TIMEOUT = 120.0
MEMORY = 2 * 1024**3
MAX_OUTPUT = 512 * 1024 * 1024
DETAIL = "PDF/A-2b do Ghostscript chuẩn hoá trước chữ ký đầu tiên / normalised to PDF/A-2b by Ghostscript"
# Ghostscript's own sRGB profile: the output intent every PDF/A needs
_ICC_DIRS = sorted(Path("/usr/share/ghostscript").glob("*/iccprofiles"), reverse=True) + [
    Path("/usr/share/color/icc/ghostscript")
]
# PDFA_def.ps as Ghostscript ships it, with the profile named by an absolute path (without one, gs exits 0 and claims
# PDF/A in the XMP but writes no OutputIntent)
_PDFA_DEF = """%!
/ICCProfile ({icc}) def
[/_objdef {{icc_PDFA}} /type /stream /OBJ pdfmark
[{{icc_PDFA}} << /N 3 >> /PUT pdfmark
[{{icc_PDFA}} ICCProfile (r) file /PUT pdfmark
[/_objdef {{OutputIntent_PDFA}} /type /dict /OBJ pdfmark
[{{OutputIntent_PDFA}} <<
  /Type /OutputIntent
  /S /GTS_PDFA1
  /DestOutputProfile {{icc_PDFA}}
  /OutputConditionIdentifier (sRGB)
>> /PUT pdfmark
[{{Catalog}} << /OutputIntents [ {{OutputIntent_PDFA}} ] >> /PUT pdfmark
"""


def _icc() -> Path | None:
    for folder in _ICC_DIRS:
        if (folder / "srgb.icc").is_file():
            return folder / "srgb.icc"
    return None


def available() -> bool:
    return shutil.which("gs") is not None and _icc() is not None


def needs_normalising(signed: bool, pdfa_claim: str) -> bool:
    """A signed PDF is never rewritten; one that claims any PDF/A part is kept as it came."""
    return not signed and not pdfa_claim


def _limits() -> None:
    """In the forked child, before exec: its own process group (killed whole on timeout) and resource limits."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT, MAX_OUTPUT))
    resource.setrlimit(resource.RLIMIT_CPU, (int(TIMEOUT), int(TIMEOUT) + 5))


def to_pdfa(path: Path, *, workdir: Path) -> Path:
    """PDF/A-2b of the PDF at ``path``, written in ``workdir`` (the caller removes it); NotConverted when it fails."""
    exe, icc = shutil.which("gs"), _icc()
    if exe is None or icc is None:
        raise NotConverted(
            "Máy chủ chưa cài Ghostscript nên chưa chuẩn hoá được tệp sang PDF/A",
            "Ghostscript is not installed on the server: PDFs cannot be normalised to PDF/A",
        )
    with tempfile.TemporaryDirectory(dir=workdir, prefix="pdfa-gs-") as tmp:
        definition = Path(tmp) / "PDFA_def.ps"
        definition.write_text(_PDFA_DEF.format(icc=str(icc)), encoding="ascii")
        produced = Path(tmp) / "out.pdf"
        cmd = [
            # Ghostscript 10.0's new PDF interpreter drops the ToUnicode maps of subset TrueType fonts with a
            # Differences encoding (Vietnamese text comes out as "K hoch bi dy"); the legacy one keeps them
            exe, "-dNEWPDF=false", "-dPDFA=2", "-dBATCH", "-dNOPAUSE", "-dNOOUTERSAVE", "-dSAFER", "-dQUIET",
            f"--permit-file-read={icc.parent}/", "-sColorConversionStrategy=RGB", "-sDEVICE=pdfwrite",
            "-dPDFACompatibilityPolicy=1", f"-sOutputFile={produced}", str(definition), str(path),
        ]  # fmt: skip
        env = child_env()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=tmp,
            preexec_fn=_limits,  # noqa: PLW1509 - limits must be set in the child before exec
        )
        try:
            _, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise NotConverted(
                f"Chuẩn hoá tệp sang PDF/A quá {TIMEOUT:.0f} giây; tệp được giữ nguyên như khi tải lên",
                f"Normalising the PDF to PDF/A took longer than {TIMEOUT:.0f} s; it is kept as uploaded",
            ) from None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.returncode != 0 or not produced.exists() or produced.stat().st_size == 0:
            raise NotConverted(
                "Ghostscript không chuẩn hoá được tệp sang PDF/A; tệp được giữ nguyên như khi tải lên",
                f"Ghostscript could not normalise the PDF (exit status {proc.returncode}: "
                f"{(err or b'').decode('utf-8', 'replace').strip()[-200:]})",
            )
        check_pdfa(produced)
        fd, name = tempfile.mkstemp(prefix="pdfa-", suffix=".pdf", dir=workdir)
        os.close(fd)
        shutil.move(produced, name)
        return Path(name)


def normalise_upload(path: Path, filename: str, sha256: str, size: int, *, workdir: Path) -> Converted:
    """The upload and its PDF/A, as an Office conversion is described (``pdfa_path`` is for the caller to remove)."""
    pdfa = to_pdfa(path, workdir=workdir)
    try:
        with open(pdfa, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return Converted(
            path=path,
            media_type=sniff.PDF,
            filename=filename,
            sha256=sha256,
            size=size,
            pdfa_path=pdfa,
            pdfa_filename=filename,
            pdfa_sha256=digest,
            pdfa_size=pdfa.stat().st_size,
            detail=DETAIL,
        )
    except BaseException:
        pdfa.unlink(missing_ok=True)
        raise
