"""Decompression bombs (finding 3): a few kilobytes that inflate to gigabytes are refused with `decompression_bomb`,
and nothing that reads an uploaded file — inspection, pdftotext, signature validation — grows with what the file
claims. Memory is measured: each reader runs in a fresh child Python whose peak resident size (its own and that of
the processes it started) is reported back."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from sqlalchemy import func, select

from archive.context import Archive
from archive.errors import IngestRefused
from archive.ingest import ingest_file
from archive.models import Document
from tests.integration import pdfkit

GiB = pdfkit.GiB
# A fresh Python with archive, pikepdf and pyHanko imported is about 100 MB; decoding in chunks adds a few MB.
PEAK_MB = 300


def objstm_bomb(path: Path, size: int = 4 * GiB) -> Path:
    """An object stream (which qpdf and pyHanko decode whole to reach one object in it) inflating to 4 GiB; the
    interactive form dictionary, which pyHanko reads to find signatures, lives in it."""
    inner = b"5 0 "
    data = zlib.compress(pdfkit.flate_zeros(size, prefix=inner + b"<< /Fields [] >>\n"), 9)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}

    def obj(n: int, content: bytes) -> None:
        offsets[n] = len(out)
        out.extend(b"%d 0 obj\n" % n + content + b"\nendobj\n")

    obj(1, b"<< /Type /Catalog /Pages 2 0 R /AcroForm 5 0 R >>")
    obj(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    obj(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    head = b"<< /Type /ObjStm /N 1 /First %d /Filter [/FlateDecode /FlateDecode] /Length %d >>\nstream\n"
    obj(4, head % (len(inner), len(data)) + data + b"\nendstream")
    xref_at = len(out)
    rows = [(0, 0, 65535), *((1, offsets[i], 0) for i in (1, 2, 3, 4)), (2, 4, 0), (1, xref_at, 0)]
    xref = b"".join(struct.pack(">BIH", *r) for r in rows)
    out.extend(
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(xref)
        + xref
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    )
    path.write_bytes(bytes(out))
    return path


def font_bomb(path: Path) -> Path:
    """An embedded Type 1 font inflating to 4 GiB: pdftotext reads a font file whole to learn its encoding."""
    pdf = pdfkit.base_pdf()
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor,
        FontName=pikepdf.Name("/Bom"),
        Flags=32,
        FontBBox=[0, 0, 1000, 1000],
        ItalicAngle=0,
        Ascent=800,
        Descent=-200,
        CapHeight=700,
        StemV=80,
        FontFile=pdf.make_indirect(pdfkit.bomb_stream(pdf)),
    )
    font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.Type1,
        BaseFont=pikepdf.Name("/Bom"),
        FirstChar=32,
        LastChar=126,
        Widths=[500] * 95,
        FontDescriptor=pdf.make_indirect(descriptor),
    )
    pdf.pages[0].Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=pdf.make_indirect(font)))
    return pdfkit.save(pdf, path)


BOMBS: dict[str, Callable[[Path], Path]] = {
    "embedded_file_double_flate_4gib": lambda p: pdfkit.embedded_file_bomb(p, levels=2),
    "embedded_file_single_flate_1gib": lambda p: pdfkit.embedded_file_bomb(p, levels=1, size=GiB),
    "page_content_stream_4gib": lambda p: pdfkit.content_stream_bomb(p, levels=2),
    "image_xobject_4gib": lambda p: pdfkit.image_bomb(p, levels=2),
    "object_stream_4gib": objstm_bomb,
    "type1_font_file_4gib": lambda p: font_bomb(p),
}


@pytest.fixture(params=sorted(BOMBS))
def bomb(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = BOMBS[request.param](tmp_path / f"{request.param}.pdf")
    assert path.stat().st_size < 2 * 1024 * 1024  # the single-level one is 1 MB, the others a few KB
    return path


def test_bomb_is_refused_on_ingest_and_nothing_is_stored(archive: Archive, bomb: Path):
    with pytest.raises(IngestRefused) as ei:
        ingest_file(archive, bomb, filename="so-diem.pdf", school="T01", type_code="hoc-ba", year="2024-2025")
    assert ei.value.code == "decompression_bomb" and ei.value.status == 422
    assert "bom giải nén" in ei.value.message_vi and "decompression bomb" in ei.value.message_en
    with archive.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    for store in archive.replicas.stores:
        assert list(store.list("")) == []


def test_inspection_memory_stays_flat(bomb: Path):
    out = pdfkit.run_measured(
        "from pathlib import Path\n"
        "from archive.errors import IngestRefused\n"
        "from archive import inspection_pool\n"
        "from archive.pdfcheck import inspect_pdf\n"
        "try:\n    inspect_pdf(Path(arg)); out['code'] = 'accepted'\n"
        "except IngestRefused as e:\n    out['code'] = e.code\n"
        # the inspection ran in a worker of the pool: stopped and waited for, its peak counts with the children's
        "inspection_pool.shutdown()\n",
        str(bomb),
    )
    assert "crash" not in out, out
    assert out["code"] == "decompression_bomb"
    assert out["peak_mb"] < PEAK_MB, out


def test_pdftotext_on_a_bomb_is_bounded_and_unknown(bomb: Path):
    out = pdfkit.run_measured(
        "from pathlib import Path\n"
        "from archive import content_checks as cc, sniff\n"
        "(f,) = cc.inspect(Path(arg), sniff.PDF, cc.LESSON_PLAN)\n"
        "out['result'] = f.result; out['detail'] = f.detail\n",
        str(bomb),
    )
    assert "crash" not in out, out
    # never a crash: "unknown" when pdftotext hit a limit, "missing" when it read the little text there is
    assert out["result"] in ("unknown", "missing"), out
    assert out["peak_mb"] < 900, out  # pdftotext runs under its own 512 MiB address-space limit


def test_signature_validation_of_a_bomb_is_bounded_and_reported(bomb: Path):
    out = pdfkit.run_measured(
        "from pathlib import Path\n"
        "from signing import validate_pdf\n"
        "r = validate_pdf(Path(arg).read_bytes(), time_limit=120)\n"
        # a validator worker that may serve again is still running: stopped (and reaped) so that its peak counts
        "from signing import workers; workers.retire_all()\n"
        "out['verdict'] = r.verdict; out['signatures'] = len(r.signatures)\n",
        str(bomb),
    )
    assert "crash" not in out, out
    assert out["verdict"] != "TOTAL_PASSED" and out["signatures"] == 0, out
    assert out["peak_mb"] < 1024, (
        out
    )  # the validation child: 512 MiB over what it inherits (~200 MB), not gigabytes
