"""Fuzzing every reader of an uploaded PDF with mutated real PDFs (issue 14, item 2).

Hypothesis mutates an unsigned report, a form and a signed file (flipped bytes, deleted or duplicated runs, PDF
tokens inserted, truncation) and checks that each reader answers in its own terms, never with a crash:
- the upload inspection returns facts or refuses with one of its codes;
- signature validation returns a report, and a signed file whose signed bytes changed is never TOTAL_PASSED;
- the "Rút kinh nghiệm" content check returns one of its results.

The regular suite runs a few derandomised examples per seed; `make fuzz` runs many random ones, bounded in time
(FUZZ_EXAMPLES examples or FUZZ_SECONDS seconds per seed, whichever ends first). What a run finds is added to
tests/integration/test_fuzz_regressions.py as a plain test.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest
from asn1crypto import keys as akeys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from archive import content_checks as cc
from archive import sniff
from archive.errors import IngestRefused
from archive.pdfcheck import inspect_pdf
from signing import sign_pdf, validate_pdf
from tests.factories import pdf_bytes
from tests.integration.signing.attackfiles import form_pdf

RANDOM_RUN = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
SECONDS = float(os.environ.get("FUZZ_SECONDS", "60"))
INSPECTION_CODES = {"not_pdf", "encrypted_pdf", "active_content", "decompression_bomb", "too_complex"}
TOKENS = [
    b"[[[[[[[[", b"<<<<", b">>", b" 0 R ", b"/Kids [", b"/Count 999999999 ", b"stream\n", b"endstream",
    b"endobj", b"xref\n0 1\n", b"trailer <<", b"startxref\n0\n%%EOF\n", b"/Filter /FlateDecode ", b"/Length 99999999",
    b"/Type /ObjStm /N 9999 /First 0 ", b"(", b"\\", b"/JS (app.alert(1))", b"/S /Launch ", b"\x00" * 16,
]  # fmt: skip

mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 2**31), st.integers(1, 255)),
    st.tuples(st.just("delete"), st.integers(0, 2**31), st.integers(1, 64)),
    st.tuples(st.just("insert"), st.integers(0, 2**31), st.sampled_from(TOKENS)),
    st.tuples(st.just("duplicate"), st.integers(0, 2**31), st.integers(1, 512)),
    st.tuples(st.just("truncate"), st.integers(0, 2**31), st.just(0)),
)


def mutate(data: bytes, steps: list[tuple]) -> bytes:
    out = bytearray(data)
    for kind, where, arg in steps:
        if not out:
            break
        at = where % len(out)
        if kind == "flip":
            out[at] ^= arg
        elif kind == "delete":
            del out[at : at + arg]
        elif kind == "insert":
            out[at:at] = arg
        elif kind == "duplicate":
            out[at:at] = out[at : at + arg]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


def _self_signed_signer() -> tuple[ax509.Certificate, signers.SimpleSigner]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz Signer")])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
        .sign(key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    acert = ax509.Certificate.load(cert.public_bytes(der))
    akey = akeys.PrivateKeyInfo.load(
        key.private_bytes(der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return acert, signers.SimpleSigner(acert, akey, SimpleCertificateStore.from_certs([acert]))


@pytest.fixture(scope="module")
def seeds() -> dict[str, tuple[bytes, list[ax509.Certificate], tuple[int, int] | None]]:
    """name → (bytes, trust roots, the unsigned gap (start, end) when the seed is signed)."""
    cert, signer = _self_signed_signer()
    signed = sign_pdf(pdf_bytes(2, text="Kế hoạch bài dạy — Rút kinh nghiệm"), signer, level="B-B")
    contents = signed.rindex(b"/Contents <")
    gap = (signed.index(b"<", contents), signed.index(b">", contents) + 1)
    return {
        "report": (pdf_bytes(3, lines=10), [], None),
        "form": (form_pdf(), [], None),
        "signed": (signed, [cert], gap),
    }


def _signed_bytes_changed(original: bytes, mutated: bytes, gap: tuple[int, int]) -> bool:
    if len(original) != len(mutated):
        return mutated.rstrip(b"\x00\t\n\x0c\r ") != original.rstrip(b"\x00\t\n\x0c\r ")
    return any(
        a != b for i, (a, b) in enumerate(zip(original, mutated, strict=True)) if not gap[0] <= i < gap[1]
    )


@pytest.mark.slow
@pytest.mark.parametrize("seed", ["report", "form", "signed"])
def test_readers_answer_every_mutated_pdf(seeds, seed, tmp_path: Path):
    original, roots, gap = seeds[seed]
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM_RUN,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(steps=st.lists(mutation, min_size=1, max_size=4))
    def check(steps: list[tuple]) -> None:
        if time.monotonic() - started > SECONDS:
            return  # the time budget is spent: the remaining examples pass trivially
        data = mutate(original, steps)
        path = tmp_path / "mutated.pdf"
        path.write_bytes(data)
        try:
            facts = inspect_pdf(path)
            assert facts.page_count >= 1
        except IngestRefused as refused:
            assert refused.code in INSPECTION_CODES, refused.code
            assert refused.message_vi and refused.message_en
        report = validate_pdf(data, roots, time_limit=30)
        assert report.verdict in ("TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE")
        if gap is not None and _signed_bytes_changed(original, data, gap):
            assert report.verdict != "TOTAL_PASSED", (steps, report.to_dict())
        (finding,) = cc.inspect(path, sniff.PDF, cc.LESSON_PLAN)
        assert finding.result in cc.RESULTS

    check()
