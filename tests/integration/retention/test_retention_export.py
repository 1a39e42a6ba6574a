"""Metadata export as XML (Thông tư 02/2019): written to every replica, tracked as an `export` object, idempotent."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

from sqlalchemy import select

from archive.context import Archive
from archive.models import StoredObject
from retention.backup import NAMESPACE, export_metadata

from .conftest import ingest_pdf

NS = {"m": NAMESPACE}


def test_export_writes_dossier_xml_to_every_replica(catalog: Archive, tmp_path: Path):
    a = catalog
    r1 = ingest_pdf(a, tmp_path, year="2018-2019", title="Sổ ghi đầu bài 12A3")
    r2 = ingest_pdf(a, tmp_path, year="2018-2019", title="Sổ ghi đầu bài 12A4")
    r3 = ingest_pdf(a, tmp_path, type_code="hoc-ba", school="C01", year="2024-2025")
    out = export_metadata(a, date(2026, 3, 1))
    assert out.created and out.key == "exports/metadata/2026-03-01.xml"
    assert (out.dossiers, out.documents) == (2, 3)
    assert [x.state for x in out.replicas] == ["ok", "ok", "ok"]
    for store in a.replicas.stores:
        data = store.get(out.key).read()
        assert hashlib.sha256(data).hexdigest() == out.sha256
    root = ET.fromstring(data)
    files = {f.findtext("m:FileCode", namespaces=NS): f for f in root.findall("m:File", NS)}
    assert set(files) == {"T01.2019.so-ghi-dau-bai", "C01.2025.hoc-ba"}
    f = files["T01.2019.so-ghi-dau-bai"]
    assert f.findtext("m:OrganId", namespaces=NS) == "T01"
    assert f.findtext("m:FileCatalog", namespaces=NS) == "2019"
    assert f.findtext("m:DocTotal", namespaces=NS) == "2"
    assert f.findtext("m:Maintenance", namespaces=NS) == "05 năm"  # TT 27/2016 Mục 58, THPT
    assert files["C01.2025.hoc-ba"].findtext("m:Maintenance", namespaces=NS) == "Vĩnh viễn (chưa xác nhận)"
    docs = {d.get("id"): d for d in root.iter(f"{{{NAMESPACE}}}Document")}
    assert set(docs) == {r1.document.id, r2.document.id, r3.document.id}
    d1 = docs[r1.document.id]
    assert d1.findtext("m:Subject", namespaces=NS) == "Sổ ghi đầu bài 12A3"
    assert d1.findtext("m:DisposableFrom", namespaces=NS) == "2025-01-01"
    v = d1.find("m:Version", NS)
    assert v is not None and v.get("sha256") == r1.version.sha256 and v.get("size") == str(r1.version.size)
    orgs = {o.get("code"): o.get("parent") for o in root.iter(f"{{{NAMESPACE}}}Organisation")}
    assert orgs == {"79": "", "79-Q1": "79", "T01": "79", "C01": "79-Q1"}
    with a.sessions() as s:
        obj = s.scalar(select(StoredObject).where(StoredObject.key == out.key))
        assert obj is not None and obj.kind == "export" and obj.sha256 == out.sha256
        assert sorted(c.state for c in obj.copies) == ["ok", "ok", "ok"]


def test_export_is_once_per_day(catalog: Archive, tmp_path: Path):
    ingest_pdf(catalog, tmp_path)
    first = export_metadata(catalog, date(2026, 3, 1))
    ingest_pdf(catalog, tmp_path)  # the catalog changes, the day's file does not
    again = export_metadata(catalog, date(2026, 3, 1))
    assert not again.created and again.sha256 == first.sha256
    assert export_metadata(catalog, date(2026, 3, 2)).created
