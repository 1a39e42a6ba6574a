"""/openapi.json describes every answer of /api/v1 so that clients can be generated from it: each 2xx body is a model
(a `$ref` to a schema with its properties, or a list of them; never an empty `{}` nor a free-form object), 204s have
no body, and the two streamed downloads name their media types. New routes of any team are caught here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from hoso.app import create_app
from tests.factories import make_settings

METHODS = {"get", "post", "put", "patch", "delete"}
# attachments streamed as they are read, not JSON: their media types are described instead of a schema
STREAMED = {
    ("get", "/api/v1/documents/{doc_id}/content"),
    ("get", "/api/v1/audit/export"),
    ("get", "/api/v1/inspection/packages/{package_id}/content"),
    ("post", "/api/v1/batch/zip"),  # one JSON line per ZIP entry as it is stored
    ("get", "/api/v1/overview/report"),  # the sealed PDF reports of the year overview
    ("get", "/api/v1/overview/schools/report"),
}


def _openapi(tmp_path: Path) -> dict[str, Any]:
    client = TestClient(create_app(make_settings(tmp_path)), base_url="https://testserver")
    r = client.get("/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/v1/")
        for method, op in ops.items()
        if method in METHODS
    ]


def _model(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """The body is a model with named fields (a resolvable $ref), or a list of models."""
    if schema.get("type") == "array":
        return _model(schema.get("items", {}), components)
    name = schema.get("$ref", "").removeprefix("#/components/schemas/")
    return name in components and bool(components[name].get("properties"))


def test_every_json_answer_has_a_schema(tmp_path: Path):
    doc = _openapi(tmp_path)
    components = doc["components"]["schemas"]
    operations = _operations(doc)
    assert len(operations) > 40  # the whole API was read
    untyped = []
    for method, path, op in operations:
        if (method, path) in STREAMED:
            continue
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert ok, (method, path)
        for code, response in ok.items():
            if code == "204":
                assert "content" not in response, (method, path)
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if not _model(schema, components):
                untyped.append((method.upper(), path, code, schema))
    assert untyped == []


def test_streamed_downloads_name_their_media_types(tmp_path: Path):
    doc = _openapi(tmp_path)
    for method, path in STREAMED:
        content = doc["paths"][path][method]["responses"]["200"]["content"]
        assert "application/json" not in content or path == "/api/v1/audit/export", content
        assert content, (method, path)
    export = doc["paths"]["/api/v1/audit/export"]["get"]["responses"]["200"]["content"]
    assert {"text/csv", "application/json"} <= set(export)


def test_lists_are_lists_of_models(tmp_path: Path):
    doc = _openapi(tmp_path)
    schema = doc["paths"]["/api/v1/organisations"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"]["type"] == "array"
    assert schema["schema"]["items"] == {"$ref": "#/components/schemas/OrgOut"}
    upload = doc["paths"]["/api/v1/documents"]["post"]["responses"]
    for code in ("200", "201"):  # a new document, or the one already stored with the same bytes
        ref = upload[code]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/UploadedDocument"
