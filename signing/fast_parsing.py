"""Faster equivalents of pyHanko's hottest loops when validating: two byte-at-a-time tokenizer loops, and the walk of
every revision's objects (signing/pyhanko_walk.py).

Profiling a fresh validation of a sealed 50-page PDF showed a third of the parsing time in pyHanko reading one byte
per Python call: names and numbers (misc._read_until_class, generic._decode_name) and hex strings such as a signature's /Contents, tens of
kilobytes each (generic.read_hex_string_from_stream). The replacements below return exactly what the originals
return and leave the stream where the originals leave it; anything outside their fast path (a stream that is not an
in-memory buffer, a length limit, a hex string holding a comment or a stray byte, a missing '>') goes to the original
code, errors included. They are installed only over the versions of those functions they were checked against (the
digest of their source): another pyHanko keeps its own code. tests/unit/signing/test_fast_parsing.py compares both on
generated input.
"""

from __future__ import annotations

import binascii
import hashlib
import inspect
import io
import re
from collections.abc import Callable
from typing import Any

_CHECKED = {
    "_read_until_class": "d532d57667257cc8fa86aef3488336e36f6cb2af8ae3c5de124e00383bb1eaf9",
    "read_hex_string_from_stream": "2004d63b8e1ce3d9a894ab0912667f0f056ffb290b95c7615e59b36b883233e2",
    "_load_reverse_xref_cache": "7a0a27ccb00c0cc0958636117b9165df5be1fd2bed7805219ebc90650b499132",
    "_decode_name": "963405df0a1e5d065bee31c001a23282daaa69306db2be73f67ee1f9cf9c74a9",
}
_installed = False
ORIGINALS: dict[str, Callable[..., Any]] = {}  # what was replaced, for the tests that compare


def source_digest(func: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(func).encode()).hexdigest()


def install() -> bool:
    """Put the fast versions in place (once per process); False when pyHanko's code is not the one checked."""
    global _installed
    if _installed:
        return True
    from pyhanko.pdf_utils import generic, misc
    from pyhanko.pdf_utils.reader import HistoricalResolver

    from . import pyhanko_walk

    originals: dict[str, Callable[..., Any]] = {
        "_read_until_class": misc._read_until_class,
        "read_hex_string_from_stream": generic.read_hex_string_from_stream,
        "_load_reverse_xref_cache": HistoricalResolver._load_reverse_xref_cache,
        "_decode_name": generic._decode_name,
    }
    if any(source_digest(f) != _CHECKED[name] for name, f in originals.items()):
        return False
    ORIGINALS.update(originals)
    misc._read_until_class = _fast_read_until_class(misc._read_until_class)
    generic.read_hex_string_from_stream = _fast_read_hex_string(
        generic.read_hex_string_from_stream, generic.pdf_string, misc.PDF_WHITESPACE
    )
    generic._decode_name = _fast_decode_name(generic._decode_name, generic.NameObject)
    HistoricalResolver._load_reverse_xref_cache = pyhanko_walk._load_reverse_xref_cache  # type: ignore[method-assign]
    _installed = True
    return True


def _fast_read_until_class(original: Callable[..., Any]) -> Callable[..., Any]:
    patterns: dict[bytes, re.Pattern[bytes]] = {}

    def read_until_class(class_chars: bytes, stream: Any, maxchars: int | None = None) -> tuple[bytes, bool]:
        if maxchars is not None or type(stream) is not io.BytesIO:
            return original(class_chars, stream, maxchars=maxchars)
        pattern = patterns.get(class_chars)
        if pattern is None:
            pattern = patterns[class_chars] = re.compile(b"[" + re.escape(class_chars) + b"]")
        start = stream.tell()
        size = 64
        while True:
            chunk = stream.read(size)
            found = pattern.search(chunk)
            if found is not None:
                stream.seek(start + found.start() + 1)  # the original consumes the delimiter it stops at
                return chunk[: found.start()], False
            if len(chunk) < size:  # the end of the stream: all of it, and `end`
                return chunk, True
            stream.seek(start)
            size *= 4

    return read_until_class


def _fast_read_hex_string(
    original: Callable[..., Any], pdf_string: Callable[[bytes], Any], whitespace: bytes
) -> Callable[..., Any]:
    plain = re.compile(rb"[0-9a-fA-F" + re.escape(whitespace) + rb"]*>")

    def read_hex_string(stream: Any) -> Any:
        if type(stream) is not io.BytesIO:
            return original(stream)
        start = stream.tell()  # at the '<'
        buffer = stream.getbuffer()
        try:
            found = plain.match(buffer, start + 1)
            if found is None:  # a comment, a stray byte or no '>': the original decides (and raises)
                return original(stream)
            digits = bytes(buffer[start + 1 : found.end() - 1]).translate(None, whitespace)
        finally:
            buffer.release()
        stream.seek(found.end())
        return pdf_string(binascii.unhexlify(digits + b"0" if len(digits) % 2 else digits))

    return read_hex_string


def _fast_decode_name(original: Callable[..., Any], name_object: Callable[[str], Any]) -> Callable[..., Any]:
    # printable ASCII that needs no escape: the original copies such a name byte for byte and decodes it as UTF-8
    plain = re.compile(rb"[^\x00-\x20\x7f-\xff#()<>\[\]{}/%]*")

    def decode_name(name_bytes: bytes) -> Any:
        if plain.fullmatch(name_bytes) is None:
            return original(name_bytes)
        return name_object("/" + name_bytes.decode("ascii"))

    return decode_name
