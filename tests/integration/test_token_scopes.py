"""A token's scopes bind on every state-changing route (finding 2): the system administrator's token scoped to
`document.read` is refused (403) by every POST/PUT/PATCH/DELETE in /openapi.json, with a body that validates and
resources that exist, so the refusal is the scope rule's and not a 404 or a 422. New routes of any team are caught
here: a route the example builder does not know fails the test until it is given an example."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from archive import accounts, sessions
from archive.db import utcnow
from archive.ingest import ingest_file
from archive.signing_models import SigningSession
from hoso.app import create_app
from retention.disposal import propose_batch
from retention.holds import place_hold
from retention.inspection_models import InspectionPackage
from tests.factories import add_person, make_archive, make_pdf

# the only state-changing routes a document.read token may call
EXEMPT = {
    ("POST", "/api/v1/auth/login"),  # anonymous: it takes no credential, so there is no scope to apply
    ("POST", "/api/v1/auth/logout"),  # ends only the caller's web session; a bearer token is not affected
}
UNSAFE = {"post", "put", "patch", "delete"}

# field name -> a value that validates and names something that exists (where the field names a thing)
FIELD_VALUES: dict[str, Any] = {
    "school": "T01",
    "organisation": "T01",
    "type": "so-ghi-dau-bai",
    "year": "2018-2019",
    "role": "gvcn",
    "reason": "inspection",
    "reference": "QĐ 1/QĐ-TTr",
    "kind": "truong",
    "level": "THPT",
    "parent": "79",
    "scopes": "document.read",  # no wider than the caller's own: the scope rule itself must refuse
    "old_password": "mat-khau-cu-rat-dai-2025",
    "new_password": "mat-khau-moi-rat-dai-2025",
    "password": "mat-khau-moi-rat-dai-2025",
    "code": "123456",
    "certificate": "MIIB",
    "signature": "AAAA",
}


@pytest.fixture
def world(tmp_path: Path) -> Any:
    a = make_archive(tmp_path)
    ids: dict[str, Any] = {}
    pdf = make_pdf(tmp_path / "a.pdf", extra=uuid.uuid4().bytes)
    doc = ingest_file(a, pdf, filename="a.pdf", school="T01", type_code="so-ghi-dau-bai", year="2018-2019")
    held = ingest_file(
        a, make_pdf(tmp_path / "b.pdf", extra=uuid.uuid4().bytes), filename="b.pdf", school="T01",
        type_code="so-ghi-dau-bai", year="2023-2024",
    )  # fmt: skip
    with a.sessions() as s, s.begin():
        admin = accounts.get_user(s, "admin")
        add_person(s, "gv", ("gvbm", "T01"), home="T01")
        ids["read"] = accounts.create_token(s, user=admin, scopes="document.read").secret
        everything = accounts.create_token(s, user=admin, scopes="*")
        ids["all"], ids["token_id"] = everything.secret, everything.token.id
        ids["session_id"] = sessions.create_session(s, admin, ttl_hours=1).session.id
        ids["batch_id"] = propose_batch(s, school="T01", user=admin).id
        row = SigningSession(
            document_id=doc.document.id, base_version=1, certificate_sha256="0" * 64, level="B-B", state="{}",
            request="{}", created_by_id=admin.id, expires_at=utcnow() + timedelta(hours=1),
        )  # fmt: skip
        s.add(row)
        s.flush()
        ids["signing_session"] = row.id
        package = InspectionPackage(
            actor="admin", created_by_id=admin.id, selection={}, documents=1, zip_size=0, report_sha256="0" * 64,
            entries={"files": [{"name": "a.pdf", "kind": "document", "document_id": doc.document.id}]},
        )  # fmt: skip
        s.add(package)
        s.flush()
        ids["package_id"] = package.id
        admin_user = admin
    ids["hold_id"] = place_hold(
        a, document_id=held.document.id, reason="complaint", reference="Đơn 1", user=admin_user
    ).hold.id
    ids["doc_id"] = doc.document.id  # due for disposal, in the open batch
    ids["document_id"] = held.document.id  # not due: a hold placed on it does not stop the batch
    ids["username"] = "gv"
    ids["pdf"] = pdf
    yield a, ids
    a.close()


def resolved(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return resolved(components[schema["$ref"].split("/")[-1]], components)
    options = [o for o in schema.get("anyOf", ()) if o.get("type") != "null"]
    return resolved(options[0], components) if options else schema


def example(schema: dict[str, Any], components: dict[str, Any], ids: dict[str, Any]) -> Any:
    """A value for `schema` that validates, preferring the known values of FIELD_VALUES by field name (an enum's own
    values win: `level` is a school level for an organisation and a signature level for signing)."""
    if "$ref" in schema:
        return example(components[schema["$ref"].split("/")[-1]], components, ids)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return example(options[0], components, ids) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        out = {}
        for name, prop in schema.get("properties", {}).items():
            known = name in FIELD_VALUES or name in ids
            if "enum" in resolved(prop, components):
                out[name] = example(prop, components, ids)
            elif known:
                value = ids.get(name, FIELD_VALUES.get(name))
                out[name] = str(value) if resolved(prop, components).get("type") == "string" else value
            elif name in schema.get("required", ()):
                out[name] = example(prop, components, ids)
        return out
    if kind == "array":  # as few items as the schema allows
        return [example(schema.get("items", {}), components, ids) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "binary" or schema.get("contentMediaType") == "application/octet-stream":
        return b"%PDF-1.7"
    return "x" + uuid.uuid4().hex[:6]


def call(
    client: TestClient, method: str, path: str, op: dict[str, Any], components: dict[str, Any], ids: dict
) -> Any:
    path_values = {
        "username": "gv",
        "role": "gvbm",
        "organisation": "T01",
        "session_id": ids["signing_session"]
        if path.startswith("/api/v1/signing-sessions")
        else ids["session_id"],
        "token_id": ids["token_id"],
        "hold_id": ids["hold_id"],
        "batch_id": ids["batch_id"],
        "doc_id": ids["doc_id"],
        "certificate_id": 1,
        "type_code": "hoc-ba",
        "code": "T01",
        "year": "2024-2025",
        "class_name": "10A1",
        "teaching_id": 1,
        "group_name": "Tổ Toán",
        "package_id": ids["package_id"],
        "account_id": 1,
        "correction_id": 1,
    }

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in path_values:
            raise AssertionError(f"no example for path parameter {name} of {method} {path}")
        return str(path_values[name])

    url = re.sub(r"\{([^}]+)\}", value, path)
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = example(content["application/json"]["schema"], components, ids)
        return client.request(method, url, json=body)
    if "multipart/form-data" in content:
        form = example(content["multipart/form-data"]["schema"], components, ids)
        files = {}
        for name, val in list(form.items()):
            if isinstance(val, bytes):
                del form[name]
                csv = b"code,name,kind,level,parent\nT98,Truong thu,truong,THPT,79\n"
                files[name] = (
                    ("a.pdf", ids["pdf"].read_bytes(), "application/pdf")
                    if path.endswith(("/documents", "/versions"))  # an upload, or a record's new version
                    else ("orgs.csv", csv, "text/csv")
                )
        return client.request(method, url, data=form, files=files)
    return client.request(method, url)


def unsafe_routes(client: TestClient) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, Any]]:
    schema = client.get("/openapi.json").json()
    routes = [
        (method.upper(), path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in UNSAFE and path.startswith("/api/v1")
    ]
    return routes, schema.get("components", {}).get("schemas", {})


def test_a_document_read_token_changes_nothing(world: Any):
    a, ids = world
    client = TestClient(create_app(a.settings, archive=a), headers={"Authorization": f"Bearer {ids['read']}"})
    routes, components = unsafe_routes(client)
    assert len(routes) > 20  # the schema really was read
    assert {(m, p) for m, p, _ in routes} >= EXEMPT
    not_refused = []
    for method, path, op in routes:
        if (method, path) in EXEMPT:
            continue
        r = call(client, method, path, op, components, ids)
        if r.status_code != 403:
            not_refused.append((method, path, r.status_code, r.text[:160]))
    assert not_refused == [], "\n".join(map(str, not_refused))


def test_a_full_token_of_the_same_person_is_not_refused_by_the_scope_rule(world: Any):
    a, ids = world
    client = TestClient(create_app(a.settings, archive=a), headers={"Authorization": f"Bearer {ids['all']}"})
    routes, components = unsafe_routes(client)
    retention = [(m, p, op) for m, p, op in routes if p.startswith("/api/v1/retention/")]
    assert len(retention) >= 5
    answers = {(m, p): call(client, m, p, op, components, ids) for m, p, op in retention}
    assert not [r.text for r in answers.values() if r.status_code >= 500]
    assert {k: r.status_code for k, r in answers.items() if r.status_code in (401, 403, 422)} == {
        ("POST", "/api/v1/retention/batches"): 422  # everything due is already in the open batch
    }
    assert answers[("POST", "/api/v1/retention/batches")].json()["error"] == "nothing_due"
    assert answers[("POST", "/api/v1/retention/batches/{batch_id}/approve")].json()["status"] == "approved"
    assert answers[("POST", "/api/v1/retention/batches/{batch_id}/execute")].json()["status"] == "executed"
