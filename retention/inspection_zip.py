"""A deterministic, stored (uncompressed) ZIP whose every byte offset is known before a byte is read.

An inspection package can be gigabytes and a download can break: so the ZIP is never built on disk or in memory.
Every entry is *stored* (PDFs are compressed already), its size and CRC-32 come from the catalog listing, and every
timestamp is the package's own creation time. The archive's length and the offset of every header and every file's
bytes are therefore pure functions of the listing (`ZipLayout`), and any byte range can be produced on its own
(`ZipLayout.stream(start, end)`) — which is what HTTP Range needs to resume a download, and what lets the same
package be cut into e-mail parts that reassemble to exactly the bytes a download gives.

Memory stays flat: headers are a few hundred bytes each, file bytes pass through in the source's chunks.
ZIP64 records are written only when an offset or the entry count needs them (APPNOTE 6.3.x, section 4.5.3).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

U32 = 0xFFFFFFFF
U16 = 0xFFFF
VERSION_MADE_BY = (3 << 8) | 45  # Unix, spec 4.5
UNIX_FILE_MODE = 0o100644 << 16


@dataclass(frozen=True)
class ZipEntry:
    """One file of the archive: its name, size and CRC-32 (known in advance), and how to read its bytes."""

    name: str
    size: int
    crc32: int
    open: Callable[[], Iterator[bytes]]


def dos_time(moment: datetime) -> tuple[int, int]:
    """(time, date) in MS-DOS format; the format starts in 1980 and has two-second resolution."""
    m = max(moment, datetime(1980, 1, 1, tzinfo=moment.tzinfo))
    return (m.hour << 11) | (m.minute << 5) | (m.second // 2), ((m.year - 1980) << 9) | (m.month << 5) | m.day


@dataclass(frozen=True)
class _Segment:
    start: int
    length: int
    data: bytes | None  # header bytes, or None for an entry's file bytes
    entry: ZipEntry | None = None


class ZipLayout:
    """The whole archive as a list of segments with known offsets: headers (bytes) and file bodies (streams)."""

    def __init__(self, entries: Sequence[ZipEntry], moment: datetime, *, force_zip64: bool = False) -> None:
        names = [e.name for e in entries]
        if len(set(names)) != len(names):
            raise ValueError("duplicate names in a ZIP listing")
        self.entries = list(entries)
        self._time, self._date = dos_time(moment)
        segments: list[_Segment] = []
        central: list[bytes] = []
        offset = 0
        for e in self.entries:
            if e.size >= U32:
                raise ValueError(f"{e.name}: files of 4 GiB or more are not supported")
            name = e.name.encode("ascii")  # names are ASCII-folded by the caller: no UTF-8 flag, no surprises
            local = (
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    20,
                    0,
                    0,
                    self._time,
                    self._date,
                    e.crc32,
                    e.size,
                    e.size,
                    len(name),
                    0,
                )
                + name
            )
            segments.append(_Segment(offset, len(local), local))
            segments.append(_Segment(offset + len(local), e.size, None, e))
            central.append(self._central(e, name, offset, force_zip64))
            offset += len(local) + e.size
        cd = b"".join(central)
        segments.append(_Segment(offset, len(cd), cd))
        tail = self._end(len(self.entries), len(cd), offset, force_zip64)
        segments.append(_Segment(offset + len(cd), len(tail), tail))
        self._segments = [s for s in segments if s.length]
        self.size = offset + len(cd) + len(tail)

    def _central(self, e: ZipEntry, name: bytes, offset: int, force_zip64: bool) -> bytes:
        big = force_zip64 or offset >= U32
        extra = struct.pack("<HHQ", 0x0001, 8, offset) if big else b""
        return (
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                VERSION_MADE_BY,
                45 if big else 20,
                0,
                0,
                self._time,
                self._date,
                e.crc32,
                e.size,
                e.size,
                len(name),
                len(extra),
                0,
                0,
                0,
                UNIX_FILE_MODE,
                U32 if big else offset,
            )
            + name
            + extra
        )

    @staticmethod
    def _end(count: int, cd_size: int, cd_offset: int, force_zip64: bool) -> bytes:
        big = force_zip64 or count >= U16 or cd_offset >= U32 or cd_size >= U32
        out = b""
        if big:
            zip64_end_offset = cd_offset + cd_size
            out += struct.pack(
                "<IQHHIIQQQQ", 0x06064B50, 44, VERSION_MADE_BY, 45, 0, 0, count, count, cd_size, cd_offset
            )
            out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end_offset, 1)
        out += struct.pack(
            "<IHHHHIIH",
            0x06054B50,
            0,
            0,
            min(count, U16),
            min(count, U16),
            U32 if big else cd_size,
            U32 if big else cd_offset,
            0,
        )
        return out

    def offset_of(self, name: str) -> int:
        """Where `name`'s file bytes start in the archive."""
        for s in self._segments:
            if s.entry is not None and s.entry.name == name:
                return s.start
        raise KeyError(name)

    def stream(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The archive's bytes from `start` to `end` inclusive (HTTP Range semantics); a file's source is opened only
        when the range reaches into it, and read from its beginning (sources are streams, not seekable files)."""
        last = self.size - 1 if end is None else min(end, self.size - 1)
        if start < 0 or start > last + 1:
            raise ValueError("range outside the archive")
        for seg in self._segments:
            seg_end = seg.start + seg.length - 1
            if seg_end < start or seg.start > last:
                continue
            lo, hi = max(start, seg.start) - seg.start, min(last, seg_end) - seg.start + 1
            if seg.data is not None:
                yield seg.data[lo:hi]
                continue
            assert seg.entry is not None
            yield from _body(seg.entry, lo, hi)


def _body(entry: ZipEntry, lo: int, hi: int) -> Iterator[bytes]:
    """Bytes [lo, hi) of one entry's source; a source giving other than `entry.size` bytes is an error (the
    headers already promised that size: the archive would be corrupt)."""
    pos = 0
    chunks = entry.open()
    try:
        for chunk in chunks:
            n = len(chunk)
            if pos + n > lo and pos < hi:
                yield chunk[max(0, lo - pos) : hi - pos]
            pos += n
            if pos >= hi and hi < entry.size:
                return  # the range ends inside this file: stop reading
        if pos != entry.size:
            raise OSError(f"{entry.name}: source gave {pos} bytes, the listing says {entry.size}")
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
