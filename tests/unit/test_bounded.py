"""Bounded decoding of PDF filter chains: the same bytes as qpdf decodes, and a hard stop on bombs."""

from __future__ import annotations

import base64
import os
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest

from archive import bounded

MiB = 1024 * 1024


def lzw_encode(data: bytes, early_change: int = 1) -> bytes:
    """A plain LZW encoder as PDF defines it (9 to 12-bit codes, clear at a full table)."""
    table = {bytes([i]): i for i in range(256)}
    next_code, width = 258, 9
    out_bits = out_len = 0
    codes: list[tuple[int, int]] = [(256, 9)]
    w = b""
    for byte in data:
        wc = w + bytes([byte])
        if wc in table:
            w = wc
            continue
        codes.append((table[w], width))
        table[wc] = next_code
        next_code += 1
        if next_code + early_change > 4095:
            codes.append((256, width))
            table = {bytes([i]): i for i in range(256)}
            next_code, width = 258, 9
        else:
            # the decoder's table lags one entry behind: it learns an entry when it reads the next code
            width = min(12, max(9, (next_code - 1 + early_change).bit_length()))
        w = bytes([byte])
    if w:
        codes.append((table[w], width))
        next_code += 1
        width = min(12, max(9, (next_code - 1 + early_change).bit_length()))
    codes.append((257, width))
    buf = bytearray()
    for code, n in codes:
        out_bits = (out_bits << n) | code
        out_len += n
        while out_len >= 8:
            out_len -= 8
            buf.append((out_bits >> out_len) & 0xFF)
    if out_len:
        buf.append((out_bits << (8 - out_len)) & 0xFF)
    return bytes(buf)


def rle_encode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 128 and data[i + run] == data[i]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[i]])
            i += run
        else:
            j = i
            while j < len(data) and j - i < 128 and (j + 1 >= len(data) or data[j + 1] != data[j]):
                j += 1
            j = max(j, i + 1)
            out += bytes([j - i - 1]) + data[i:j]
            i = j
    return bytes(out + b"\x80")


SAMPLE = (b"Ke hoach bai day " * 3000) + os.urandom(5000) + bytes(70000) + b"Rut kinh nghiem"
ENCODINGS = {
    "flate": (lambda d: zlib.compress(d), ["/FlateDecode"]),
    "hex": (lambda d: d.hex().encode() + b">", ["/ASCIIHexDecode"]),
    "a85": (lambda d: base64.a85encode(d, wrapcol=72) + b"~>", ["/ASCII85Decode"]),
    "runlength": (rle_encode, ["/RunLengthDecode"]),
    "lzw": (lzw_encode, ["/LZWDecode"]),
    "a85+flate": (lambda d: base64.a85encode(zlib.compress(d)) + b"~>", ["/ASCII85Decode", "/FlateDecode"]),
    "flate+flate": (lambda d: zlib.compress(zlib.compress(d)), ["/FlateDecode", "/FlateDecode"]),
}


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_decoders_agree_with_qpdf(name: str):
    encode, filters = ENCODINGS[name]
    raw = encode(SAMPLE)
    pdf = pikepdf.new()
    stream = pikepdf.Stream(pdf, raw)
    stream.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    expected = stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.all)
    got = bounded.measure(raw, filters, [], limit=64 * MiB, prefix=100)
    assert got.size == len(expected) == len(SAMPLE)
    assert got.prefix == expected[:100]


def test_a_bomb_stops_at_the_limit_with_flat_memory():
    from tests.integration.pdfkit import flate_zeros

    # 1 GiB of zeros, compressed twice: about 6 KB
    raw = zlib.compress(flate_zeros(1024 * MiB), 9)
    assert len(raw) < 20_000
    with pytest.raises(bounded.TooLarge):
        bounded.measure(raw, ["/FlateDecode", "/FlateDecode"], [], limit=64 * MiB)


def test_image_codecs_and_unknown_filters_end_the_chain_unmeasured():
    raw = zlib.compress(b"\xff\xd8\xff" + bytes(1000))
    got = bounded.measure(raw, ["/FlateDecode", "/DCTDecode"], [], limit=MiB, prefix=3)
    assert got.size == 1003 and got.prefix == b"\xff\xd8\xff"
    got = bounded.measure(b"abc", ["/NoSuchFilter"], [], limit=MiB)
    assert got.size == 3


def test_damaged_flate_counts_what_came_out():
    raw = zlib.compress(SAMPLE)[:-200] + b"garbage"
    got = bounded.measure(raw, ["/FlateDecode"], [], limit=MiB)
    assert 0 < got.size < len(SAMPLE)


def test_zip_entry_count_is_read_from_the_end_record(tmp_path: Path):
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(70_000):  # more than 65535: the count is in the ZIP64 record
            z.writestr(f"{i}", b"")
    assert bounded.zip_entry_count(path) == 70_000
    small = tmp_path / "b.zip"
    with zipfile.ZipFile(small, "w") as z:
        z.writestr("x", b"1")
    assert bounded.zip_entry_count(small) == 1
    (tmp_path / "c.zip").write_bytes(b"PK\x03\x04 not a zip")
    assert bounded.zip_entry_count(tmp_path / "c.zip") is None
