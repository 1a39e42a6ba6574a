"""WORM canary: prove, periodically, that stores with Object Lock really refuse to delete a retained object.

A bucket's Object Lock can be lost without anyone noticing (bucket recreated, wrong endpoint, a server that accepts
the retention call and ignores it). So for every store that says `supports_object_lock`, the canary writes a tiny
object, retains it for a short while, and then tries to delete it:

1. through the store (`delete` must raise RetentionError), and
2. straight at the server, bypassing the store's own client-side refusal, when the store offers `probe_server_delete`:
   our S3Store checks the lock date itself before deleting, so step 1 alone would pass even if the server no longer
   enforced anything. The server must answer "access denied".

If either delete succeeds, the store is not WORM: an alert is raised. Expired canaries are deleted on later runs.
"""

from __future__ import annotations

import hashlib
import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from archive.db import utcnow
from archive.settings import Settings
from storage import ObjectNotFound, RetentionError, StorageError, Store

from .alerts import send_alert

log = logging.getLogger("hoso.worm")

PREFIX = "_canary/worm/"
RETENTION = timedelta(hours=1)  # long enough to outlast the probe, short enough not to pile up


@dataclass(frozen=True)
class WormResult:
    store: str
    key: str | None
    protected: bool | None  # True: both deletes refused; False: a delete went through; None: could not test
    server_checked: bool  # whether the server itself was asked (not only the store's client-side check)
    detail: str
    expired_canaries_removed: int = 0


def canary_key(now: datetime) -> str:
    return f"{PREFIX}{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(4)}"


def check_store(store: Store, *, now: datetime | None = None, retention: timedelta = RETENTION) -> WormResult:
    now = now or utcnow()
    try:
        if not store.supports_object_lock:
            return WormResult(store.url, None, None, False, "no Object Lock on this store: nothing to prove")
    except StorageError as exc:
        return WormResult(store.url, None, None, False, f"could not ask the store: {exc}")
    removed = remove_expired(store, now)
    key = canary_key(now)
    data = f"hoso WORM canary {now.isoformat()}\n".encode()
    try:
        store.put(key, io.BytesIO(data), hashlib.sha256(data).hexdigest())
        store.set_retention(key, now + retention)
    except RetentionError as exc:
        # the store says it has Object Lock but will not lock anything: documents are not protected either
        return WormResult(store.url, key, False, False, f"the store refused a retention date: {exc}", removed)
    except StorageError as exc:
        return WormResult(store.url, key, None, False, f"could not write the canary: {exc}", removed)
    try:
        store.delete(key)
    except RetentionError:
        pass
    except StorageError as exc:
        return WormResult(store.url, key, None, False, f"delete failed for another reason: {exc}", removed)
    else:
        return WormResult(store.url, key, False, False, "the store deleted a retained object", removed)
    server = server_refuses_delete(store, key)
    if server is None:
        return WormResult(store.url, key, True, False, "the store refused the delete (client-side)", removed)
    refused, why = server
    if not refused:
        return WormResult(
            store.url, key, False, True, f"the server deleted a retained version: {why}", removed
        )
    return WormResult(store.url, key, True, True, f"refused by the store and by the server ({why})", removed)


def server_refuses_delete(store: Store, key: str) -> tuple[bool, str] | None:
    """Ask the server directly to delete `key` (S3 stores offer `probe_server_delete`); None when the store has no
    server to ask or it could not be asked."""
    probe = getattr(store, "probe_server_delete", None)
    if probe is None:
        return None
    try:
        refused, detail = probe(key)
    except StorageError as exc:
        log.warning("WORM probe on %s could not ask the server: %s", store.url, exc)
        return None
    return bool(refused), str(detail)


def remove_expired(store: Store, now: datetime) -> int:
    """Delete canaries whose retention has passed (a refused delete just waits for a later run)."""
    removed = 0
    try:
        keys = list(store.list(PREFIX))
    except StorageError:
        return 0
    for key in keys:
        try:
            info = store.head(key)
            if info.retain_until is not None and info.retain_until > now:
                continue
            store.delete(key)
            removed += 1
        except (ObjectNotFound, RetentionError):
            continue
        except StorageError as exc:
            log.warning("could not remove old canary %s from %s: %s", key, store.url, exc)
    return removed


def check_worm(
    settings: Settings, stores: Sequence[Store], *, now: datetime | None = None, alert: bool = True
) -> tuple[WormResult, ...]:
    results = tuple(check_store(s, now=now) for s in stores)
    failed = [r for r in results if r.protected is False]
    for r in results:
        log.info("WORM canary %s: %s", r.store, r.detail)
    if failed and alert:
        body = "\n".join(f"- {r.store}: {r.detail} (canary {r.key})" for r in failed)
        send_alert(
            settings,
            "Kho lưu trữ không còn chống xóa (WORM) / a store no longer enforces Object Lock",
            "Một đối tượng đang được khóa lưu giữ đã bị xóa được / a retained object could be deleted:\n"
            + body,
        )
    return results
