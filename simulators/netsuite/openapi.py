"""The fake NetSuite's published OpenAPI 3.1 document (`/_sim/openapi.json`).

Hand-maintained: the REST record API, SuiteQL, the metadata catalog and the OAuth 2.0 token
endpoint exactly as routes.py serves them, plus FastAPI's `/_sim/` control plane. Record types are
per account, so `/record/v1/{recordType}` is generic: the standard types are enumerated, custom
record types match `customrecord*`, and record bodies carry the standard fields (built from the
field tables in models.py, so they cannot drift) with custom fields (`custentity_*`, `custbody_*`,
`custrecord_*`, …) allowed by name pattern. Errors are NetSuite's problem-details body.
"""

from __future__ import annotations

from typing import Any

from simulators.core.openapi import generated_title, publish, ref
from simulators.netsuite import metadata, models, oauth2
from simulators.netsuite.errors import CONTENT_TYPE as ERROR_TYPE
from simulators.netsuite.routes import COLLECTION, MAX_LIMIT, RECORD, REST, SINGULAR

CUSTOM_FIELD = "^(" + "|".join(models.CUSTOM_PREFIXES) + ")"
RECORD_TYPES = ["customer", "invoice", "customerPayment", "currency"]
SUBLIST_LINES = {"item": "InvoiceItemLine", "apply": "PaymentApplyLine"}
SECURITY = [{"tba": []}, {"oauth2": []}]
INJECTED = (500, 502, 503, 504)


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def closed(properties: dict[str, Any], required: list[str] | None = None,
           **extra: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "additionalProperties": False,
              **extra}
    if required:
        schema["required"] = required
    return schema


# -- component schemas ---------------------------------------------------------------------------
def _common() -> dict[str, Any]:
    link = closed({"rel": {"type": "string"}, "href": {"type": "string", "format": "uri"}},
                  ["rel", "href"])
    links = {"type": "array", "items": ref("Link")}
    detail = closed({"detail": {"type": "string"}, "o:errorCode": {"type": "string"},
                     "o:errorPath": {"type": "string"}, "o:errorUrl": {"type": "string"},
                     "o:errorHeader": {"type": "string"},
                     "o:errorQueryParam": {"type": "string"}}, ["detail", "o:errorCode"])
    page = {"links": links, "count": {"type": "integer", "minimum": 0},
            "hasMore": {"type": "boolean"}, "offset": {"type": "integer", "minimum": 0},
            "totalResults": {"type": "integer", "minimum": 0}}
    return {
        "Link": link,
        "Error": closed({"type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
                         "status": {"type": "integer"},
                         "o:errorDetails": {"type": "array", "items": ref("ErrorDetail"),
                                            "minItems": 1}},
                        ["type", "title", "status", "o:errorDetails"],
                        description="NetSuite's error body (problem details)."),
        "ErrorDetail": detail,
        "OAuth2Error": closed({"error": {"type": "string", "enum": [
            "invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type",
            "invalid_scope"]}}, ["error"]),
        "OAuth2Token": closed({"access_token": {"type": "string"},
                               "expires_in": {"type": "string", "pattern": "^[0-9]+$"},
                               "token_type": {"const": "bearer"}},
                              ["access_token", "expires_in", "token_type"]),
        "Reference": closed({"links": links, "id": {"type": "string"},
                             "refName": {"type": "string"}}, ["links", "id"],
                            description="A reference to another record."),
        "Select": closed({"id": {"type": "string"}, "refName": {"type": "string"}}, ["id"]),
        "MultiSelect": closed({"links": links, "items": {"type": "array", "items": closed(
            {"id": {"type": "string"}, "refName": {"type": "string"}}, ["id"])}},
            ["links", "items"]),
        "CustomValue": {"description": "A custom field's value: a scalar, a list value or "
                                       "record reference, or a multi-select.",
                        "anyOf": [{"type": ["string", "number", "boolean"]}, ref("Reference"),
                                  ref("MultiSelect")]},
        "ReferenceInput": {"description": "An internal id, or an object with `id` or "
                                          "`externalId`.",
                           "anyOf": [{"type": "string"}, {"type": "integer"}, {
                               "type": "object",
                               "properties": {"id": {"type": ["string", "integer"]},
                                              "externalId": {"type": "string"},
                                              "refName": {"type": "string"}, "links": {}},
                               "anyOf": [{"required": ["id"]}, {"required": ["externalId"]}]}]},
        "SelectInput": {"anyOf": [{"type": "string"}, {"type": "integer"}, {
            "type": "object", "properties": {"id": {"type": ["string", "integer"]},
                                             "refName": {"type": "string"}},
            "required": ["id"]}]},
        "InvoiceItemLine": closed({
            "links": links, "line": {"type": "integer"}, "item": ref("Reference"),
            "quantity": {"type": "number"}, "rate": {"type": "number"},
            "amount": {"type": "number"}, "description": {"type": "string"}},
            ["links", "line", "item", "quantity", "rate", "amount"]),
        "PaymentApplyLine": closed({
            "links": links, "doc": ref("Reference"), "apply": {"type": "boolean"},
            "amount": {"type": "number"}, "type": {"type": "string"},
            "refNum": {"type": ["string", "null"]}, "total": {"type": "number"},
            "due": {"type": "number"}}, ["links", "doc", "apply", "amount"]),
        "InvoiceItemLineInput": closed({
            "item": ref("ReferenceInput"), "quantity": {"type": "number"},
            "rate": {"type": "number"}, "amount": {"type": "number"},
            "description": {"type": "string"}, "line": {"type": "integer"},
            **{name: {} for name in ("taxCode", "price", "department", "class", "location")}},
            ["item"], description="`amount`, or `rate` (× `quantity`, default 1), is needed."),
        "PaymentApplyLineInput": {"type": "object", "properties": {
            "doc": closed({"id": {"type": ["string", "integer"]}}, ["id"]),
            "apply": {"type": "boolean"}, "amount": {"type": "number", "exclusiveMinimum": 0}},
            "required": ["doc"]},
        "RecordLink": closed({"links": links, "id": {"type": "string"}}, ["links", "id"]),
        "RecordCollection": closed({**page, "items": {"type": "array",
                                                      "items": ref("RecordLink")}},
                                   list(page) + ["items"]),
        "SuiteQLRow": {"type": "object", "properties": {"links": links},
                       "additionalProperties": {"type": "string"}, "required": ["links"],
                       "description": "One result row: the selected columns (lower case) as "
                                      "strings; NULLs are left out."},
        "SuiteQLPage": closed({**page, "items": {"type": "array", "items": ref("SuiteQLRow")}},
                              list(page) + ["items"]),
        "SuiteQLQuery": closed({"q": {"type": "string", "minLength": 1}}, ["q"]),
        "CatalogLink": closed({"rel": {"type": "string"}, "href": {"type": "string"},
                               "mediaType": {"type": "string"}}, ["rel", "href"]),
        "CatalogEntry": closed({"name": {"type": "string"}, "links": {
            "type": "array", "items": ref("CatalogLink")}}, ["name", "links"]),
        "Catalog": closed({"items": {"type": "array", "items": ref("CatalogEntry")},
                           "links": {"type": "array", "items": ref("Link")}}, ["items", "links"]),
        "RecordJsonSchema": {"type": "object", "required": ["type", "properties", "title"],
                             "description": "JSON Schema of one record type (custom fields "
                                            "have `x-ns-custom-field: true`)."},
        "RecordOpenApi": {"type": "object", "required": ["openapi", "info", "paths"],
                          "description": "OpenAPI 3.0 document of the selected record types."},
    }


def _read_field(name: str, spec: models.StdField) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {
        "text": {"type": "string"}, "bool": {"type": "boolean"}, "number": {"type": "number"},
        "date": {"type": "string", "format": "date"},
        "datetime": {"type": "string", "format": "date-time"},
        "ref": ref("Reference"), "select": ref("Select"),
    }
    if spec.kind == "sublist":
        lines = {"type": "array", "items": ref(SUBLIST_LINES[name])}
        counts = {k: {"type": "integer", "minimum": 0} for k in ("totalResults", "count",
                                                                 "offset")}
        schema = closed({"links": {"type": "array", "items": ref("Link")}, "items": lines,
                         "hasMore": {"type": "boolean"}, **counts}, ["links"],
                        description="Links only, unless `expandSubResources=true`.")
    else:
        schema = dict(kinds[spec.kind])
    return {**schema, "title": spec.label} if "$ref" not in schema else schema


def _write_field(name: str, spec: models.StdField) -> dict[str, Any]:
    if spec.readonly:
        return {"description": f"{spec.label} (read-only: ignored on write)"}
    if spec.kind == "sublist":
        line = ref(SUBLIST_LINES[name] + "Input")
        schema = {"type": "object", "properties": {"items": {"type": "array", "items": line}},
                  "required": ["items"]}
    elif spec.kind in ("ref", "select"):
        schema = ref("ReferenceInput" if spec.kind == "ref" else "SelectInput")
    else:
        schema = {k: v for k, v in _read_field(name, spec).items() if k != "title"}
    return nullable(schema)


def _record(title: str, fields: dict[str, models.StdField], write: bool) -> dict[str, Any]:
    if write:
        props = {n: _write_field(n, s) for n, s in fields.items()}
        props.update({"id": {"description": "ignored"}, "links": {"description": "ignored"},
                      "refName": {"description": "ignored"}})
        required: list[str] = []
        extra = "Fields not in the record are refused (400 INVALID_CONTENT) unless "\
                "`X-NetSuite-PropertyNameValidation` is Warning or Ignore; `null` clears."
    else:
        props = {"links": {"type": "array", "items": ref("Link")},
                 "id": {"type": "string", "title": "Internal ID"},
                 **{n: _read_field(n, s) for n, s in fields.items()}}
        required = ["links", "id"]
        extra = "Fields in alphabetical order after `links`; empty fields are left out."
    return closed(props, required, title=title, description=f"{title}. {extra} Custom fields "
                  "of the account's schema appear by their script ids.",
                  patternProperties={CUSTOM_FIELD: {} if write else ref("CustomValue")})


def _records() -> dict[str, Any]:
    out: dict[str, Any] = {}
    types = {path[0].upper() + path[1:]: (label, fields)
             for path, label, _, fields in models.STANDARD.values()}
    types["CustomRecord"] = ("Custom record", {**models.COMMON, **models.CUSTOM_RECORD})
    for name, (label, fields) in types.items():
        out[name] = _record(label, fields, write=False)
        out[f"{name}Input"] = _record(label, fields, write=True)
    out["Record"] = {"anyOf": [ref(n) for n in types]}
    out["RecordInput"] = {"anyOf": [ref(f"{n}Input") for n in types]}
    return out


def schemas() -> dict[str, Any]:
    return {**_common(), **_records()}


# -- responses and parameters ------------------------------------------------------------------
def _error(description: str, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {ERROR_TYPE: {"schema": ref("Error")}}}
    if headers:
        out["headers"] = headers
    return out


def errors(*statuses: int) -> dict[str, Any]:
    """The operation's own error statuses, plus auth, governance and injected faults."""
    text = {400: "Bad request (USER_ERROR, INVALID_CONTENT, INVALID_PARAMETER, …).",
            404: "No such record type or record (NONEXISTENT_ID)."}
    out = {str(s): _error(text[s]) for s in statuses}
    out["401"] = _error("INVALID_LOGIN (also after a bearer token expired).", headers={
        "WWW-Authenticate": {"description": "Bearer token failures only.",
                             "schema": {"type": "string"}}})
    out["429"] = _error("CONCURRENCY_LIMIT_EXCEEDED: the account's concurrent requests.",
                        headers={"Retry-After": {"description": "Only on injected rate limits.",
                                                 "schema": {"type": "string"}}})
    out.update({str(s): _error("UNEXPECTED_ERROR (injected fault).") for s in INJECTED})
    out["default"] = _error("Any other status an injected `http_error` fault sets.")
    return out


def _done(description: str) -> dict[str, Any]:
    return {"204": {"description": description, "headers": {"Location": {
        "description": "The URL of the record.", "required": True,
        "schema": {"type": "string", "format": "uri"}}}}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


RECORD_TYPE = {"name": "recordType", "in": "path", "required": True,
               "description": "A standard record type (names are case-insensitive) or one of "
                              "the account's custom record types.",
               "schema": {"anyOf": [{"type": "string", "enum": RECORD_TYPES},
                                    {"type": "string", "pattern": "^customrecord[a-z0-9_]+$"}]}}
RECORD_ID = {"name": "id", "in": "path", "required": True,
             "description": "Internal id, or `eid:` + external id.",
             "schema": {"type": "string", "pattern": "^([0-9]+|eid:.+)$"}}
NAME_VALIDATION = {"name": "X-NetSuite-PropertyNameValidation", "in": "header",
                   "required": False, "description": "Error (default): unknown fields are "
                   "refused; Warning / Ignore: they are ignored.",
                   "schema": {"type": "string", "enum": ["Error", "Warning", "Ignore"]}}
PAGING = [_query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                 f"Page size (default {MAX_LIMIT})."),
          _query("offset", {"type": "integer", "minimum": 0},
                 "A multiple of `limit` (else 400 INVALID_PARAMETER).")]


def _json_body(schema: str, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": ref(schema)}}}


def _op(operation_id: str, summary: str, responses: dict[str, Any], *,
        parameters: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
        tag: str = "record") -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag],
                          "security": SECURITY, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = body
    return op


# -- paths ---------------------------------------------------------------------------------------
def _record_paths() -> dict[str, Any]:
    collection = {"200": {"description": "The record ids of one page.", "content": {
        COLLECTION: {"schema": ref("RecordCollection")}}}}
    one = {"200": {"description": "The record.", "content": {SINGULAR: {"schema": ref("Record")}}}}
    write = [NAME_VALIDATION]
    return {
        f"{RECORD}/{{recordType}}": {
            "parameters": [RECORD_TYPE],
            "get": _op("listRecords", "List records (ids and links).",
                       {**collection, **errors(400, 404)}, parameters=[
                           *PAGING, _query("q", {"type": "string"},
                                           'Filter, e.g. `email START_WITH "ap@"`.')]),
            "post": _op("createRecord", "Create a record.",
                        {**_done("Created."), **errors(400, 404)}, parameters=write,
                        body=_json_body("RecordInput"))},
        f"{RECORD}/{{recordType}}/{{id}}": {
            "parameters": [RECORD_TYPE, RECORD_ID],
            "get": _op("getRecord", "Get a record.", {**one, **errors(404)}, parameters=[
                _query("fields", {"type": "string"}, "Comma-separated field names."),
                _query("expandSubResources", {"type": "boolean"}, "Expand sublists.")]),
            "patch": _op("updateRecord", "Update a record (`null` clears a field).",
                         {**_done("Updated."), **errors(400, 404)}, parameters=write,
                         body=_json_body("RecordInput")),
            "put": _op("upsertRecord", "Insert or update by `eid:<externalId>`.",
                       {**_done("Created or updated."), **errors(400, 404)}, parameters=write,
                       body=_json_body("RecordInput")),
            "delete": _op("deleteRecord", "Delete a record.",
                          {"204": {"description": "Deleted."}, **errors(400, 404)})},
        f"{RECORD}/invoice/{{id}}/!transform/{{targetType}}": {
            "parameters": [RECORD_ID, {"name": "targetType", "in": "path", "required": True,
                                       "schema": {"type": "string",
                                                  "enum": ["customerPayment"]}}],
            "post": _op("transformInvoice", "Invoice → customer payment of the amount due.",
                        {**_done("The payment was created."), **errors(400, 404)},
                        parameters=write, body=_json_body("CustomerPaymentInput", False))},
    }


def _other_paths() -> dict[str, Any]:
    swagger = {metadata.SWAGGER_JSON: {"schema": ref("RecordOpenApi")}}
    token_form = {"type": "object", "required": ["grant_type"], "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "scope": {"type": "string", "description": "rest_webservices (default), restlets, "
                                                   "suite_analytics"},
        "client_assertion_type": {"type": "string", "enum": [oauth2.ASSERTION_TYPE]},
        "client_assertion": {"type": "string", "description": "JWT signed with the "
                                                              "certificate `kid` names."}}}
    oauth_error = {"application/json": {"schema": ref("OAuth2Error")}}
    token_errors = errors()
    token_errors["400"] = {"description": "OAuth 2.0 error.", "content": oauth_error}
    token_errors["401"] = {"description": "invalid_client (or an injected auth fault).",
                           "content": {**oauth_error, **token_errors["401"]["content"]}}
    token = _op("getOAuth2Token", "OAuth 2.0 client credentials grant.", {
        "200": {"description": "An access token (3600 s).",
                "content": {"application/json": {"schema": ref("OAuth2Token")}}},
        **token_errors}, body={"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": token_form}}}, tag="auth")
    token["security"] = [{"clientBasic": []}, {}]
    return {
        oauth2.TOKEN_PATH: {"post": token},
        f"{REST}/query/v1/suiteql": {"post": _op(
            "runSuiteQL", "Run a SuiteQL query.", {
                "200": {"description": "One page of rows.",
                        "content": {COLLECTION: {"schema": ref("SuiteQLPage")}}},
                **errors(400)}, tag="query",
            parameters=[*PAGING, {"name": "Prefer", "in": "header", "required": True,
                                  "description": "Must be `transient`.",
                                  "schema": {"type": "string", "const": "transient"}}],
            body=_json_body("SuiteQLQuery"))},
        f"{RECORD}/metadata-catalog": {"get": _op(
            "getMetadataCatalog", "The record types (by `Accept`: links or OpenAPI).", {
                "200": {"description": "The catalog.", "content": {
                    "application/json": {"schema": ref("Catalog")}, **swagger}},
                **errors(404)}, tag="metadata",
            parameters=[_query("select", {"type": "string"}, "Comma-separated record types.")])},
        f"{RECORD}/metadata-catalog/{{recordType}}": {"get": _op(
            "getRecordMetadata", "One record type (by `Accept`: links, JSON Schema, OpenAPI).", {
                "200": {"description": "The record type's metadata.", "content": {
                    "application/json": {"schema": ref("CatalogEntry")},
                    metadata.SCHEMA_JSON: {"schema": ref("RecordJsonSchema")}, **swagger}},
                **errors(404)}, tag="metadata", parameters=[RECORD_TYPE])},
    }


def security_schemes() -> dict[str, Any]:
    return {
        "tba": {"type": "http", "scheme": "OAuth", "description": "Token-based authentication: "
                "OAuth 1.0a, HMAC-SHA256, `realm` = the account id."},
        "oauth2": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                   "description": f"OAuth 2.0 access token from `POST {oauth2.TOKEN_PATH}` "
                                  "(client credentials), valid 3600 s."},
        "clientBasic": {"type": "http", "scheme": "basic", "description": "client id and "
                        "secret (a simulator convenience; NetSuite's M2M flow uses a JWT "
                        "client assertion in the body)."},
    }


def vendor_paths() -> dict[str, Any]:
    return {**_other_paths(), **_record_paths()}


def published(generated: dict[str, Any]) -> dict[str, Any]:
    """The NetSuite document merged with the `/_sim/` paths and models FastAPI generated."""
    return publish(
        generated, owner="NetSuite",
        info={"title": generated_title(generated, "landscape fake NetSuite"), "version": "v1",
              "description": "SuiteTalk REST web services as served by the landscape fake "
                             "NetSuite (record API, SuiteQL, metadata catalog, OAuth 2.0 token "
                             "endpoint), plus the /_sim control plane."},
        tags=("record", "query", "metadata", "auth"), paths=vendor_paths(),
        components={"schemas": schemas(), "securitySchemes": security_schemes()})
