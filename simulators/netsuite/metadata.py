"""The metadata catalog: `GET /services/rest/record/v1/metadata-catalog[/<record>]`.

Three renderings, chosen by `Accept` (vendor facts §3.11): `application/json` (links to the
others), `application/schema+json` (JSON Schema of one record type) and `application/swagger+json`
(OpenAPI 3.0 of the selected record types). The tenant's custom fields appear automatically with
`x-ns-custom-field: true`; filterable fields are listed in `x-ns-filterable`.
"""

from __future__ import annotations

from typing import Any

from simulators.core.schemas import FieldDef
from simulators.netsuite.models import RecordType, StdField

SCHEMA_JSON = "application/schema+json"
SWAGGER_JSON = "application/swagger+json"
JSON_SCHEMA_DRAFT = "https://json-schema.org/draft-06/hyper-schema#"
REFERENCE = {"type": "object", "properties": {
    "id": {"title": "Internal identifier", "type": "string"},
    "refName": {"title": "Reference Name", "type": "string", "readOnly": True},
    "externalId": {"title": "External identifier", "type": "string"},
    "links": {"title": "Links", "type": "array", "readOnly": True,
              "items": {"$ref": "/services/rest/record/v1/metadata-catalog/nsLink"}}}}
STD_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"}, "bool": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "ref": REFERENCE, "select": REFERENCE,
    "sublist": {"type": "object", "properties": {"items": {"type": "array"}}},
}
CUSTOM_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "textarea": {"type": "string"},
    "email": {"type": "string", "format": "email"}, "phone": {"type": "string"},
    "url": {"type": "string", "format": "uri"}, "id": {"type": "string"},
    "int": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "currency": {"type": "number", "format": "double"},
    "percent": {"type": "number", "format": "double"},
    "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "picklist": REFERENCE, "reference": REFERENCE,
    "multipicklist": {"type": "object", "properties": {
        "items": {"type": "array", "items": REFERENCE}}},
}


def catalog_links(base: str, rtype: RecordType) -> dict[str, Any]:
    href = f"{base}/services/rest/record/v1/metadata-catalog/{rtype.name}"
    return {"name": rtype.name, "links": [
        {"rel": "canonical", "href": href, "mediaType": "application/json"},
        {"rel": "alternate", "href": href, "mediaType": SWAGGER_JSON},
        {"rel": "alternate", "href": href, "mediaType": SCHEMA_JSON},
        {"rel": "describes", "href": f"{base}/services/rest/record/v1/{rtype.path}"}]}


def catalog(base: str, types: list[RecordType], self_href: str) -> dict[str, Any]:
    return {"items": [catalog_links(base, t) for t in types],
            "links": [{"rel": "self", "href": self_href}]}


def _std_property(spec: StdField) -> dict[str, Any]:
    prop = {"title": spec.label, **STD_TYPES[spec.kind], "nullable": True}
    if spec.readonly:
        prop["readOnly"] = True
    return prop


def _custom_property(fdef: FieldDef) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": fdef.label, **CUSTOM_TYPES[fdef.type], "nullable": True,
                            "x-ns-custom-field": True}
    if fdef.description:
        prop["description"] = fdef.description
    if fdef.length is not None and prop.get("type") == "string":
        prop["maxLength"] = fdef.length
    if fdef.type in ("picklist", "multipicklist"):
        # A custom list: value ids are the 1-based positions of the schema's values.
        prop["x-ns-list-values"] = [{"id": str(n), "refName": v}
                                    for n, v in enumerate(fdef.values, 1)]
    return prop


def json_schema(base: str, rtype: RecordType) -> dict[str, Any]:
    props: dict[str, Any] = {
        "links": {"title": "Links", "type": "array", "readOnly": True},
        "id": {"title": "Internal ID", "type": "string", "readOnly": True},
        **{name: _std_property(spec) for name, spec in rtype.fields.items()},
    }
    if rtype.custom is not None:
        props.update({f.name: _custom_property(f) for f in rtype.custom.fields.values()})
    filterable = [n for n in props if n != "links"
                  and not (n in rtype.fields and rtype.fields[n].kind == "sublist")]
    required = [f.name for f in rtype.custom.required_fields()] if rtype.custom else []
    schema: dict[str, Any] = {
        "type": "object", "properties": props, "x-ns-filterable": filterable,
        "$schema": JSON_SCHEMA_DRAFT, "title": rtype.label,
        "links": [{"rel": "describes",
                   "href": f"{base}/services/rest/record/v1/{rtype.path}"}],
    }
    if required:
        schema["required"] = required
    return schema


def openapi(base: str, types: list[RecordType]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rtype in types:
        ref = {"$ref": f"#/components/schemas/{rtype.name}"}
        body = {"content": {"application/json": {"schema": ref}}, "required": True}
        one = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        no_content = {"204": {"description": "No Content"}}
        tag = [rtype.name]
        paths[f"/{rtype.name}"] = {
            "get": {"tags": tag, "summary": "Get list of records.",
                    "responses": {"200": {"description": "OK"}}},
            "post": {"tags": tag, "summary": "Insert record.", "requestBody": body,
                     "responses": no_content}}
        paths[f"/{rtype.name}/{{id}}"] = {
            "get": {"tags": tag, "summary": "Get record.", "parameters": [one], "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": ref}}}}},
            "patch": {"tags": tag, "summary": "Update record.", "parameters": [one],
                      "requestBody": body, "responses": no_content},
            "put": {"tags": tag, "summary": "Insert or update record.", "parameters": [one],
                    "requestBody": body, "responses": no_content},
            "delete": {"tags": tag, "summary": "Remove record.", "parameters": [one],
                       "responses": no_content}}
        schema = json_schema(base, rtype)
        schemas[rtype.name] = {k: v for k, v in schema.items() if k not in ("$schema", "links")}
    return {"openapi": "3.0.1",
            "info": {"title": "NetSuite REST Record API", "version": "v1"},
            "servers": [{"url": f"{base}/services/rest/record/v1"}],
            "paths": paths, "components": {"schemas": schemas}}
