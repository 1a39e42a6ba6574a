import hashlib

import pytest

from storage import NoGoodCopy, NotEnoughReplicas, ReplicaSet, content_key
from storage.memory import MemoryStore


def _set(n=3, **kw):
    stores = [MemoryStore(f"memory://r{i}") for i in range(n)]
    return stores, ReplicaSet(stores, **kw)


def test_put_writes_every_copy_and_reads_back_identical():
    stores, rs = _set()
    data = b"so theo doi" * 1000
    sha = hashlib.sha256(data).hexdigest()
    results = rs.put_bytes(content_key(sha), data, sha)
    assert [r.state for r in results] == ["ok", "ok", "ok"]
    store, chunks = rs.open_verified(content_key(sha), sha)
    assert b"".join(chunks) == data
    assert store is stores[0]


def test_read_falls_back_and_reports_corrupt_copy():
    stores, rs = _set()
    data = b"hoc ba" * 100
    sha = hashlib.sha256(data).hexdigest()
    key = content_key(sha)
    rs.put_bytes(key, data, sha)
    stores[0].corrupt(key, b"X" + data[1:])
    bad = []
    store, chunks = rs.open_verified(key, sha, on_bad=bad.append)
    assert b"".join(chunks) == data
    assert store is stores[1]
    assert [(b.store, b.state) for b in bad] == [("memory://r0", "corrupt")]


def test_no_good_copy_raises():
    stores, rs = _set(2)
    data = b"x"
    sha = hashlib.sha256(data).hexdigest()
    rs.put_bytes("k", data, sha)
    for s in stores:
        s.corrupt("k", b"y")
    with pytest.raises(NoGoodCopy):
        rs.open_verified("k", sha)


def test_store_down_fails_write_when_all_required():
    stores, rs = _set()
    stores[2].available = False
    data = b"abc"
    sha = hashlib.sha256(data).hexdigest()
    with pytest.raises(NotEnoughReplicas) as ei:
        rs.put_bytes("k", data, sha)
    assert [r.state for r in ei.value.results] == ["ok", "ok", "unreachable"]


def test_min_copies_two_tolerates_one_down():
    stores, rs = _set(min_copies=2)
    stores[1].available = False
    data = b"abc"
    sha = hashlib.sha256(data).hexdigest()
    results = rs.put_bytes("k", data, sha)
    assert sum(r.ok for r in results) == 2


def test_put_file_gives_every_store_the_whole_file(tmp_path):
    stores, rs = _set()
    data = b"ke hoach bai day" * 100_000  # larger than one chunk, so a shared stream would leave stores short
    path = tmp_path / "upload"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert [r.state for r in rs.put_file(content_key(sha), path, sha)] == ["ok", "ok", "ok"]
    for s in stores:
        with s.get(content_key(sha)) as f:
            assert f.read() == data


def test_put_bytes_replaces_different_bytes_only_when_told_they_are_invalid():
    stores, rs = _set()
    orphan, manifest = b"orphan manifest", b"the committed manifest"
    rs.put_bytes("m", orphan, hashlib.sha256(orphan).hexdigest())
    sha = hashlib.sha256(manifest).hexdigest()
    with pytest.raises(NotEnoughReplicas):
        rs.put_bytes("m", manifest, sha)
    assert [r.state for r in rs.put_bytes("m", manifest, sha, replace_invalid=True)] == ["ok", "ok", "ok"]
    for s in stores:
        with s.get("m") as f:
            assert f.read() == manifest


@pytest.mark.parametrize("whole_read", [1 << 20, 16], ids=["read-whole", "streamed"])
def test_both_read_paths_skip_a_damaged_copy_and_serve_the_catalog_bytes(monkeypatch, whole_read):
    # small copies are served from the one read that was hashed; larger ones are hashed, then streamed and re-hashed
    monkeypatch.setattr("storage.replicas.WHOLE_READ", whole_read)
    stores, rs = _set()
    data = b"so dang bo " * 50
    sha = hashlib.sha256(data).hexdigest()
    rs.put_bytes("k", data, sha)
    stores[0].corrupt("k", data[:-1] + b"!")
    stores[1].corrupt("k", data + b"tail")  # longer than the catalog's file: never served either
    bad = []
    store, chunks = rs.open_verified("k", sha, on_bad=bad.append)
    assert store is stores[2]
    assert b"".join(chunks) == data
    assert [b.state for b in bad] == ["corrupt", "corrupt"]


def test_a_streamed_copy_changed_after_its_check_is_cut_off(monkeypatch):
    from storage import ChecksumMismatch

    monkeypatch.setattr("storage.replicas.WHOLE_READ", 16)
    stores, rs = _set(1)
    data = b"ke hoach bai day " * 50
    sha = hashlib.sha256(data).hexdigest()
    rs.put_bytes("k", data, sha)
    _, chunks = rs.open_verified("k", sha)
    stores[0].corrupt("k", b"X" + data[1:])
    with pytest.raises(ChecksumMismatch):
        b"".join(chunks)
