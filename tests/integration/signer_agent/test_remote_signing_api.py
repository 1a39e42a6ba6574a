"""/api/v1/me/remote-signing against the CSC simulator: link, sign (a record that cannot be signed is reported, the
others go on), the error shape of a forged state and of a declined confirmation, unlink; a token without a signing
scope changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from archive.context import Archive
from hoso.app import create_app
from tests.csc_simulator import CscSimulator
from tests.factories import bearer
from tests.integration.signer_agent.remote_kit import PROVIDER, upload

API = "/api/v1/me/remote-signing"


@pytest.fixture
def client(school: Archive) -> Iterator[TestClient]:
    with TestClient(create_app(school.settings, archive=school), headers=bearer(school, "gv.cn")) as c:
        yield c


def _link(client: TestClient, sim: CscSimulator) -> dict[str, Any]:
    r = client.post(API + "/links", json={"provider": PROVIDER})
    assert r.status_code == 200, r.text
    back = sim.answer(r.json()["authorize_url"])
    done = client.post(API + "/callback", json=back)
    assert done.status_code == 200, done.text
    [account] = done.json()["linked"]
    return account


def test_link_sign_and_unlink_through_the_api(
    school: Archive, sim: CscSimulator, client: TestClient, tmp_path: Path
):
    assert client.get(API).json() == {"providers": [{"key": PROVIDER, "name": "SmartCA Thử"}], "accounts": []}
    account = _link(client, sim)
    assert account["credential_id"] == "cred-1" and account["provider_name"] == "SmartCA Thử"
    assert [a["id"] for a in client.get(API).json()["accounts"]] == [account["id"]]

    doc_id = upload(school, tmp_path, "Sổ theo dõi 10A1 — API")
    started = client.post(
        API + "/signatures", json={"account_id": account["id"], "document_ids": [doc_id, "khong-co"]}
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert len(body["sessions"]) == 1
    assert [(i["document_id"], i["error"]) for i in body["refused"]] == [("khong-co", "document_not_found")]
    done = client.post(API + "/callback", json=sim.answer(body["authorize_url"])).json()
    by_doc = {i["document_id"]: i for i in done["items"]}
    assert by_doc[doc_id]["version"] == 2 and by_doc["khong-co"]["version"] is None and sim.signed == 1

    assert client.delete(f"{API}/accounts/{account['id']}").status_code == 204
    gone = client.delete(f"{API}/accounts/{account['id']}")
    assert gone.status_code == 404 and gone.json()["error"] == "remote_account_not_found"


def test_refusals_have_the_error_shape(
    school: Archive, sim: CscSimulator, client: TestClient, tmp_path: Path
):
    forged = client.post(API + "/callback", json={"state": "fernet:gAAAA", "code": "x"})
    assert forged.status_code == 422 and forged.json()["error"] == "remote_state_invalid"
    assert "không hợp lệ" in forged.json()["message_vi"]
    unknown = client.post(API + "/links", json={"provider": "khong-co"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "remote_provider_unknown"
    r = client.post(API + "/links", json={"provider": PROVIDER})
    declined = client.post(API + "/callback", json=sim.answer(r.json()["authorize_url"], action="refuse"))
    assert declined.status_code == 422 and declined.json()["error"] == "remote_denied"
    assert client.get(API).json()["accounts"] == []


def test_a_token_without_a_signing_scope_changes_nothing(school: Archive, sim: CscSimulator):
    app = create_app(school.settings, archive=school)
    with TestClient(app, headers=bearer(school, "gv.cn", scopes="document.read")) as reader:
        r = reader.post(API + "/links", json={"provider": PROVIDER})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert reader.get(API).status_code == 200  # looking is allowed
