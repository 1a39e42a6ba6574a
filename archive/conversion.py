"""Office lesson plans (DOCX, ODT, Word 97 DOC) to PDF/A-2b with LibreOffice headless.

The PDF/A is what the record holds, shows and gets signed; the upload itself is kept beside it as the version's
"original" rendition (archive/renditions.py). Documents with macros are refused before any conversion: the original
is kept too, and a kept original with live macros is active content we do not store (the uploader is told to save
the file again as a plain .docx/.odt).

Every conversion runs LibreOffice in a child process under limits: address space (RLIMIT_AS), file size it may
write (RLIMIT_FSIZE), CPU time, and a wall-clock timeout after which its whole process group is killed. A small pool
of workers bounds how many run at once; each worker has its own LibreOffice profile folder, because two instances
sharing a profile block each other. The PDF/A produced then goes through the same inspection as any uploaded PDF.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf

from . import sniff
from .child_env import child_env
from .errors import IngestRefused

CONVERTIBLE = (sniff.DOCX, sniff.ODT, sniff.DOC)
WORKERS = 2
TIMEOUT = 120.0
# LibreOffice maps about 1 GiB of address space to start; a long lesson plan with pictures needs a few hundred MB more
MEMORY = 3 * 1024**3
MAX_OUTPUT = 256 * 1024 * 1024
_PDFA2 = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'

# Word 97 keeps its VBA project in storages named Macros / _VBA_PROJECT_CUR (UTF-16 names in the OLE directory)
_OLE_MACRO_NAMES = (
    "Macros".encode("utf-16-le"),
    "_VBA_PROJECT_CUR".encode("utf-16-le"),
    b"V\x00B\x00A\x00\x00\x00",
)
# a script inside <office:scripts> or an event bound to a macro; every ODT has an empty <office:scripts/>
_ODF_SCRIPT = re.compile(rb"<office:script[\s>]|<office:event-listeners|<script:event-listener")
MAX_XML_SCAN = 64 * 1024 * 1024


def available() -> bool:
    return shutil.which("soffice") is not None


def macro_reason(path: Path, media_type: str) -> str | None:
    """What makes the file carry macros, or None."""
    if media_type == sniff.DOC:
        with open(path, "rb") as f:
            data = f.read(64 * 1024 * 1024)
        return "Word 97 VBA macros" if any(n in data for n in _OLE_MACRO_NAMES) else None
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            lowered = [n.lower() for n in names]
            if any(n.endswith("vbaproject.bin") or n.endswith("vbadata.xml") for n in lowered):
                return "VBA project (vbaProject.bin)"
            if "[Content_Types].xml" in names:
                with z.open("[Content_Types].xml") as f:
                    if b"macroEnabled" in f.read(1024 * 1024):
                        return "macro-enabled Word document (.docm)"
            if any(n.startswith(("basic/", "scripts/")) for n in lowered):
                return "OpenDocument Basic or script library"
            for part in ("content.xml", "styles.xml"):
                if part in names and _odf_scripts(z, part):
                    return "OpenDocument scripts or event listeners"
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return None
    return None


def _odf_scripts(z: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    read = 0
    with z.open(part) as f:
        while chunk := f.read(1024 * 1024):
            read += len(chunk)
            if _ODF_SCRIPT.search(tail + chunk):
                return True
            tail = chunk[-64:]
            if read > MAX_XML_SCAN:  # a bomb stops here; LibreOffice itself runs under limits
                return False
    return False


class _Pool:
    """Profile folders handed out one per running conversion; at most WORKERS conversions at a time."""

    def __init__(self, base: Path, workers: int) -> None:
        self.slots: queue.Queue[Path] = queue.Queue()
        for i in range(workers):
            folder = base / f"worker-{i}"
            folder.mkdir(parents=True, exist_ok=True)
            self.slots.put(folder)


_pools: dict[Path, _Pool] = {}
_pools_lock = threading.Lock()


def _pool(base: Path) -> _Pool:
    with _pools_lock:
        if base not in _pools:
            _pools[base] = _Pool(base, WORKERS)
        return _pools[base]


def _limits() -> None:
    """In the forked child, before exec: its own process group (killed whole on timeout) and resource limits."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT, MAX_OUTPUT))
    resource.setrlimit(resource.RLIMIT_CPU, (int(TIMEOUT), int(TIMEOUT) + 5))


class NotConverted(Exception):
    """LibreOffice is missing or could not make a PDF/A of the file: the upload is kept as it is, unconverted."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


def _refused(vi: str, en: str) -> NotConverted:
    return NotConverted(vi, en)


def to_pdfa(path: Path, media_type: str, *, profiles: Path, workdir: Path) -> Path:
    """Convert the Office file at ``path`` to PDF/A-2b in ``workdir``; return the PDF's path.

    Raises IngestRefused (``active_content``) for macros: nothing is stored. Raises NotConverted when LibreOffice
    is missing, fails, times out or writes something that is not PDF/A-2b: the caller keeps the upload as it is."""
    reason = macro_reason(path, media_type)
    if reason:
        raise IngestRefused(
            f"Tệp Office chứa macro ({reason}); hãy lưu lại thành tệp .docx hoặc .odt không có macro rồi tải lên",
            f"The Office file carries macros ({reason}); save it again as a .docx or .odt without macros",
            code="active_content",
        )
    exe = shutil.which("soffice")
    if exe is None:
        raise _refused(
            "Máy chủ chưa cài LibreOffice nên chưa chuyển được tệp Office sang PDF/A",
            "LibreOffice is not installed on the server: Office files cannot be converted to PDF/A",
        )
    pool = _pool(profiles)
    profile = pool.slots.get()
    try:
        with tempfile.TemporaryDirectory(dir=workdir, prefix="convert-") as tmp:
            # LibreOffice picks the import filter from the extension: give it the sniffed one
            source = Path(tmp) / ("upload" + sniff.EXTENSIONS[media_type])
            shutil.copyfile(path, source)
            out_dir = Path(tmp) / "out"
            _run(exe, profile, source, out_dir)
            produced = out_dir / "upload.pdf"
            if not produced.exists() or produced.stat().st_size == 0:
                raise _refused(
                    "LibreOffice không tạo được tệp PDF từ tệp này (tệp hỏng?)",
                    "LibreOffice produced no PDF from this file (is it damaged?)",
                )
            check_pdfa(produced)
            fd, name = tempfile.mkstemp(prefix="pdfa-", suffix=".pdf", dir=workdir)
            os.close(fd)
            shutil.move(produced, name)
            return Path(name)
    finally:
        pool.slots.put(profile)


def _run(exe: str, profile: Path, source: Path, out_dir: Path) -> None:
    cmd = [
        exe,
        f"-env:UserInstallation={profile.resolve().as_uri()}",
        "--headless",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--convert-to",
        _PDFA2,
        "--outdir",
        str(out_dir),
        str(source),
    ]
    # LibreOffice writes caches under HOME: keep them in the worker's folder
    env = child_env(HOME=str(profile))
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_limits,  # noqa: PLW1509 - limits must be set in the child before exec
    )
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise _refused(
            f"Chuyển tệp sang PDF/A quá {TIMEOUT:.0f} giây; tệp quá phức tạp nên không được lưu",
            f"Converting the file to PDF/A took longer than {TIMEOUT:.0f} s; it was not stored",
        ) from None
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # anything LibreOffice left behind in its group
        except ProcessLookupError:
            pass
    if proc.returncode != 0:
        raise _refused(
            "LibreOffice không chuyển được tệp sang PDF/A (tệp hỏng hoặc quá lớn)",
            f"LibreOffice could not convert the file (exit status {proc.returncode}: "
            f"{(err or b'').decode('utf-8', 'replace').strip()[-200:]})",
        )


def check_pdfa(pdf_path: Path) -> None:
    try:
        with pikepdf.open(pdf_path) as pdf:
            status = pdf.open_metadata().pdfa_status
            has_intent = "/OutputIntents" in pdf.Root
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise _refused("Tệp PDF/A tạo ra bị hỏng", f"The PDF/A produced is broken ({exc})") from None
    if status != "2B" or not has_intent:
        raise _refused(
            "Tệp tạo ra không phải PDF/A-2b",
            f"The file produced is not PDF/A-2b (claims {status or 'nothing'})",
        )


@dataclass(frozen=True)
class Converted:
    """An Office upload and the PDF/A made from it (``pdfa_path`` is a temporary file the caller removes)."""

    path: Path
    media_type: str
    filename: str
    sha256: str
    size: int
    pdfa_path: Path
    pdfa_filename: str
    pdfa_sha256: str
    pdfa_size: int
    detail: str = "PDF/A-2b do LibreOffice chuyển đổi / converted to PDF/A-2b by LibreOffice"


def convert_upload(
    path: Path, media_type: str, filename: str, sha256: str, size: int, *, profiles: Path, workdir: Path
) -> Converted:
    pdfa = to_pdfa(path, media_type, profiles=profiles, workdir=workdir)
    try:
        with open(pdfa, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return Converted(
            path=path,
            media_type=media_type,
            filename=filename,
            sha256=sha256,
            size=size,
            pdfa_path=pdfa,
            pdfa_filename=Path(filename).stem + ".pdf",
            pdfa_sha256=digest,
            pdfa_size=pdfa.stat().st_size,
        )
    except BaseException:
        pdfa.unlink(missing_ok=True)
        raise
