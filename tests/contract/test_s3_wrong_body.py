"""A body damaged between hoso's hash and the server never counts as a copy, on moto and on Ceph RGW.

RGW (like moto) neither checks the ChecksumSHA256 we send nor returns a stored checksum, so the server's word is not
enough: S3Store holds the server to the ETag it returns (the MD5 of what it stored) and deletes a copy that is not
ours, and the replica set re-reads and hashes every copy itself. The damage is made in boto3's request just before it
is signed, where a faulty proxy, NIC or memory would make it: the signature then covers the damaged bytes, and the
SHA-256 header still names ours.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from storage import ChecksumMismatch, ObjectNotFound, ReplicaSet
from storage.memory import MemoryStore
from storage.s3 import S3Store
from tests.contract.backends import new_bucket
from tests.s3fixtures import S3Server

pytestmark = pytest.mark.s3


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def damage_on_the_way(store: S3Store, operation: str) -> list[int]:
    """Flip one bit of every `operation` body after hoso hashed it and before boto3 signs it; returns a counter."""
    damaged: list[int] = []

    def flip(request: Any, **_: Any) -> None:
        body = request.body
        raw = body.read() if hasattr(body, "read") else bytes(body)
        request.data = bytes([raw[0] ^ 0x01]) + raw[1:]
        damaged.append(len(raw))

    store.client.meta.events.register(f"before-sign.s3.{operation}", flip)
    return damaged


@pytest.mark.parametrize(
    ("operation", "size"),
    [("PutObject", 300 * 1024), ("UploadPart", 6 * 1024 * 1024)],  # one PUT; two parts of a multipart upload
)
def test_a_body_damaged_on_the_way_is_refused_and_not_left_behind(
    s3_server: S3Server, operation: str, size: int
) -> None:
    bucket = new_bucket(s3_server.client)
    url = f"s3://{bucket}?endpoint_url={s3_server.endpoint}&part_size={5 * 1024 * 1024}"
    store = S3Store(url)
    damaged = damage_on_the_way(store, operation)
    data = os.urandom(size)
    key = f"content/{sha(data)[:2]}/{sha(data)}"

    # the replica set never counts it: it is one of two copies, the other one good
    rs = ReplicaSet([MemoryStore(f"memory://wrong-body-{bucket}"), store], min_copies=1)
    try:
        results = rs.put_bytes(key, data, sha(data))
    finally:
        rs.close()
    assert damaged, "the damage hook never ran: the test proves nothing"
    assert [r.state for r in results] == ["ok", "corrupt"]
    if s3_server.kind == "moto" and operation == "PutObject":
        # moto echoes the checksum we sent and its ETag is not compared then: only the read-back caught it, and the
        # damaged copy stays for fixity to repair
        assert store.head(key).size == size
    else:
        assert "reported by S3" in results[1].detail, results[
            1
        ].detail  # the ETag (RGW) or the composite checksum
        with pytest.raises(ObjectNotFound):  # nothing with our sha256 in its metadata stays under the key
            store.head(key)
        with pytest.raises(ChecksumMismatch):
            store.put(key, io.BytesIO(data), sha(data))

    # once the path is healthy again the same bytes are written (a repair where a bad copy was left) and verify
    clean = S3Store(url)
    clean.put(key, io.BytesIO(data), sha(data), replace_corrupt=True)
    with clean.get(key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha(data)


@pytest.mark.rgw
def test_rgw_accepts_a_wrong_checksum_sha256_and_returns_none(rgw_client: Any) -> None:
    """Why the test above matters on RGW: the server itself does not check. If a future Ceph starts checking, this
    fails, and the README's note on RGW can be changed."""
    bucket = new_bucket(rgw_client)
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    resp = rgw_client.put_object(Bucket=bucket, Key="k", Body=b"our bytes", ChecksumSHA256=wrong)
    assert "ChecksumSHA256" not in resp
    head = rgw_client.head_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in head
    assert rgw_client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"our bytes"


def test_a_locked_version_cannot_be_deleted_at_the_server(s3_server: S3Server) -> None:
    """COMPLIANCE retention and legal holds are enforced by the server itself, not only by hoso's own refusals."""
    bucket = new_bucket(s3_server.client, object_lock=True)
    store = S3Store(f"s3://{bucket}?endpoint_url={s3_server.endpoint}")
    store.put("held", io.BytesIO(b"h"), sha(b"h"))
    store.put("kept", io.BytesIO(b"k"), sha(b"k"))
    store.set_retention("kept", datetime.now(UTC) + timedelta(days=2))
    store.set_legal_hold("held", True)
    for key in ("kept", "held"):
        version = s3_server.client.head_object(Bucket=bucket, Key=key)["VersionId"]
        with pytest.raises(ClientError) as ei:
            s3_server.client.delete_object(
                Bucket=bucket, Key=key, VersionId=version, BypassGovernanceRetention=True
            )
        assert ei.value.response["Error"]["Code"] == "AccessDenied"
        assert s3_server.client.get_object(Bucket=bucket, Key=key, VersionId=version)["Body"].read() in (
            b"h",
            b"k",
        )
