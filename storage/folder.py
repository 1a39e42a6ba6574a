"""A store in a local (or mounted) folder: `file:///abs/path[?create=false]`.

Layout under the root folder::

    <key>                                   the object's bytes; keys may contain '/', which become sub-folders
    .hoso-store/tmp/<random>.tmp            writes in flight (a crash leaves them here; list/head never see them;
                                            `cleanup_temp()` removes old ones)
    .hoso-store/meta/<hh>/<sha256(key)>.json   sidecar, only for keys that need one:
                                            {"key", "retain_until", "legal_hold"[, "sha256"]}

The SHA-256 recorded at write time lives in the extended attribute `user.hoso.sha256` of the object file (set on the
temp file before it is linked into place, so it is as durable as the bytes). Where the filesystem has no user xattrs
it goes into the sidecar instead. Either way it is a claim: `head()` reports it, nobody trusts it.

Writes are atomic: stream into a temp file while hashing (1 MiB chunks), refuse a wrong digest (the temp file is
removed, nothing is kept), fsync the file, `link()` it into place (fails if the key exists, so two writers can never
clobber each other), fsync the folder (and every folder created on the way). Repairing a corrupt copy uses `rename()`
over it.

Retention and legal holds are ADVISORY here: a folder cannot enforce them against anyone with filesystem access.
We record them in the sidecar, `delete()` refuses while they are in force, and `supports_object_lock` is False so
callers know no one else is stopped. A single process is assumed for retention bookkeeping (a thread lock guards it).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from ._io import GuardedReader, readinto_source
from .base import CHUNK, ObjectInfo, as_utc, check_key
from .errors import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    RetentionError,
    StorageError,
    StoreUnavailable,
)

INTERNAL = ".hoso-store"
XATTR = "user.hoso.sha256"
_NO_XATTR = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EPERM}


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


class FolderStore:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "file":
            raise StorageError(f"not a file:// URL: {url!r}")
        if parts.netloc not in ("", "localhost"):
            raise StorageError(
                f"file URL {url!r} names host {parts.netloc!r}; use an absolute path: file:///absolute/path"
            )
        path = unquote(parts.path)
        if not path.startswith("/"):
            raise StorageError(f"file URL {url!r} must hold an absolute path: file:///absolute/path")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"create"}
        if unknown:
            raise StorageError(f"unknown option(s) {', '.join(sorted(unknown))} in {url!r} (known: create)")
        self.url = url
        self.root = Path(os.path.normpath(path))
        self._internal = self.root / INTERNAL
        self._tmp = self._internal / "tmp"
        self._meta = self._internal / "meta"
        self._lock = threading.Lock()
        self._xattr: bool | None = None  # unknown until the first write
        if _truthy(query.get("create", "true")):
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError:
                pass  # reported by ping()/put() as StoreUnavailable; building a store never fails on I/O

    def __repr__(self) -> str:
        return f"FolderStore({self.url!r})"

    @property
    def supports_object_lock(self) -> bool:
        return False  # retention and legal holds are recorded and honoured by delete(), but only advisory

    # ---- paths and errors -------------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        check_key(key)
        segments = key.split("/")
        if segments[0] == INTERNAL:
            raise StorageError(f"invalid key {key!r}: {INTERNAL!r} is reserved by the folder store")
        for segment in segments:
            if len(os.fsencode(segment)) > 255:
                raise StorageError(f"invalid key {key[:40]!r}...: a path segment is longer than 255 bytes")
        return self.root.joinpath(*segments)

    def _meta_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self._meta / digest[:2] / f"{digest}.json"

    def _unavailable(self, exc: OSError, action: str) -> StorageError:
        if not self.root.is_dir():
            return StoreUnavailable(self.url, f"root folder {self.root} is missing or not a folder")
        if exc.errno == errno.ENOSPC:
            return StoreUnavailable(self.url, f"disk full while trying to {action}")
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StoreUnavailable(self.url, f"not permitted to {action}: {exc.strerror}")
        return StoreUnavailable(self.url, f"could not {action}: {exc}")

    def _not_found_or_down(self, key: str) -> StorageError:
        # a missing root (unmounted disk, removed folder) must read as "store down", never as "object missing"
        if not self.root.is_dir():
            return StoreUnavailable(self.url, f"root folder {self.root} is missing or not a folder")
        return ObjectNotFound(key, self.url)

    def _stat_object(self, key: str, path: Path) -> os.stat_result:
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            raise self._not_found_or_down(key) from None
        except OSError as exc:
            raise self._unavailable(exc, f"stat {key!r}") from exc
        if not stat.S_ISREG(st.st_mode):
            raise ObjectNotFound(key, self.url)
        return st

    # ---- directories and fsync -------------------------------------------------------------------------------

    @staticmethod
    def _fsync_dir(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _ensure_dir(self, path: Path, dirty: set[Path] | None = None) -> None:
        """Create `path` and missing parents below the root. Each parent that gained an entry must be fsynced:
        at once, or (with `dirty`) collected so the caller fsyncs them after its link, one journal commit for all."""
        # one stat: between an is_dir() and an exists() another writer may create the folder, which then
        # looked like an object in the way
        try:
            found = path.stat()
        except FileNotFoundError:
            found = None
        if found is not None and stat.S_ISDIR(found.st_mode):
            return
        if found is not None:
            rel = path.relative_to(self.root).as_posix() if self.root in path.parents else str(path)
            raise StorageError(
                f"{rel!r} is an object in {self.url}, so no key can live under {rel + '/'!r} "
                "(a folder store cannot hold both 'a' and 'a/b')"
            )
        if path == self.root or self.root not in path.parents:
            if not path.is_dir():
                raise FileNotFoundError(errno.ENOENT, "root folder missing", str(path))
            return
        self._ensure_dir(path.parent, dirty)
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise
            return
        if dirty is None:
            self._fsync_dir(path.parent)
        else:
            dirty.add(path.parent)

    # ---- writing ----------------------------------------------------------------------------------------------

    def _existing_matches(self, key: str, path: Path, sha256: str) -> bool | None:
        """None if nothing is stored under key; True if the stored bytes hash to sha256; False if they do not."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            if not self.root.is_dir():
                raise StoreUnavailable(
                    self.url, f"root folder {self.root} is missing or not a folder"
                ) from None
            return None
        except IsADirectoryError:
            raise StorageError(
                f"key {key!r} names a folder in {self.url} (it holds keys under {key + '/'!r})"
            )
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StorageError(f"key {key!r} in {self.url} is not a regular file")
            with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
                found = hashlib.file_digest(f, "sha256").hexdigest()
        finally:
            os.close(fd)
        return found == sha256

    def _drain_verify(self, key: str, stream: BinaryIO, sha256: str) -> None:
        """Hash the incoming stream without writing it; ChecksumMismatch if it does not hash to sha256."""
        h = hashlib.sha256()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := readinto_source(stream, buf, key):
            h.update(view[:n])
        if h.hexdigest() != sha256:
            raise ChecksumMismatch(key, sha256, h.hexdigest(), self.url)

    def _new_temp(self) -> tuple[Path, int]:
        self._ensure_dir(self._tmp)
        tmp = self._tmp / f"{secrets.token_hex(12)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        return tmp, fd

    def _set_xattr(self, fd: int, sha256: str) -> bool:
        if self._xattr is False:
            return False
        try:
            os.setxattr(fd, XATTR, sha256.encode("ascii"))
        except OSError as exc:
            if exc.errno in _NO_XATTR:
                self._xattr = False
                return False
            raise
        self._xattr = True
        return True

    def _write_temp(self, key: str, stream: BinaryIO, sha256: str) -> tuple[Path, bool]:
        """Stream into a verified, fsynced temp file. Returns (temp path, sha256 stored in xattr?)."""
        tmp, fd = self._new_temp()
        ok = False
        try:
            h = hashlib.sha256()
            buf = bytearray(CHUNK)
            view = memoryview(buf)
            while n := readinto_source(stream, buf, key):
                chunk = view[:n]
                h.update(chunk)
                written = 0
                while written < n:
                    written += os.write(fd, chunk[written:])
            found = h.hexdigest()
            if found != sha256:
                raise ChecksumMismatch(key, sha256, found, self.url)
            in_xattr = self._set_xattr(fd, sha256)
            os.fsync(fd)
            ok = True
            return tmp, in_xattr
        finally:
            os.close(fd)
            if not ok:
                try:
                    tmp.unlink()
                except OSError:
                    pass

    def put(self, key: str, stream: BinaryIO, sha256: str, *, replace_corrupt: bool = False) -> ObjectInfo:
        path = self._path(key)
        try:
            existing = self._existing_matches(key, path, sha256)
            if existing is True:
                self._drain_verify(key, stream, sha256)  # a wrong stream is still refused
                return self.head(key)
            if existing is False and not replace_corrupt:
                self._drain_verify(key, stream, sha256)
                raise ObjectConflict(key, self.url)
            tmp, in_xattr = self._write_temp(key, stream, sha256)
            dirty: set[Path] = set()
            try:
                if existing is False:
                    # repair: the stored bytes do not hash to sha256, the temp file does
                    self._ensure_dir(path.parent, dirty)
                    os.replace(tmp, path)
                else:
                    result = self._link_new(key, tmp, path, sha256, replace_corrupt, dirty)
                    if result is not None:
                        return result
                if not in_xattr:
                    self._update_meta(key, sha256=sha256)
                # the new entry and every folder created for it, deepest first, after the link: on journalling
                # filesystems the first fsync commits them all and the rest are cheap
                dirty.add(path.parent)
                for folder in sorted(dirty, key=lambda d: len(d.parts), reverse=True):
                    self._fsync_dir(folder)
            finally:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass
        except StorageError:
            raise
        except OSError as exc:
            raise self._unavailable(exc, f"write {key!r}") from exc
        return self.head(key)

    def _link_new(
        self, key: str, tmp: Path, path: Path, sha256: str, replace_corrupt: bool, dirty: set[Path]
    ) -> ObjectInfo | None:
        """link() the temp file into place, never clobbering. Returns an ObjectInfo if someone else won the race
        with the same bytes (nothing to do), None once our file is in place."""
        for _ in range(5):
            self._ensure_dir(path.parent, dirty)
            try:
                os.link(tmp, path)
                return None
            except FileNotFoundError:
                continue  # a concurrent delete pruned the folder between mkdir and link: try again
            except FileExistsError:
                state = self._existing_matches(key, path, sha256)
                if state is None:
                    continue
                if state:
                    return self.head(key)
                if not replace_corrupt:
                    raise ObjectConflict(key, self.url) from None
                os.replace(tmp, path)
                return None
        raise StoreUnavailable(self.url, f"could not link {key!r} into place (folder keeps disappearing)")

    # ---- sidecar ------------------------------------------------------------------------------------------------

    def _read_meta(self, key: str) -> dict[str, Any]:
        try:
            with open(self._meta_path(key), "rb") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {}
        except (ValueError, OSError) as exc:
            if isinstance(exc, OSError) and not self.root.is_dir():
                raise StoreUnavailable(
                    self.url, f"root folder {self.root} is missing or not a folder"
                ) from exc
            raise StorageError(f"unreadable sidecar for {key!r} in {self.url}: {exc}") from exc
        return data if isinstance(data, dict) else {}

    def _update_meta(self, key: str, **changes: Any) -> None:
        meta = self._read_meta(key)
        meta.update(changes, key=key)
        target = self._meta_path(key)
        self._ensure_dir(target.parent)
        tmp, fd = self._new_temp()
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(json.dumps(meta, sort_keys=True).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, target)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        self._fsync_dir(target.parent)

    @staticmethod
    def _lock_state(meta: dict[str, Any]) -> tuple[datetime | None, bool]:
        until = meta.get("retain_until")
        return (datetime.fromisoformat(until) if until else None), bool(meta.get("legal_hold", False))

    # ---- reading ------------------------------------------------------------------------------------------------

    def get(self, key: str) -> BinaryIO:
        path = self._path(key)
        try:
            f = open(path, "rb", buffering=0)  # noqa: SIM115 - the caller closes it
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._not_found_or_down(key) from None
        except OSError as exc:
            raise self._unavailable(exc, f"open {key!r}") from exc
        try:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ObjectNotFound(key, self.url)
        except BaseException:
            f.close()
            raise

        def translate(exc: BaseException) -> StorageError:
            return StoreUnavailable(self.url, f"error reading {key!r}: {exc}")

        return GuardedReader(f, translate).as_binary()

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        st = self._stat_object(key, path)
        sha: str | None = None
        if self._xattr is not False:
            try:
                sha = os.getxattr(path, XATTR).decode("ascii")
            except OSError:
                sha = None
        meta = self._read_meta(key)
        if sha is None:
            sha = meta.get("sha256")
        until, hold = self._lock_state(meta)
        return ObjectInfo(key, st.st_size, sha, until, hold, datetime.fromtimestamp(st.st_mtime, UTC))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in the same (code point) order as the other backends. Temp files and
        sidecars are never listed."""
        if not self.root.is_dir():
            raise StoreUnavailable(self.url, f"root folder {self.root} is missing or not a folder")
        base, _, _ = prefix.rpartition("/")
        if base and (base.split("/")[0] == INTERNAL or {"", ".", ".."} & set(base.split("/"))):
            return iter(())  # no valid key lives there
        start = self.root.joinpath(*base.split("/")) if base else self.root
        return self._walk(start, base + "/" if base else "", prefix)

    def _walk(self, folder: Path, rel: str, prefix: str) -> Iterator[str]:
        try:
            with os.scandir(folder) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False), e.is_file()) for e in it]
        except (FileNotFoundError, NotADirectoryError):
            if not self.root.is_dir():
                raise StoreUnavailable(
                    self.url, f"root folder {self.root} is missing or not a folder"
                ) from None
            return
        except OSError as exc:
            raise self._unavailable(exc, f"list {str(folder)!r}") from exc
        # sorting folders as "name/" gives exactly the order of the full key strings
        entries.sort(key=lambda e: e[0] + "/" if e[1] else e[0])
        for name, is_dir, is_file in entries:
            key = rel + name
            if not rel and name == INTERNAL:
                continue
            if is_dir:
                sub = key + "/"
                if sub.startswith(prefix) or prefix.startswith(sub):
                    yield from self._walk(folder / name, sub, prefix)
            elif is_file and key.startswith(prefix):
                yield key

    # ---- delete, retention ---------------------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._lock:
            self._stat_object(key, path)
            until, hold = self._lock_state(self._read_meta(key))
            if hold:
                raise RetentionError(f"{key} is under legal hold in {self.url} (advisory, recorded by hoso)")
            if until is not None and until > datetime.now(UTC):
                raise RetentionError(
                    f"{key} is retained until {until.isoformat()} in {self.url} (advisory, recorded by hoso)"
                )
            try:
                path.unlink()
                self._meta_path(key).unlink(missing_ok=True)
                self._fsync_dir(path.parent)
            except FileNotFoundError:
                raise self._not_found_or_down(key) from None
            except OSError as exc:
                raise self._unavailable(exc, f"delete {key!r}") from exc
            self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove folders left empty by a delete (best effort; a concurrent put simply recreates them)."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def set_retention(self, key: str, until: datetime) -> None:
        """Record a retention date (advisory: honoured by delete() only). Never shortens an existing date."""
        until = as_utc(until)
        with self._lock:
            self._stat_object(key, self._path(key))
            old, _ = self._lock_state(self._read_meta(key))
            if old is not None and until < old:
                raise RetentionError(
                    f"refusing to shorten retention of {key} from {old.isoformat()} to {until.isoformat()}"
                )
            try:
                self._update_meta(key, retain_until=until.isoformat())
            except OSError as exc:
                raise self._unavailable(exc, f"record retention of {key!r}") from exc

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Record a legal hold (advisory: honoured by delete() only)."""
        with self._lock:
            self._stat_object(key, self._path(key))
            try:
                self._update_meta(key, legal_hold=bool(on))
            except OSError as exc:
                raise self._unavailable(exc, f"record legal hold of {key!r}") from exc

    # ---- health and housekeeping ---------------------------------------------------------------------------------

    def ping(self) -> None:
        """The root must exist, be a folder, and accept a new (synced) file."""
        if not self.root.is_dir():
            raise StoreUnavailable(self.url, f"root folder {self.root} is missing or not a folder")
        try:
            tmp, fd = self._new_temp()
            try:
                os.write(fd, b"ping")
                os.fsync(fd)
            finally:
                os.close(fd)
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise self._unavailable(exc, "create a file") from exc

    def cleanup_temp(self, older_than: timedelta | float = timedelta(hours=1)) -> int:
        """Remove temp files left by crashed writes that are older than `older_than` (seconds or timedelta).
        Returns how many were removed. Safe while other writes run, as long as `older_than` exceeds the longest
        write."""
        age = older_than.total_seconds() if isinstance(older_than, timedelta) else float(older_than)
        cutoff = time.time() - age
        removed = 0
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise self._unavailable(exc, "list temp files") from exc
        for entry in entries:
            try:
                if entry.name.endswith(".tmp") and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise self._unavailable(exc, f"remove temp file {entry.name}") from exc
        return removed
