"""A store in an S3 bucket (AWS, MinIO, Ceph, moto...) with boto3.

URL: ``s3://bucket[/prefix]?option=value&...``; credentials come from the usual AWS variables / config files.

Options (all optional):
  ``endpoint_url``        e.g. ``http://127.0.0.1:9000`` (path-style addressing is then used by default)
  ``region``              default: boto3's own resolution, or ``us-east-1`` when ``endpoint_url`` is given
  ``lock_mode``           ``COMPLIANCE`` (default) or ``GOVERNANCE`` for set_retention (an existing COMPLIANCE
                          retention is never downgraded)
  ``object_lock``         ``auto`` (default: ask the bucket once), ``true`` or ``false``
  ``connect_timeout``     seconds, default 3;  ``read_timeout`` seconds, default 60
  ``max_attempts``        total tries per request incl. the first, default 3
  ``part_size``           bytes per multipart part (>= 5 MiB), default 8 MiB; smaller objects go in one PUT
  ``addressing_style``    ``path``, ``virtual`` or ``auto``
  ``conditional_writes``  ``true`` (default): new objects are written with ``If-None-Match: *`` so two writers
                          can never clobber each other; set ``false`` for servers that do not support it

How put() keeps its promises:
  * it hashes the stream itself; a single PUT is only sent once the digest is known to be right (nothing is kept
    otherwise); a multipart upload is aborted (never becomes visible) unless the digest is right;
  * each request carries ``ChecksumSHA256`` and the checksum the server returns is compared as well (some
    servers, moto among them, do not check it); a server that returns none (Ceph RGW) is held to its ETag, the MD5
    of what it stored; a copy the server got wrong is deleted and ChecksumMismatch raised;
  * our hex SHA-256 goes into the object metadata (``x-amz-meta-sha256``) so head() can report it;
  * an existing key is never overwritten with different bytes (ObjectConflict), except with ``replace_corrupt``
    when the stored bytes do not hash right; on a versioned / Object Lock bucket the repair is a new version and
    the damaged version's retention and legal hold are carried over to it.

delete() removes every version of the key (oldest first, the current one last) so disposal really disposes;
it refuses (RetentionError) while the current version is retained or held, and stops at the first locked version.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from typing import Any, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
from urllib3.exceptions import HTTPError as URLLib3HTTPError

from ._io import GuardedReader, read_source
from .base import CHUNK, ObjectInfo, as_utc, check_key
from .errors import (
    ChecksumMismatch,
    ObjectConflict,
    ObjectNotFound,
    RetentionError,
    StorageError,
    StoreUnavailable,
)

MIN_PART = 5 * 1024 * 1024
_OPTIONS = {
    "endpoint_url",
    "region",
    "lock_mode",
    "object_lock",
    "connect_timeout",
    "read_timeout",
    "max_attempts",
    "part_size",
    "addressing_style",
    "conditional_writes",
}
_NETWORK_ERRORS = (BotoCoreError, OSError, HTTPException, URLLib3HTTPError)
_NOT_FOUND = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_BAD_DIGEST = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"}


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _hex_of_b64(value: str) -> str:
    try:
        return base64.b64decode(value.split("-")[0]).hex()
    except ValueError:
        return value


def _server_disagrees(resp: dict[str, Any], body: bytes, sha256_b64: str) -> tuple[str, str] | None:
    """What the server says it stored and how it said so, when that is not `body`; None when it agrees or says
    nothing we can check.

    A server that returns the SHA-256 checksum is held to it. One that returns none (Ceph RGW neither checks
    ChecksumSHA256 nor returns it) is held to its ETag, which for a plain PUT or one part is the MD5 of the bytes it
    stored: a body damaged between our hash and the server is caught here, before the write counts, instead of
    lingering under its key with our sha256 in its metadata. (AWS's SSE-KMS ETags are not MD5s, but AWS returns the
    checksum, so they are never compared.)"""
    returned = resp.get("ChecksumSHA256")
    if returned is not None:
        return None if returned == sha256_b64 else (_hex_of_b64(returned), "reported by S3")
    etag = str(resp.get("ETag", "")).strip('"').lower()
    if len(etag) != 32 or any(c not in "0123456789abcdef" for c in etag):
        return None
    md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
    return None if etag == md5 else (f"other bytes, MD5 {etag} instead of {md5}", "ETag reported by S3")


def _flag(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise StorageError(f"option {name}={value!r} must be true or false")


def _code(exc: ClientError) -> tuple[str, int]:
    err = exc.response.get("Error", {}) or {}
    status = (exc.response.get("ResponseMetadata", {}) or {}).get("HTTPStatusCode") or 0
    return str(err.get("Code", "")), int(status)


class S3Store:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise StorageError(f"not an s3://bucket[/prefix] URL: {url!r}")
        self.url = url
        self.bucket = parts.netloc
        prefix = unquote(parts.path).strip("/")
        if prefix:
            check_key(prefix)
        self.prefix = prefix + "/" if prefix else ""
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - _OPTIONS
        if unknown:
            raise StorageError(
                f"unknown option(s) {', '.join(sorted(unknown))} in {url!r} (known: {', '.join(sorted(_OPTIONS))})"
            )
        self.endpoint_url = query.get("endpoint_url") or None
        self.region = query.get("region") or ("us-east-1" if self.endpoint_url else None)
        self.lock_mode = query.get("lock_mode", "COMPLIANCE").upper()
        if self.lock_mode not in ("COMPLIANCE", "GOVERNANCE"):
            raise StorageError(f"lock_mode must be COMPLIANCE or GOVERNANCE, not {self.lock_mode!r}")
        lock = query.get("object_lock", "auto").lower()
        self._object_lock: bool | None = None if lock == "auto" else _flag(lock, "object_lock")
        try:
            self.connect_timeout = float(query.get("connect_timeout", 3))
            self.read_timeout = float(query.get("read_timeout", 60))
            self.max_attempts = int(query.get("max_attempts", 3))
            self.part_size = int(query.get("part_size", 8 * 1024 * 1024))
        except ValueError as exc:
            raise StorageError(f"bad numeric option in {url!r}: {exc}") from None
        if self.part_size < MIN_PART:
            raise StorageError(f"part_size must be at least {MIN_PART} bytes")
        if self.max_attempts < 1:
            raise StorageError("max_attempts must be at least 1")
        self.addressing_style = query.get("addressing_style", "path" if self.endpoint_url else "auto")
        self.conditional_writes = _flag(query.get("conditional_writes", "true"), "conditional_writes")
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # ---- client and errors ------------------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The boto3 client, built on first use (building one connects nowhere)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    config = Config(
                        connect_timeout=self.connect_timeout,
                        read_timeout=self.read_timeout,
                        retries={"max_attempts": self.max_attempts, "mode": "standard"},
                        s3={"addressing_style": self.addressing_style},
                        max_pool_connections=32,
                        # we send and check SHA-256 ourselves; no extra CRC on every request and response
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                    )
                    try:
                        self._client = boto3.session.Session().client(
                            "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
                        )
                    except (BotoCoreError, ValueError) as exc:
                        raise StoreUnavailable(self.url, f"cannot configure S3 client: {exc}") from exc
        return self._client

    def _k(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _client_error(self, exc: ClientError, key: str | None, op: str) -> StorageError:
        code, status = _code(exc)
        message = (exc.response.get("Error", {}) or {}).get("Message", "") or str(exc)
        if code == "NoSuchBucket":
            return StoreUnavailable(self.url, f"bucket {self.bucket!r} does not exist")
        if key is not None and (code in _NOT_FOUND or status == 404):
            return ObjectNotFound(key, self.url)
        if code in _BAD_DIGEST:
            return ChecksumMismatch(
                key or "", "(what we sent)", f"server rejected the digest: {code}", self.url
            )
        if op in ("delete", "retention", "legal hold") and (
            code in ("AccessDenied", "InvalidRequest", "InvalidArgument") or status == 403
        ):
            return RetentionError(f"S3 refused {op} of {key!r} in {self.url}: {code} {message}")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
            return StoreUnavailable(self.url, f"credentials rejected ({code})")
        if code == "AccessDenied" or status == 403:
            return StoreUnavailable(self.url, f"access denied during {op}")
        return StoreUnavailable(self.url, f"{op} failed: {code or status} {message}".strip())

    @contextmanager
    def _translating(self, key: str | None, op: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except ClientError as exc:
            raise self._client_error(exc, key, op) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise StoreUnavailable(
                self.url, "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ) from exc
        except _NETWORK_ERRORS as exc:
            where = self.endpoint_url or "S3"
            raise StoreUnavailable(self.url, f"{op} failed talking to {where}: {exc}") from exc

    def _bucket_must_exist(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code, status = _code(exc)
            if status == 404 or code in ("404", "NoSuchBucket", "NotFound"):
                raise StoreUnavailable(self.url, f"bucket {self.bucket!r} does not exist") from exc
            raise

    def _head_raw(self, key: str, op: str = "head") -> dict[str, Any] | None:
        """head_object of the current version, or None when the key is absent (and the bucket exists)."""
        with self._translating(key, op):
            try:
                return dict(self.client.head_object(Bucket=self.bucket, Key=self._k(key)))
            except ClientError as exc:
                code, status = _code(exc)
                if status == 404 or code in _NOT_FOUND:
                    self._bucket_must_exist()  # a missing bucket is "store down", never "object missing"
                    return None
                raise

    @staticmethod
    def _version(head: dict[str, Any]) -> dict[str, str]:
        vid = head.get("VersionId")
        return {"VersionId": vid} if vid and vid != "null" else {}

    @staticmethod
    def _locked(head: dict[str, Any]) -> str | None:
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            return "under legal hold"
        until = head.get("ObjectLockRetainUntilDate")
        if until is not None and as_utc(until) > datetime.now(UTC):
            return f"retained until {as_utc(until).isoformat()} ({head.get('ObjectLockMode', '?')})"
        return None

    # ---- capabilities and health -------------------------------------------------------------------------------

    @property
    def supports_object_lock(self) -> bool:
        """Whether the bucket has Object Lock enabled (asked once, then remembered). StoreUnavailable if the
        bucket cannot be asked."""
        if self._object_lock is None:
            with self._translating(None, "object lock check"):
                try:
                    conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
                    enabled = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
                except ClientError as exc:
                    code, _ = _code(exc)
                    if code != "ObjectLockConfigurationNotFoundError":
                        raise
                    enabled = False
            self._object_lock = enabled
        return self._object_lock

    def ping(self) -> None:
        with self._translating(None, "ping"):
            self._bucket_must_exist()

    # ---- reading -------------------------------------------------------------------------------------------------

    def get(self, key: str) -> BinaryIO:
        with self._translating(key, "get"):
            resp = self.client.get_object(Bucket=self.bucket, Key=self._k(key))

        def translate(exc: BaseException) -> StorageError:
            return StoreUnavailable(self.url, f"error reading {key!r}: {exc}")

        return GuardedReader(resp["Body"], translate, (*_NETWORK_ERRORS, ClientError)).as_binary()

    def head(self, key: str) -> ObjectInfo:
        head = self._head_raw(key)
        if head is None:
            raise ObjectNotFound(key, self.url)
        return self._info(key, head)

    @staticmethod
    def _info(key: str, head: dict[str, Any]) -> ObjectInfo:
        until = head.get("ObjectLockRetainUntilDate")
        return ObjectInfo(
            key=key,
            size=int(head.get("ContentLength", 0)),
            sha256=(head.get("Metadata") or {}).get("sha256"),
            retain_until=as_utc(until) if until is not None else None,
            legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
            modified_at=as_utc(head["LastModified"]) if head.get("LastModified") else None,
        )

    def _hash_stored(self, key: str) -> str:
        h = hashlib.sha256()
        with self.get(key) as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def list(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        cut = len(self.prefix)
        with self._translating(None, "list"):
            pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix))
            first = next(pages, None)  # errors (bucket gone, endpoint down) surface now, not mid-iteration

        def keys() -> Iterator[str]:
            page = first
            while page is not None:
                for obj in page.get("Contents", []) or []:
                    if not obj["Key"].endswith("/"):  # "folder" markers made by S3 consoles are not objects
                        yield obj["Key"][cut:]
                with self._translating(None, "list"):
                    page = next(pages, None)

        return keys()

    # ---- writing -------------------------------------------------------------------------------------------------

    def _read_part(self, stream: BinaryIO, key: str) -> bytes:
        buf = bytearray()
        while len(buf) < self.part_size:
            data = read_source(stream, min(CHUNK, self.part_size - len(buf)), key)
            if not data:
                break
            buf += data
        return bytes(buf)

    def _drain_verify(self, key: str, stream: BinaryIO, sha256: str) -> None:
        h = hashlib.sha256()
        while data := read_source(stream, CHUNK, key):
            h.update(data)
        if h.hexdigest() != sha256:
            raise ChecksumMismatch(key, sha256, h.hexdigest(), self.url)

    def _discard(self, key: str, version: dict[str, str]) -> str:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key), **version)
            return "the bad copy was deleted"
        except Exception as exc:  # the copy may be locked by a default retention rule
            return f"the bad copy could not be deleted ({exc})"

    def put(self, key: str, stream: BinaryIO, sha256: str, *, replace_corrupt: bool = False) -> ObjectInfo:
        self._k(key)
        prior = self._head_raw(key, "put")
        if prior is not None:
            with self._translating(key, "put"):
                intact = self._hash_stored(key) == sha256
            if intact:
                self._drain_verify(key, stream, sha256)
                return self._info(key, prior)
            if not replace_corrupt:
                self._drain_verify(key, stream, sha256)
                raise ObjectConflict(key, self.url)
        with self._translating(key, "put"):
            try:
                version = self._upload(
                    key, stream, sha256, conditional=prior is None and self.conditional_writes
                )
            except ClientError as exc:
                code, status = _code(exc)
                if status != 412 and code != "PreconditionFailed":
                    raise
                # someone wrote the key between our check and our write
                if self._hash_stored(key) == sha256:
                    return self.head(key)
                raise ObjectConflict(key, self.url) from None
            if prior is not None and version:
                self._carry_over_lock(key, prior, version)
        return self.head(key)

    def _upload(self, key: str, stream: BinaryIO, sha256: str, *, conditional: bool) -> dict[str, str]:
        k = self._k(key)
        cond = {"IfNoneMatch": "*"} if conditional else {}
        meta = {"sha256": sha256}
        first = self._read_part(stream, key)
        whole = hashlib.sha256(first)
        if len(first) < self.part_size:
            if whole.hexdigest() != sha256:
                raise ChecksumMismatch(key, sha256, whole.hexdigest(), self.url)
            b64 = _b64(whole.digest())
            resp = self.client.put_object(
                Bucket=self.bucket,
                Key=k,
                Body=first,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=b64,
                Metadata=meta,
                **cond,
            )
            version = self._version(resp)
            stored = _server_disagrees(resp, first, b64)
            if stored is not None:
                what = self._discard(key, version)
                raise ChecksumMismatch(key, sha256, f"{stored[0]} ({stored[1]}; {what})", self.url)
            return version

        upload = self.client.create_multipart_upload(
            Bucket=self.bucket, Key=k, ChecksumAlgorithm="SHA256", Metadata=meta
        )
        upload_id = upload["UploadId"]
        try:
            parts: list[dict[str, Any]] = []
            part_digests: list[bytes] = []
            data = first
            while data:
                number = len(parts) + 1
                digest = hashlib.sha256(data).digest()
                resp = self.client.upload_part(
                    Bucket=self.bucket,
                    Key=k,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=data,
                    ChecksumAlgorithm="SHA256",
                    ChecksumSHA256=_b64(digest),
                )
                stored = _server_disagrees(resp, data, _b64(digest))
                if stored is not None:
                    raise ChecksumMismatch(
                        key, digest.hex(), f"{stored[0]} in part {number} ({stored[1]})", self.url
                    )
                parts.append({"PartNumber": number, "ETag": resp["ETag"], "ChecksumSHA256": _b64(digest)})
                part_digests.append(digest)
                data = self._read_part(stream, key)
                whole.update(data)
            if whole.hexdigest() != sha256:
                raise ChecksumMismatch(key, sha256, whole.hexdigest(), self.url)
            resp = self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=k, UploadId=upload_id, MultipartUpload={"Parts": parts}, **cond
            )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=k, UploadId=upload_id)
            except Exception:
                pass  # an abandoned upload is invisible; a bucket lifecycle rule can reap it
            raise
        version = self._version(resp)
        composite = _b64(hashlib.sha256(b"".join(part_digests)).digest())
        returned = resp.get("ChecksumSHA256")
        if returned is None:
            head = self.client.head_object(Bucket=self.bucket, Key=k, ChecksumMode="ENABLED", **version)
            returned = head.get("ChecksumSHA256")
        if returned is not None and returned.split("-")[0] != composite:
            what = self._discard(key, version)
            raise ChecksumMismatch(
                key, sha256, f"composite {returned} reported by S3, expected {composite} ({what})", self.url
            )
        return version

    def _carry_over_lock(self, key: str, prior: dict[str, Any], version: dict[str, str]) -> None:
        """A repair on a versioned bucket is a new version: give it the damaged version's protection."""
        k = self._k(key)
        until = prior.get("ObjectLockRetainUntilDate")
        if until is not None and as_utc(until) > datetime.now(UTC):
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=k,
                Retention={"Mode": prior.get("ObjectLockMode") or self.lock_mode, "RetainUntilDate": until},
                **version,
            )
        if prior.get("ObjectLockLegalHoldStatus") == "ON":
            self.client.put_object_legal_hold(
                Bucket=self.bucket, Key=k, LegalHold={"Status": "ON"}, **version
            )

    # ---- delete, retention ---------------------------------------------------------------------------------------

    def delete(self, key: str) -> None:
        head = self._head_raw(key, "delete")
        if head is None:
            raise ObjectNotFound(key, self.url)
        why = self._locked(head)
        if why:
            raise RetentionError(f"{key} is {why} in {self.url}")
        k = self._k(key)
        with self._translating(key, "delete"):
            if not self._version(head):
                self.client.delete_object(Bucket=self.bucket, Key=k)
                return
            versions: list[tuple[str, bool]] = []
            paginator = self.client.get_paginator("list_object_versions")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=k):
                for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or []):
                    if v["Key"] == k:
                        versions.append((v["VersionId"], bool(v.get("IsLatest"))))
            # S3 lists newest first; delete the oldest first and the current version last, so a locked old version
            # stops us while the object is still whole
            versions.reverse()
            versions.sort(key=lambda v: v[1])
            for vid, _ in versions:
                self.client.delete_object(Bucket=self.bucket, Key=k, VersionId=vid)

    def probe_server_delete(self, key: str) -> tuple[bool, str]:
        """Ask the server itself to delete the current version of `key`, bypassing our own client-side refusal.

        For the WORM canary only: it proves the bucket's Object Lock holds. Returns (refused_by_server, detail).
        StorageError when the server could not be asked."""
        k = self._k(key)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=k)
            version = head.get("VersionId")
            args = {"VersionId": version} if version and version != "null" else {}
            self.client.delete_object(Bucket=self.bucket, Key=k, **args)
        except ClientError as exc:
            code, _ = _code(exc)
            if code in ("AccessDenied", "InvalidRequest", "ObjectLocked"):
                return True, code
            raise self._client_error(exc, key, "delete probe") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(self.url, f"delete probe: {exc}") from None
        return False, f"version {args.get('VersionId', '-')} deleted"

    @staticmethod
    def _whole_seconds(when: datetime) -> datetime:
        when = as_utc(when)
        if when.microsecond:
            when = when.replace(microsecond=0) + timedelta(seconds=1)  # round up: never shorter than asked
        return when

    def set_retention(self, key: str, until: datetime) -> None:
        """Object Lock retention (COMPLIANCE unless lock_mode=GOVERNANCE; an existing COMPLIANCE retention stays
        COMPLIANCE). Never shortens an existing date: RetentionError. The current date is read with head_object."""
        if not self.supports_object_lock:
            raise RetentionError(f"bucket {self.bucket!r} has no Object Lock: cannot retain {key!r}")
        until = self._whole_seconds(until)
        head = self._head_raw(key, "retention")
        if head is None:
            raise ObjectNotFound(key, self.url)
        old = head.get("ObjectLockRetainUntilDate")
        if old is not None and until < as_utc(old):
            raise RetentionError(
                f"refusing to shorten retention of {key} from {as_utc(old).isoformat()} to {until.isoformat()}"
            )
        mode = "COMPLIANCE" if head.get("ObjectLockMode") == "COMPLIANCE" else self.lock_mode
        with self._translating(key, "retention"):
            self.client.put_object_retention(
                Bucket=self.bucket,
                Key=self._k(key),
                Retention={"Mode": mode, "RetainUntilDate": until},
                **self._version(head),
            )

    def set_legal_hold(self, key: str, on: bool) -> None:
        if not self.supports_object_lock:
            raise RetentionError(f"bucket {self.bucket!r} has no Object Lock: cannot hold {key!r}")
        head = self._head_raw(key, "legal hold")
        if head is None:
            raise ObjectNotFound(key, self.url)
        with self._translating(key, "legal hold"):
            self.client.put_object_legal_hold(
                Bucket=self.bucket,
                Key=self._k(key),
                LegalHold={"Status": "ON" if on else "OFF"},
                **self._version(head),
            )
