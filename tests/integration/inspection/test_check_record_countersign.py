"""The principal countersigns the biên bản kiểm tra định kỳ: a check record is filed as a catalog document under each
school holding records, waits in that school's principal's inbox, is signed through the normal signing flow with
the principal's own certificate (dev PKI, registered), and then shows as countersigned."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asn1crypto import pem
from sqlalchemy import select

import signing
from archive import chains
from archive.certificates import register_certificate
from archive.context import Archive
from archive.db import utcnow
from archive.documents import get_document, open_content
from archive.models import Document, Organisation
from archive.signatures import finish_signing_session, setup_of, start_signing_session
from retention.check_record_filing import TYPE, countersignatures
from retention.check_records import make_check_record
from retention.fixity import full_run
from tests.factories import add_person

from .conftest import ingest, user


@pytest.fixture
def principal(world: Archive) -> Archive:
    add_person(
        world, "ht", ("hieu_truong", "T01"), home="T01", full_name=signing.devpki.PEOPLE["principal"][0]
    )
    dev = setup_of(world).dev_pki
    assert dev is not None
    with world.sessions() as s:
        owner = s.merge(user(world, "ht"))
        register_certificate(
            s, setup_of(world), actor=None, owner=owner,
            data=(dev.directory / "principal.cert.pem").read_bytes(),
        )  # fmt: skip
    return world


def test_principal_countersigns_the_check_record(principal: Archive) -> None:
    a = principal
    started = utcnow() - timedelta(seconds=5)
    ingest(a, "T01", "hoc-ba", "Học bạ 10A1", "10A1")
    full_run(a, retry_delay=0.01, alert=False)
    rec = make_check_record(a, start=started)

    ht = user(a, "ht")
    with a.sessions() as s:
        filed = list(s.scalars(select(Document).where(Document.type_code == TYPE)))
        # one copy, under the one school holding records
        assert [(d.school.code, d.current.sha256) for d in filed] == [("T01", rec.sha256)]  # type: ignore[union-attr]
        doc_id = filed[0].id
        inbox = chains.inbox(s, s.merge(ht))
        assert [d.id for _, d in inbox] == [doc_id]
        assert chains.status_of(s, doc_id) == ("waiting", "Chờ Hiệu trưởng ký")
        assert [c.signed for c in countersignatures(s, [rec.sha256])[rec.sha256]] == [False]

    dev = setup_of(a).dev_pki
    assert dev is not None
    der = bytes(pem.unarmor(dev.directory.joinpath("principal.cert.pem").read_bytes())[2])
    started_session = start_signing_session(a, doc_id, certificate=der, actor=ht)
    response = signing.sign_digest(
        started_session.request, signing.Pkcs12Signer(str(dev.signer_p12["principal"]), b"hoso-dev-test")
    )
    finish_signing_session(a, started_session.id, json.loads(response.to_json()), actor=ht)

    with a.sessions() as s:
        assert chains.status_of(s, doc_id) == ("complete", "Hoàn tất")
        assert chains.inbox(s, s.merge(ht)) == []
        (c,) = countersignatures(s, [rec.sha256])[rec.sha256]
        assert c.signed and c.school_code == "T01" and c.document_id == doc_id
        t01 = s.scalar(select(Organisation.id).where(Organisation.code == "T01"))
        others = s.scalar(select(Organisation.id).where(Organisation.code != "T01").limit(1))
        assert countersignatures(s, [rec.sha256], [others]) == {}  # another school's people do not see it
        assert len(countersignatures(s, [rec.sha256], [t01])[rec.sha256]) == 1
        doc = get_document(s, doc_id)
        assert len(doc.versions) == 2
    # the countersigned file carries both signatures: the system's seal, then the principal's
    content = open_content(a, doc_id)
    pdf = b"".join(content.chunks)
    report = signing.validate_pdf(pdf, setup_of(a).trust_roots)
    signed_by = [r.signer for r in report.signatures if r.kind == "signature"]
    assert report.verdict == "TOTAL_PASSED" and len(signed_by) == 2
    assert signing.devpki.PEOPLE["principal"][0] in (signed_by[1] or "")
