"""Write large, valid PDFs without holding them in memory (for benchmarks and the upload-memory test)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def make_big_pdf(path: Path, size: int, *, random: bool = False, text: bool = False) -> str:
    """A one-page PDF whose content stream is ~`size` bytes of PDF comments; returns its SHA-256.

    `random` fills the comments with random hex so every file differs (idempotent ingest would skip repeats).
    `text` writes one line of text on the page, as any born-digital document has: without a text layer the page looks
    like a scan to ingest, which runs OCR on it."""
    h = hashlib.sha256()
    offsets = []
    with open(path, "wb") as f:

        def w(b: bytes) -> None:
            f.write(b)
            h.update(b)

        w(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        objs = [
            b"<</Type/Catalog/Pages 2 0 R>>",
            b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        ]
        for i, body in enumerate(objs, 1):
            offsets.append(f.tell())
            w(b"%d 0 obj\n" % i + body + b"\nendobj\n")
        line = b"% " + b"so theo doi va danh gia hoc sinh " * 3 + b"\n"
        per_block = 10000
        n = max(1, size // len(line))
        offsets.append(f.tell())
        shown = b"BT /F1 12 Tf 72 770 Td (So theo doi va danh gia hoc sinh) Tj ET\n" if text else b""
        w(b"4 0 obj\n<</Length %d>>\nstream\n" % (len(shown) + n * len(line)) + shown)
        left = n
        while left:
            k = min(left, per_block)
            if random:
                width = len(line) - 3  # "% " + noise + newline keeps every line the same length
                noise = os.urandom(k * width // 2 + 1).hex().encode()
                block = b"".join(b"% " + noise[i * width : (i + 1) * width] + b"\n" for i in range(k))
            else:
                block = line * k
            w(block)
            left -= k
        w(b"\nendstream\nendobj\n")
        offsets.append(f.tell())
        w(b"5 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>\nendobj\n")
        xref = f.tell()
        w(b"xref\n0 6\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets))
        w(b"trailer\n<</Size 6/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return h.hexdigest()
