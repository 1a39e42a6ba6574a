"""signing/pyhanko_walk.py builds, for every revision, the same map of objects to the paths that reach them as the
pyHanko code it replaces (the map the difference analysis judges changes after signing by), on signed files and on
the attacked ones of attackfiles.py."""

from __future__ import annotations

import pytest
from pyhanko.pdf_utils.reader import HistoricalResolver

from signing import Pkcs12Signer, fast_parsing, pyhanko_walk, sign_pdf
from signing.validation import open_reader

from . import attackfiles
from .testkit import P12_PASSWORD

assert fast_parsing.install()
ORIGINAL = fast_parsing.ORIGINALS["_load_reverse_xref_cache"]


def maps(pdf: bytes, walk) -> list[dict]:
    reader, _, _ = open_reader(pdf)
    out = []
    for revision in range(reader.xrefs.total_revisions):
        resolver = reader.get_historical_resolver(revision)
        walk(resolver)
        out.append(resolver._indirect_object_access_cache)
    return out


@pytest.fixture(scope="module")
def signed(pki, pdf50) -> dict[str, bytes]:
    principal = Pkcs12Signer(str(pki.p12["principal"]), P12_PASSWORD)
    lta = sign_pdf(pdf50, principal, level="B-LTA", tsa_url=pki.tsa_url, trust_roots=[pki.root])
    form = sign_pdf(attackfiles.form_pdf(), principal, level="B-B")
    return {
        "b-lta, 50 pages": lta,
        "form filled after signing": attackfiles.set_field(form, "diem", b"10", value="10"),
        "page added after signing": attackfiles.append_page_update(lta),
        **{
            f"hidden update ({v})": attackfiles.append_hidden_update(lta, v)
            for v in attackfiles.HIDDEN_UPDATES
        },
    }


def test_the_walk_is_installed_over_the_original():
    assert HistoricalResolver._load_reverse_xref_cache is pyhanko_walk._load_reverse_xref_cache
    assert ORIGINAL.__module__ == "pyhanko.pdf_utils.reader"


def test_the_maps_are_the_originals(signed: dict[str, bytes]):
    for name, pdf in signed.items():
        ours = maps(pdf, pyhanko_walk._load_reverse_xref_cache)
        theirs = maps(pdf, ORIGINAL)
        assert ours == theirs, name
        assert sum(len(m) for m in ours) > 0, name
