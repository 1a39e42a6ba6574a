"""signing/fast_parsing.py returns what pyHanko's own tokenizer loops return, leaves the stream where they leave it,
and raises where they raise (compared on generated input, hostile bytes included)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic, misc

from signing import fast_parsing

assert fast_parsing.install(), (
    "this pyHanko's tokenizer is not the one signing/fast_parsing.py was checked against"
)
FAST_CLASS, FAST_HEX = misc._read_until_class, generic.read_hex_string_from_stream
ORIGINAL_CLASS = fast_parsing.ORIGINALS["_read_until_class"]
ORIGINAL_HEX = fast_parsing.ORIGINALS["read_hex_string_from_stream"]

# the bytes that matter to these loops, and others
ALPHABET = b"0123456789abcdefABCDEFgz<>%()[]{}/ \n\r\t\f\x00\xff#"
data = st.binary(max_size=300) | st.lists(st.sampled_from(list(ALPHABET)), max_size=300).map(bytes)


def outcome(call: Callable[[io.BytesIO], Any], raw: bytes, start: int) -> tuple[Any, ...]:
    stream = io.BytesIO(raw)
    stream.seek(start)
    try:
        value = call(stream)
    except Exception as exc:
        return ("raised", type(exc), str(exc), stream.tell())
    return ("returned", repr(value), type(value), stream.tell())


def test_the_originals_are_the_ones_replaced():
    assert (
        ORIGINAL_CLASS.__module__ == "pyhanko.pdf_utils.misc"
        and ORIGINAL_CLASS.__name__ == "_read_until_class"
    )
    assert ORIGINAL_HEX.__name__ == "read_hex_string_from_stream"
    assert fast_parsing.install()  # once per process; again is a no-op


@settings(max_examples=400, deadline=None)
@given(raw=data, start=st.integers(0, 320), delimiters=st.booleans())
def test_read_until_class_is_the_original(raw: bytes, start: int, delimiters: bool):
    chars = misc.PDF_WHITESPACE + (misc.PDF_DELIMITERS if delimiters else b"")
    start = min(start, len(raw))
    assert outcome(lambda s: FAST_CLASS(chars, s), raw, start) == outcome(
        lambda s: ORIGINAL_CLASS(chars, s), raw, start
    )


@settings(max_examples=400, deadline=None)
@given(body=data, tail=data)
def test_hex_strings_are_read_as_the_original_reads_them(body: bytes, tail: bytes):
    raw = b"<" + body + tail
    assert outcome(FAST_HEX, raw, 0) == outcome(ORIGINAL_HEX, raw, 0)


def test_a_long_signature_contents_and_the_corner_cases():
    contents = b"<" + (b"30820a1f" * 8000) + b"\n0000>"
    for raw in (
        contents,
        b"<abc>",
        b"<a b\nc>",
        b"<>",
        b"<ab%comment\ncd>",
        b"<abg>",
        b"<abcd",
        b"<\x00a\x00>",
    ):
        assert outcome(FAST_HEX, raw, 0) == outcome(ORIGINAL_HEX, raw, 0), raw[:40]
    long_name = b"/" + b"N" * 5000 + b" rest"
    assert outcome(lambda s: FAST_CLASS(misc.PDF_WHITESPACE, s), long_name, 1) == outcome(
        lambda s: ORIGINAL_CLASS(misc.PDF_WHITESPACE, s), long_name, 1
    )


FAST_NAME, ORIGINAL_NAME = generic._decode_name, fast_parsing.ORIGINALS["_decode_name"]


def decoded(call: Callable[[bytes], Any], raw: bytes) -> tuple[Any, ...]:
    try:
        value = call(raw)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return ("returned", value, type(value))


@settings(max_examples=400, deadline=None)
@given(raw=data)
def test_names_are_decoded_as_the_original_decodes_them(raw: bytes):
    assert decoded(FAST_NAME, raw) == decoded(ORIGINAL_NAME, raw)


def test_name_corner_cases():
    for name in (
        b"Type",
        b"FlateDecode",
        b"A#20B",
        b"caf\xc3\xa9",
        b"Bad Space",
        b"#4",
        b"",
        b"x#zz",
        b"\x7f",
    ):
        assert decoded(FAST_NAME, name) == decoded(ORIGINAL_NAME, name), name
