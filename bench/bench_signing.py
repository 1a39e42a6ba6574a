"""Signing benchmark: signatures/s at B-B and B-LTA on a 1 MB, 50-page PDF, our API vs pyHanko directly, and
validation time per signature. Uses the dev PKI served in-process on 127.0.0.1.

Run: .venv/bin/python bench/bench_signing.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_pdf(pages: int = 50, target_size: int = 1_000_000) -> bytes:
    from PIL import Image
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    side = int(((target_size // pages - 2_000) / 3) ** 0.5)
    for i in range(pages):
        c.setFont("Helvetica", 12)
        for j in range(30):
            c.drawString(72, 740 - j * 18, f"Page {i + 1} line {j + 1}: 8.5")
        img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
        c.drawImage(ImageReader(img), 400, 72, 120, 120)
        c.showPage()
    c.save()
    return buf.getvalue()


def timed(fn: Callable[[], object], rounds: int) -> float:
    """Median seconds per call (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from werkzeug.serving import make_server

    import signing
    from signing._runtime import quiet_pyhanko_logs
    from signing.trust import load_certificates

    quiet_pyhanko_logs()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    folder = tempfile.TemporaryDirectory(
        prefix="bench-signing-"
    )  # the dev PKI's; removed at the end, or on exit
    tmp = folder.name
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    pki = signing.ensure_dev_pki(tmp, base_url)
    server = make_server("127.0.0.1", port, signing.dev_pki_wsgi_app(tmp, base_url), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    pdf = make_pdf()
    password = pki.p12_password.encode()
    ours = signing.Pkcs12Signer(str(pki.seal_p12), password)
    direct_signer = signers.SimpleSigner.load_pkcs12(str(pki.seal_p12), passphrase=password)
    roots = load_certificates(pki.trust_roots)
    timestamper = HTTPTimeStamper(pki.tsa_url)

    def direct(lta: bool) -> bytes:
        vc = ValidationContext(trust_roots=roots, allow_fetching=True) if lta else None
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1",
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            embed_validation_info=lta,
            use_pades_lta=lta,
            validation_context=vc,
        )
        pdf_signer = signers.PdfSigner(meta, signer=direct_signer, timestamper=timestamper if lta else None)
        return pdf_signer.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf))).getvalue()

    def api(level: str) -> bytes:
        return signing.sign_pdf(pdf, ours, level=level, tsa_url=pki.tsa_url, trust_roots=pki.trust_roots)

    def once(fn: Callable[[], object]) -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    rows = []
    for level, lta in (("B-B", False), ("B-LTA", True)):
        api(level), direct(lta)  # warm-up: key parsing, TSA dummy response, imports
        # interleaved rounds, so drift in machine load hits both sides alike
        t_api, t_direct = [], []
        for _ in range(args.rounds):
            t_api.append(once(lambda level=level: api(level)))
            t_direct.append(once(lambda lta=lta: direct(lta)))
        rows.append((level, statistics.median(t_api), statistics.median(t_direct)))

    signed_lta = api("B-LTA")
    report = signing.validate_pdf(signed_lta, pki.trust_roots)
    assert report.passed, report.to_dict()
    n = len(report.signatures)
    t_val = timed(lambda: signing.validate_pdf(signed_lta, pki.trust_roots), args.rounds)
    t_val_inproc = timed(
        lambda: signing.validate_pdf(signed_lta, pki.trust_roots, isolate=False), args.rounds
    )
    signed_bb = api("B-B")
    t_val_bb = timed(lambda: signing.validate_pdf(signed_bb, pki.trust_roots), args.rounds)
    server.shutdown()
    folder.cleanup()

    print(
        f"PDF: {len(pdf) / 1e6:.2f} MB, 50 pages; median of {args.rounds} rounds; TSA/OCSP/CRL on 127.0.0.1"
    )
    print(f"{'level':<8}{'ours s/sig':>12}{'ours sig/s':>12}{'pyHanko s/sig':>15}{'overhead':>10}")
    for level, a, d in rows:
        print(f"{level:<8}{a:>12.3f}{1 / a:>12.1f}{d:>15.3f}{a / d:>9.2f}x")
    print(
        f"validation B-LTA ({n} items: signature + doc timestamp): {t_val:.3f} s/file, {t_val / n:.3f} s/item"
    )
    print(f"validation B-LTA in-process (no fork isolation): {t_val_inproc:.3f} s/file")
    print(f"validation B-B (1 signature): {t_val_bb:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
