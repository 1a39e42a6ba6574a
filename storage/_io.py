"""Small I/O helpers shared by the backends (private)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from .errors import SourceReadError, StorageError


class GuardedReader(io.RawIOBase):
    """A read-only stream over a backend's stream that turns vendor exceptions raised while reading
    (OSError, botocore errors) into StorageError subclasses, so none leaks to the caller mid-read."""

    def __init__(
        self,
        raw: Any,
        translate: Callable[[BaseException], StorageError],
        catch: tuple[type[BaseException], ...] = (OSError,),
    ) -> None:
        super().__init__()
        self._raw = raw
        self._translate = translate
        self._catch = catch

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        try:
            return bool(self._raw.seekable())
        except Exception:
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return int(self._raw.seek(offset, whence))
        except self._catch as exc:
            raise self._translate(exc) from exc

    def tell(self) -> int:
        try:
            return int(self._raw.tell())
        except self._catch as exc:
            raise self._translate(exc) from exc

    def read(self, size: int | None = -1) -> bytes:
        try:
            data = self._raw.read() if size is None or size < 0 else self._raw.read(size)
        except self._catch as exc:
            raise self._translate(exc) from exc
        return bytes(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                self._raw.close()
            except Exception:
                pass
        super().close()

    def as_binary(self) -> BinaryIO:
        return cast(BinaryIO, self)


def read_source(stream: BinaryIO, size: int, key: str) -> bytes:
    """Read up to `size` bytes from the caller's stream; its failures become SourceReadError."""
    try:
        return stream.read(size)
    except (OSError, ValueError) as exc:
        raise SourceReadError(key, f"{type(exc).__name__}: {exc}") from exc


def readinto_source(stream: BinaryIO, buffer: bytearray, key: str) -> int:
    """Fill `buffer` from the caller's stream (as far as one read goes); returns the count, 0 at the end."""
    try:
        readinto = getattr(stream, "readinto", None)
        if readinto is not None:
            n = readinto(buffer)
            return 0 if n is None else int(n)
        data = stream.read(len(buffer))
    except (OSError, ValueError) as exc:
        raise SourceReadError(key, f"{type(exc).__name__}: {exc}") from exc
    buffer[: len(data)] = data
    return len(data)
