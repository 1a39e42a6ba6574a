"""Bounded decoding: how big a compressed PDF stream becomes, found out in constant memory and with a hard stop.

A few kilobytes of FlateDecode can inflate to gigabytes (twice: a Flate stream of a Flate stream), so no stream of an
upload is ever decoded in one piece. `measure` runs the stream's filter chain incrementally, chunk by chunk,
discarding the output (keeping only its first bytes when asked), and raises `TooLarge` as soon as any stage of the
chain has produced more than the limit. Memory stays at a few chunks whatever the stream says.

Filters decoded here are those a PDF uses to compress or encode general data: FlateDecode, LZWDecode, RunLengthDecode,
ASCIIHexDecode and ASCII85Decode. Image codecs (DCTDecode, JPXDecode, CCITTFaxDecode, JBIG2Decode) end the chain
unmeasured: nothing in hoso decodes them (inspection, pdftotext and pyHanko never render images), their input is
already bounded by the previous stage, and decoding them would need the codec libraries that are the attack surface.
An unknown filter or a Crypt filter ends the chain too: no reader can decode it, so it cannot inflate anywhere.
Predictors (/DecodeParms /Predictor) are ignored: they change the size by one byte per row at most.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024


class TooLarge(Exception):
    """A stage of the filter chain produced more than the limit."""


@dataclass(frozen=True)
class Measured:
    size: int  # bytes out of the last decodable filter (the raw size when there is none)
    prefix: bytes  # the first bytes of that output, as many as were asked for
    decoded: int  # bytes produced by every stage together (the work done), for a per-document budget


Decoder = Callable[[Iterator[bytes]], Iterator[bytes]]


def _chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for i in range(0, len(view), CHUNK):
        yield bytes(view[i : i + CHUNK])


def _flate(source: Iterator[bytes]) -> Iterator[bytes]:
    d = zlib.decompressobj()
    try:
        for data in source:
            while data:
                out = d.decompress(data, CHUNK)
                data = d.unconsumed_tail
                if out:
                    yield out
                if d.eof:
                    return
        # input exhausted: inflate may still hold output of a long back-reference; take it chunk by chunk
        while not d.eof and (out := d.decompress(b"", CHUNK)):
            yield out
    except zlib.error:
        return  # damaged data: readers stop here too, so what came out so far is all there is


_NOT_HEX = bytes(c for c in range(256) if c not in b"0123456789abcdefABCDEF")
_NOT_A85 = bytes(c for c in range(256) if not (33 <= c <= 117 or c == 122))  # '!'..'u' and 'z'


def _ascii_hex(source: Iterator[bytes]) -> Iterator[bytes]:
    odd = b""
    for data in source:
        end = data.find(b">")
        digits = odd + (data if end < 0 else data[:end]).translate(None, _NOT_HEX)
        odd = digits[-1:] if len(digits) % 2 else b""
        if len(digits) > 1:
            yield bytes.fromhex(digits[: len(digits) - len(odd)].decode("ascii"))
        if end >= 0:
            break
    if odd:
        yield bytes.fromhex((odd + b"0").decode("ascii"))


def _ascii85(source: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for data in source:
        end = data.find(b"~")
        # 'z' stands for a group of four zero bytes; spelled out, every group is five characters
        pending += (data if end < 0 else data[:end]).translate(None, _NOT_A85).replace(b"z", b"!!!!!")
        whole = len(pending) // 5 * 5
        if whole:
            yield base64.a85decode(pending[:whole])
        pending = pending[whole:]
        if end >= 0:
            break
    if len(pending) > 1:
        yield base64.a85decode(pending)


def _run_length(source: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for data in source:
        pending += data
        out = bytearray()
        i = 0
        while i < len(pending):
            n = pending[i]
            if n == 128:
                if out:
                    yield bytes(out)
                return
            if n < 128:
                if i + 1 + n + 1 > len(pending):
                    break
                out += pending[i + 1 : i + 2 + n]
                i += 2 + n
            else:
                if i + 1 >= len(pending):
                    break
                out += pending[i + 1 : i + 2] * (257 - n)
                i += 2
            if len(out) >= CHUNK:
                yield bytes(out)
                out = bytearray()
        pending = pending[i:]
        if out:
            yield bytes(out)


def _lzw(early_change: int) -> Decoder:
    def decode(source: Iterator[bytes]) -> Iterator[bytes]:
        table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
        width, prev = 9, b""
        bits = nbits = 0
        out = bytearray()
        for data in source:
            for byte in data:
                bits = (bits << 8) | byte
                nbits += 8
                while nbits >= width:
                    nbits -= width
                    code = (bits >> nbits) & ((1 << width) - 1)
                    bits &= (1 << nbits) - 1
                    if code == 256:  # clear table
                        del table[258:]
                        width, prev = 9, b""
                        continue
                    if code == 257:  # end of data
                        yield bytes(out)
                        return
                    if code < len(table):
                        entry = table[code]
                    elif code == len(table) and prev:
                        entry = prev + prev[:1]
                    else:
                        yield bytes(out)
                        return  # damaged data
                    out += entry
                    if prev and len(table) < 4096:
                        table.append(prev + entry[:1])
                    prev = entry
                    # the code width grows one code early by default (/EarlyChange 1)
                    width = min(12, max(9, (len(table) + early_change).bit_length()))
                    if len(out) >= CHUNK:
                        yield bytes(out)
                        out = bytearray()
        if out:
            yield bytes(out)

    return decode


IMAGE_CODECS = {"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/DCT", "/CCF"}


def decoder_for(name: str, parms: dict[str, object] | None) -> Decoder | None:
    """The incremental decoder for a filter name, None when the chain ends there (see the module docstring)."""
    if name in ("/FlateDecode", "/Fl"):
        return _flate
    if name in ("/ASCIIHexDecode", "/AHx"):
        return _ascii_hex
    if name in ("/ASCII85Decode", "/A85"):
        return _ascii85
    if name in ("/RunLengthDecode", "/RL"):
        return _run_length
    if name in ("/LZWDecode", "/LZW"):
        early = (parms or {}).get("/EarlyChange", 1)
        return _lzw(1 if early not in (0, 1) else int(early))
    return None


def measure(
    raw: bytes,
    filters: Sequence[str],
    parms: Sequence[dict[str, object] | None],
    *,
    limit: int,
    prefix: int = 0,
) -> Measured:
    """Run the filter chain over `raw` incrementally; raise TooLarge when a stage's output passes `limit`."""
    counts: list[int] = []
    stream: Iterator[bytes] = _chunks(raw)
    for i, name in enumerate(filters):
        decoder = decoder_for(name, parms[i] if i < len(parms) else None)
        if decoder is None:
            break
        stream = _counted(decoder(stream), counts, limit, name)
    head = b""
    size = 0
    for chunk in stream:
        size += len(chunk)
        if len(head) < prefix:
            head += chunk[: prefix - len(head)]
    return Measured(size=size, prefix=head, decoded=sum(counts))


def _counted(source: Iterator[bytes], counts: list[int], limit: int, name: str) -> Iterator[bytes]:
    ix = len(counts)
    counts.append(0)
    for chunk in source:
        counts[ix] += len(chunk)
        if counts[ix] > limit:
            raise TooLarge(f"{name[1:]} output larger than {limit // (1024 * 1024)} MiB")
        yield chunk


# --- ZIP containers -------------------------------------------------------------------------------------------------


def zip_entry_count(path: Path) -> int | None:
    """The number of entries a ZIP file declares in its end-of-central-directory record, read without building the
    directory (zipfile.ZipFile makes a Python object per entry: a 200 MB file of empty entries is millions of them).
    None when there is no readable record (zipfile will then refuse the file itself)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        end = f.tell()
        start = max(0, end - (22 + 65535))
        f.seek(start)
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    entries = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    if entries != 0xFFFF:
        return int(entries)
    loc = at - 20
    if loc < 0 or tail[loc : loc + 4] != b"PK\x06\x07":
        return None
    (offset,) = struct.unpack("<Q", tail[loc + 8 : loc + 16])
    with open(path, "rb") as f:
        f.seek(offset)
        rec = f.read(56)
    if len(rec) < 56 or rec[:4] != b"PK\x06\x06":
        return None
    return int(struct.unpack("<Q", rec[32:40])[0])
