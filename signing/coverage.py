"""Whole-file coverage read from the bytes themselves.

pyHanko measures the unsigned gap as ``2 × len(decoded /Contents) + 2``, which holds only for a hex string written
as one unbroken run of digits. PDF allows white space inside a hex string, and some signing tools wrap it over
lines; pyHanko then calls the coverage "unclear" and a sound signature over the whole file would read as tampered.
Here the gap is checked directly: it must be one hex string and nothing else, and decode to the signature found.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PDF_WHITESPACE = rb"\x00\t\n\x0c\r "
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f" + _PDF_WHITESPACE + rb"]*>")
_WHITESPACE = re.compile(rb"[" + _PDF_WHITESPACE + rb"]+")


def covers_whole_file(pdf_bytes: bytes, byte_range: Sequence[int], contents: bytes) -> bool:
    """True when the byte range signs every byte of the file except one hex string holding ``contents``."""
    if len(byte_range) != 4:
        return False
    start, first_len, second_start, second_len = (int(n) for n in byte_range)
    if start != 0 or first_len <= 0 or second_start <= first_len or second_len < 0:
        return False
    if second_start + second_len != len(pdf_bytes):
        return False
    gap = pdf_bytes[first_len:second_start]
    if _HEX_STRING.fullmatch(gap) is None:
        return False
    digits = _WHITESPACE.sub(b"", gap[1:-1])
    if len(digits) % 2:  # PDF: a missing final digit is taken as 0
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii")) == bytes(contents)
