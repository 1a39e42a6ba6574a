"""Hostile PDFs built with pikepdf for the inspection tests: decompression bombs and active content."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pikepdf

GiB = 1024**3
_BLOCK = 1 << 24  # 16 MiB of zeros per deflate block


def flate_zeros(size: int, prefix: bytes = b"") -> bytes:
    """A valid zlib stream inflating to `prefix` then `size` zero bytes (a multiple of 16 MiB), built in a fraction of
    a second: after a full flush, deflate codes the same input block to the same bytes, so one block is repeated."""
    assert size % _BLOCK == 0 and size > 0
    c = zlib.compressobj(9)
    first = c.compress(prefix + bytes(_BLOCK)) + c.flush(zlib.Z_FULL_FLUSH)  # with the 2-byte zlib header
    again = c.compress(bytes(_BLOCK)) + c.flush(zlib.Z_FULL_FLUSH)
    final_empty_block = b"\x03\x00"  # BFINAL, fixed Huffman, end of block
    start = zlib.adler32(prefix)
    a, b = start & 0xFFFF, start >> 16
    b = (b + size * a) % 65521  # zeros leave the sum a unchanged and add a to b once per byte
    return first + again * (size // _BLOCK - 1) + final_empty_block + struct.pack(">I", (b << 16) | a)


def bomb_stream(pdf: pikepdf.Pdf, size: int = 4 * GiB, levels: int = 2, **dict_entries) -> pikepdf.Stream:
    """A stream whose data inflates to `size` bytes through `levels` chained FlateDecode filters."""
    data = flate_zeros(size)
    for _ in range(levels - 1):
        data = zlib.compress(data, 9)
    filters = [pikepdf.Name.FlateDecode] * levels
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Array(filters) if levels > 1 else filters[0]
    for k, v in dict_entries.items():
        stream[f"/{k}"] = v
    return stream


def base_pdf() -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.pages[0].Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"BT /F1 12 Tf 72 770 Td (Hello) Tj ET"))
    return pdf


def save(pdf: pikepdf.Pdf, path: Path) -> Path:
    # no re-compression: pikepdf must write the bomb's bytes as they are
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def embedded_file_bomb(path: Path, levels: int = 2, size: int = 4 * GiB) -> Path:
    pdf = base_pdf()
    ef = pdf.make_indirect(bomb_stream(pdf, size, levels, Type=pikepdf.Name.EmbeddedFile))
    spec = pikepdf.Dictionary(
        Type=pikepdf.Name.Filespec, F=pikepdf.String("data.bin"), UF=pikepdf.String("data.bin"), EF={"/F": ef}
    )
    pdf.Root.Names = pikepdf.Dictionary(
        EmbeddedFiles=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("data.bin"), spec]))
    )
    return save(pdf, path)


def content_stream_bomb(path: Path, levels: int = 2, size: int = 4 * GiB) -> Path:
    pdf = base_pdf()
    pdf.pages[0].Contents = pdf.make_indirect(bomb_stream(pdf, size, levels))
    return save(pdf, path)


def image_bomb(path: Path, levels: int = 2, size: int = 4 * GiB) -> Path:
    pdf = base_pdf()
    side = 37837  # about 4 GiB / 3 bytes per pixel, as a square
    image = bomb_stream(
        pdf,
        size,
        levels,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=side,
        Height=side,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
    )
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=pdf.make_indirect(image)))
    page.Contents = pdf.make_indirect(pikepdf.Stream(pdf, b"q 500 0 0 700 50 50 cm /Im0 Do Q"))
    return save(pdf, path)


# A child Python that runs one snippet and reports its peak memory: RUSAGE_SELF plus every process it waited for
# (pdftotext, the validation child). RLIMIT_AS is a safety net so a failing test cannot take the machine (the
# assertion on the peak is what the test checks, well below this).
_CHILD = r"""
import json, resource, sys, traceback
resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))
out = {}
try:
    exec(sys.argv[1], {"out": out, "arg": sys.argv[2]})
except BaseException as exc:
    out["crash"] = f"{type(exc).__name__}: {exc}"
    out["trace"] = traceback.format_exc()[-2000:]
# VmHWM is this process's own peak since exec; ru_maxrss of RUSAGE_SELF is not: Linux carries the forking
# parent's peak across exec, so a big pytest process would be measured instead of this child
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
kb = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
out["peak_mb"] = kb / 1024
print("RESULT " + json.dumps(out, default=str))
"""


def run_measured(snippet: str, arg: str, timeout: float = 300) -> dict:
    """Run `snippet` (which fills the dict `out`; `arg` is a string argument) in a fresh Python; return `out` with
    `peak_mb`, the largest resident size of the child or anything it started."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, snippet, arg], capture_output=True, text=True, timeout=timeout
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, f"child died (status {proc.returncode}): {proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT ") :])
