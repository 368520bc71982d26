"""The fake Salesforce's published OpenAPI 3.1 document, written by hand.

Salesforce publishes no OpenAPI for its REST API, and the fake serves `/services/data/vXX.X/...`
through one catch-all route, so this module describes the resources behind it: paths,
parameters, JSON bodies, the objects the fake returns (records and query rows carry the org's
custom fields, so their field values are described generically), Salesforce's error bodies
(a JSON array of `{message, errorCode, fields}`; the OAuth shape on `/services/oauth2/`) and the
OAuth 2.0 session auth. `published(generated)` adds the `/_sim/` control plane FastAPI
generates. Keep it in step with `routes.py`: tests/integration/test_salesforce_openapi.py checks
every recorded response of the Salesforce tests against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulators.core.openapi import generated_title, publish, ref
from simulators.salesforce.routes import MAX_COLLECTION, MAX_SUBREQUESTS, VERSIONS

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DATA = "/services/data/{version}"
ID_PATTERN = "^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$"
NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]*$"
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$"
SECURED: list[dict[str, list[str]]] = [{"salesforceSession": []}, {"salesforceOAuth": ["api"]}]


def nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object with exactly these properties (the fake never adds others)."""
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required,
            "additionalProperties": False}


def flags(*names: str) -> dict[str, Any]:
    return {name: {"type": "boolean"} for name in names}


# -- component schemas ---------------------------------------------------------------------------

def error_schemas() -> dict[str, Any]:
    return {
        "Error": closed({"message": {"type": "string"}, "errorCode": {"type": "string"},
                         "fields": {"type": "array", "items": {"type": "string"}}},
                        ["message", "errorCode"]),
        "ErrorList": {"type": "array", "minItems": 1, "items": ref("Error"),
                      "description": "Salesforce's REST error body: always a JSON array."},
        "OAuthError": closed({"error": {"type": "string"},
                              "error_description": {"type": "string"}}),
        "RecordError": closed({"statusCode": {"type": "string"}, "message": {"type": "string"},
                               "fields": {"type": "array", "items": {"type": "string"}}}),
    }


def oauth_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "TokenRequest": {
            "type": "object", "required": ["grant_type"],
            "properties": {
                "grant_type": {"type": "string", "enum": [
                    "client_credentials", "password", "authorization_code", "refresh_token"]},
                "client_id": text, "client_secret": text, "username": text,
                "password": {"type": "string", "description": "password, with or without the "
                                                              "security token appended"},
                "code": text, "redirect_uri": text, "refresh_token": text}},
        "Token": closed({"access_token": text, "refresh_token": text, "signature": text,
                         "scope": text, "instance_url": text, "id": text,
                         "token_type": {"const": "Bearer"},
                         "issued_at": {"type": "string", "pattern": "^[0-9]+$"}},
                        ["access_token", "signature", "scope", "instance_url", "id",
                         "token_type", "issued_at"]),
        "RevokeRequest": {"type": "object", "required": ["token"],
                          "properties": {"token": text}},
    }


def field_value() -> dict[str, Any]:
    return {"type": ["string", "number", "boolean", "null"],
            "description": "A field value: text, picklist (multi-select: `a;b`), id, date "
                           "(`YYYY-MM-DD`), datetime (`YYYY-MM-DDThh:mm:ss.000+0000`), number "
                           "or boolean."}


def record_schemas() -> dict[str, Any]:
    record_id = {"type": "string", "pattern": ID_PATTERN}
    stamp = {"type": "string", "pattern": DATETIME_PATTERN}
    return {
        "FieldValue": field_value(),
        "RecordId": record_id,
        "DateTime": {**stamp, "description": "Salesforce's datetime: milliseconds, GMT"},
        "Attributes": closed({"type": {"type": "string"}, "url": {"type": "string"}}),
        "Record": {
            "type": "object", "required": ["attributes"],
            "description": "One record: standard fields plus the org's custom fields (`…__c`), "
                           "all of them or those named in `fields`.",
            "properties": {"attributes": ref("Attributes"), "Id": ref("RecordId"),
                           "IsDeleted": {"type": "boolean"},
                           **{name: ref("RecordId") for name in (
                               "OwnerId", "CreatedById", "LastModifiedById")},
                           **{name: ref("DateTime") for name in (
                               "CreatedDate", "LastModifiedDate", "SystemModstamp")}},
            "additionalProperties": ref("FieldValue")},
        "RecordInput": {
            "type": "object",
            "description": "Field values to write; `attributes` is ignored.",
            "properties": {"attributes": {"type": "object"}},
            "additionalProperties": ref("FieldValue")},
        "SaveResult": closed({"id": ref("RecordId"), "success": {"type": "boolean"},
                              "errors": {"type": "array", "maxItems": 0},
                              "created": {"type": "boolean"}},
                             ["id", "success", "errors"]),
        "RecordUrls": {"type": "array", "items": {"type": "string"},
                       "description": "300 Multiple Choices: the records an external id "
                                      "matched."},
        "QueryRecord": {
            "type": "object", "required": ["attributes"],
            "properties": {"attributes": ref("Attributes")},
            "additionalProperties": {"anyOf": [ref("FieldValue"), ref("QueryRecord")]},
            "description": "A row: selected fields; parent fields nest under the relationship "
                           "name (`Account__r`), null when there is no parent."},
        "QueryResult": closed({"totalSize": {"type": "integer", "minimum": 0},
                               "done": {"type": "boolean"},
                               "nextRecordsUrl": {"type": "string"},
                               "records": {"type": "array", "items": ref("QueryRecord")}},
                              ["totalSize", "done", "records"]),
        "Updated": closed({"ids": {"type": "array", "items": ref("RecordId")},
                           "latestDateCovered": ref("DateTime")}),
        "Deleted": closed({
            "deletedRecords": {"type": "array", "items": closed(
                {"id": ref("RecordId"), "deletedDate": ref("DateTime")})},
            "earliestDateAvailable": ref("DateTime"),
            "latestDateCovered": ref("DateTime")}),
    }


def describe_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    urls = {"type": "object", "additionalProperties": {"type": "string"}}
    summary = {**flags("activateable", "createable", "custom", "customSetting", "deletable",
                       "deprecatedAndHidden", "feedEnabled", "hasSubtypes", "isSubtype",
                       "layoutable", "mergeable", "mruEnabled", "queryable", "replicateable",
                       "retrieveable", "searchable", "triggerable", "undeletable",
                       "updateable"),
               "keyPrefix": nullable("string"), "label": text, "labelPlural": text,
               "name": text, "urls": urls}
    number = {"type": "integer"}
    field = closed({
        **flags("aggregatable", "autoNumber", "calculated", "cascadeDelete", "caseSensitive",
                "createable", "custom", "defaultedOnCreate", "dependentPicklist",
                "deprecatedAndHidden", "externalId", "filterable", "groupable", "htmlFormatted",
                "idLookup", "nameField", "namePointing", "nillable", "polymorphicForeignKey",
                "restrictedPicklist", "sortable", "unique", "updateable"),
        "byteLength": number, "digits": number, "length": number, "precision": number,
        "scale": number, "relationshipOrder": nullable("integer"),
        "calculatedFormula": nullable("string"), "controllerName": nullable("string"),
        "defaultValue": {"type": ["string", "boolean", "null"]},
        "defaultValueFormula": nullable("string"), "inlineHelpText": nullable("string"),
        "label": text, "name": text, "soapType": text, "type": {"type": "string", "enum": [
            "id", "string", "textarea", "email", "phone", "url", "int", "double", "currency",
            "percent", "boolean", "date", "datetime", "picklist", "multipicklist",
            "reference"]},
        "picklistValues": {"type": "array", "items": ref("PicklistEntry")},
        "referenceTargetField": nullable("string"),
        "referenceTo": {"type": "array", "items": text},
        "relationshipName": nullable("string")})
    return {
        "SObjectSummary": closed(summary),
        "SObjectBasicInfo": closed({"objectDescribe": ref("SObjectSummary"),
                                    "recentItems": {"type": "array", "items": ref("Record")}}),
        "GlobalDescribe": closed({"encoding": text, "maxBatchSize": number,
                                  "sobjects": {"type": "array", "items": ref("SObjectSummary")}}),
        "PicklistEntry": closed({"active": {"type": "boolean"},
                                 "defaultValue": {"type": "boolean"}, "label": text,
                                 "validFor": nullable("string"), "value": text}),
        "Field": field,
        "ChildRelationship": closed({**flags("cascadeDelete", "deprecatedAndHidden",
                                             "restrictedDelete"),
                                     "childSObject": text, "field": text,
                                     "relationshipName": nullable("string")}),
        "SObjectDescribe": closed({
            **summary,
            "childRelationships": {"type": "array", "items": ref("ChildRelationship")},
            "fields": {"type": "array", "items": ref("Field")},
            "recordTypeInfos": {"type": "array", "maxItems": 0},
            "supportedScopes": {"type": "array", "items": closed({"label": text,
                                                                  "name": text})},
            "urls": {"type": "object", "additionalProperties": nullable("string")}}),
    }


def api_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "Version": closed({"label": text, "url": text,
                           "version": {"type": "string", "pattern": r"^\d+\.0$"}}),
        "Resources": {"type": "object", "additionalProperties": text,
                      "description": "Resource name -> its URL."},
        "OrgLimits": {"type": "object", "description": "Limit name -> Max/Remaining.",
                      "additionalProperties": closed({"Max": {"type": "integer"},
                                                      "Remaining": {"type": "integer"}})},
        "CompositeSubrequest": {
            "type": "object", "required": ["method", "url", "referenceId"],
            "properties": {
                "method": {"type": "string", "enum": ["GET", "POST", "PATCH", "DELETE"]},
                "url": {"type": "string", "description": "`/services/data/vXX.X/...`; may hold "
                                                         "`@{referenceId.path}` references"},
                "referenceId": {"type": "string", "pattern": NAME_PATTERN},
                "body": {"description": "The subrequest's JSON body (references resolved)"},
                "httpHeaders": {"type": "object", "additionalProperties": text}}},
        "CompositeRequest": {
            "type": "object", "required": ["compositeRequest"],
            "properties": {"allOrNone": {"type": "boolean"},
                           "compositeRequest": {"type": "array", "minItems": 1,
                                                "maxItems": MAX_SUBREQUESTS,
                                                "items": ref("CompositeSubrequest")}}},
        "CompositeResponse": closed({"compositeResponse": {"type": "array", "items": closed({
            "body": {"description": "what the subrequest alone would answer (null for 204)"},
            "httpHeaders": {"type": "object", "additionalProperties": text},
            "httpStatusCode": {"type": "integer"},
            "referenceId": {"description": "the subrequest's referenceId"}})}}),
        "CollectionRequest": {
            "type": "object", "required": ["records"],
            "properties": {
                "allOrNone": {"type": "boolean"},
                "records": {"type": "array", "maxItems": MAX_COLLECTION, "items": {
                    "allOf": [ref("RecordInput")], "required": ["attributes"],
                    "properties": {"attributes": {
                        "type": "object", "required": ["type"],
                        "properties": {"type": {"type": "string"}}}}}}}},
        "CollectionResult": closed({"id": nullable("string"), "success": {"type": "boolean"},
                                    "errors": {"type": "array", "items": ref("RecordError")}}),
    }


def schemas() -> dict[str, Any]:
    return {**error_schemas(), **oauth_schemas(), **record_schemas(), **describe_schemas(),
            **api_schemas()}


# -- parameters, responses --------------------------------------------------------------------

def param(name: str, where: str, schema: dict[str, Any], description: str,
          required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path",
            "schema": schema, "description": description, **extra}


def parameters() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "version": param("version", "path", {"type": "string",
                                             "enum": [f"v{v}" for v in VERSIONS]},
                         "API version; other versions answer 404 NOT_FOUND", example="v59.0"),
        "sobject": param("sobject", "path", {"type": "string", "pattern": NAME_PATTERN},
                         "sObject name (case-insensitive), standard or custom (`…__c`)",
                         example="Account"),
        "id": param("id", "path", {"type": "string", "pattern": ID_PATTERN},
                    "record id, 15 or 18 characters", example="0015g00000000AAAAA"),
        "field": param("field", "path", {"type": "string", "pattern": NAME_PATTERN},
                       "an external id field (or `Id`)", example="Id"),
        "value": param("value", "path", {"type": "string", "minLength": 1,
                                         "pattern": "^[^/]+$"},
                       "the external id value (matched case-insensitively)"),
        "fields": param("fields", "query", text, "comma-separated field names to return"),
        "queryLocator": param("queryLocator", "path", {"type": "string",
                                                       "pattern": "^01g[a-zA-Z0-9]+-[0-9]+$"},
                              "`<locator>-<offset>` from `nextRecordsUrl`"),
        "q": param("q", "query", {"type": "string", "minLength": 1}, "a SOQL query",
                   required=True, example="SELECT Id, Name FROM Account"),
        "queryOptions": param("Sforce-Query-Options", "header",
                              {"type": "string", "pattern": r"^batchSize=\d+$"},
                              "`batchSize=N`, clamped to 200–2000 (default 2000)"),
    }


def error_response(description: str, *, oauth: bool = False) -> dict[str, Any]:
    schema = {"anyOf": [ref("OAuthError"), ref("ErrorList")]} if oauth else ref("ErrorList")
    response: dict[str, Any] = {"description": description,
                                "content": {JSON: {"schema": schema}}}
    return response


def responses() -> dict[str, Any]:
    return {
        "BadRequest": error_response("Invalid input (INVALID_FIELD, REQUIRED_FIELD_MISSING, "
                                     "JSON_PARSER_ERROR, MALFORMED_QUERY, …)"),
        "Unauthorized": {**error_response("INVALID_SESSION_ID: no, unknown, revoked or "
                                          "expired session"),
                         "headers": {"WWW-Authenticate": {"schema": {"const": "Token"},
                                                          "required": True}}},
        "Forbidden": error_response("REQUEST_LIMIT_EXCEEDED (daily allocation, rate or "
                                    "concurrency limit)"),
        "NotFound": error_response("NOT_FOUND: unknown resource, API version, sObject or "
                                   "record; ENTITY_IS_DELETED"),
        "ServerError": error_response("UNKNOWN_EXCEPTION"),
        "Unavailable": error_response("SERVER_UNAVAILABLE"),
        "OtherError": error_response("Any other error status (e.g. injected by a fault)"),
        "OAuthBadRequest": error_response("OAuth error (`invalid_client_id`, `invalid_client`, "
                                          "`invalid_grant`, `unsupported_grant_type`, …)",
                                          oauth=True),
    }


def limit_header() -> dict[str, Any]:
    return {"Sforce-Limit-Info": {
        "description": "API requests used in the rolling 24 hours / the org's allocation",
        "required": True, "schema": {"type": "string", "pattern": r"^api-usage=\d+/\d+$"}}}


def ok(schema: dict[str, Any] | None, description: str = "OK",
       headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "headers": {**limit_header(), **(headers or {})}}
    if schema is not None:
        response["content"] = {JSON: {"schema": schema}}
    return response


ERRORS = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
          "500": "ServerError", "503": "Unavailable", "default": "OtherError"}


def operation(op_id: str, tag: str, summary: str, success: dict[str, Any], *,
              params: Sequence[str] = (), body: dict[str, Any] | None = None,
              description: str = "", secured: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary}
    if description:
        op["description"] = description
    op["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    op["responses"] = {**success, **{status: {"$ref": f"#/components/responses/{name}"}
                                     for status, name in ERRORS.items()}}
    op["security"] = SECURED if secured else []
    return op


# -- paths ----------------------------------------------------------------------------------

def oauth_paths() -> dict[str, Any]:
    def form(schema: str) -> dict[str, Any]:
        return {"required": True, "content": {FORM: {"schema": ref(schema)}}}

    oauth_errors = {"400": {"$ref": "#/components/responses/OAuthBadRequest"},
                    "default": {"$ref": "#/components/responses/OtherError"}}
    query = [param("response_type", "query", {"const": "code"}, "web-server flow",
                   required=True),
             param("client_id", "query", {"type": "string"}, "consumer key", required=True),
             param("redirect_uri", "query", {"type": "string"}, "callback", required=True),
             param("state", "query", {"type": "string"}, "echoed back")]
    return {
        "/services/oauth2/token": {"post": {
            "operationId": "requestToken", "tags": ["OAuth"], "summary": "Issue a session",
            "description": "Grants: client_credentials, password, authorization_code, "
                           "refresh_token. No `expires_in`: sessions end after the org's "
                           "inactivity timeout.",
            "requestBody": form("TokenRequest"), "security": [],
            "responses": {"200": {"description": "A session",
                                  "content": {JSON: {"schema": ref("Token")}}},
                          **oauth_errors}}},
        "/services/oauth2/authorize": {"get": {
            "operationId": "authorize", "tags": ["OAuth"],
            "summary": "Web-server flow: the org's integration user approves at once",
            "parameters": query, "security": [],
            "responses": {"302": {"description": "To `redirect_uri?code=…[&state=…]`",
                                  "headers": {"Location": {"required": True,
                                                           "schema": {"type": "string"}}}},
                          **oauth_errors}}},
        "/services/oauth2/revoke": {"post": {
            "operationId": "revokeToken", "tags": ["OAuth"],
            "summary": "Revoke an access or refresh token", "requestBody": form("RevokeRequest"),
            "security": [],
            "responses": {"200": {"description": "Revoked (empty body)"}, **oauth_errors}}},
    }


def version_paths() -> dict[str, Any]:
    def versions(op_id: str) -> dict[str, Any]:
        return {"get": {
            "operationId": op_id, "tags": ["Versions"], "summary": "API versions (no auth)",
            "security": [],
            "responses": {"200": {"description": "Versions served", "content": {JSON: {
                "schema": {"type": "array", "items": ref("Version")}}}},
                "default": {"$ref": "#/components/responses/OtherError"}}}}

    return {
        "/services/data": versions("listVersions"),
        "/services/data/": versions("listVersionsWithSlash"),
        DATA: {"get": operation("listResources", "Versions", "Resources of a version",
                                {"200": ok(ref("Resources"))}, params=["version"])},
        f"{DATA}/limits": {"get": operation("getLimits", "Limits", "The org's limits",
                                            {"200": ok(ref("OrgLimits"))},
                                            params=["version"])},
    }


def sobject_paths() -> dict[str, Any]:
    created = ok(ref("SaveResult"), "Created", {"Location": {
        "required": True, "schema": {"type": "string"}}})
    window = [param(name, "query", {"type": "string", "format": "date-time"},
                    f"{name} of the window (ISO 8601)", required=True)
              for name in ("start", "end")]
    updated = operation("getUpdated", "sObjects", "Ids updated in a window",
                        {"200": ok(ref("Updated"))}, params=["version", "sobject"])
    deleted = operation("getDeleted", "sObjects", "Records deleted in a window",
                        {"200": ok(ref("Deleted"))}, params=["version", "sobject"])
    for op in (updated, deleted):
        op["parameters"] += window
    upsert_ok = {"200": ok(ref("SaveResult"), "Updated (API 46.0+, `created: false`)"),
                 "201": ok(ref("SaveResult"), "Created (`created: true` from API 46.0)"),
                 "204": ok(None, "Updated (before API 46.0)"),
                 "300": ok(ref("RecordUrls"), "Several records match")}
    several = {"300": ok(ref("RecordUrls"), "Several records match")}
    by_id, by_key = ["version", "sobject", "id"], ["version", "sobject", "field", "value"]
    return {
        f"{DATA}/sobjects": {"get": operation(
            "describeGlobal", "sObjects", "Every sObject of the org",
            {"200": ok(ref("GlobalDescribe"))}, params=["version"])},
        f"{DATA}/sobjects/{{sobject}}": {
            "get": operation("getSObjectBasicInfo", "sObjects", "An sObject's summary",
                             {"200": ok(ref("SObjectBasicInfo"))},
                             params=["version", "sobject"]),
            "post": operation("createRecord", "sObjects", "Create a record", {"201": created},
                              params=["version", "sobject"], body=ref("RecordInput"))},
        f"{DATA}/sobjects/{{sobject}}/describe": {"get": operation(
            "describeSObject", "sObjects", "Fields, child relationships and URLs",
            {"200": ok(ref("SObjectDescribe"))}, params=["version", "sobject"])},
        f"{DATA}/sobjects/{{sobject}}/updated": {"get": updated},
        f"{DATA}/sobjects/{{sobject}}/deleted": {"get": deleted},
        f"{DATA}/sobjects/{{sobject}}/{{id}}": {
            "get": operation("getRecord", "sObjects", "Read a record",
                             {"200": ok(ref("Record"))}, params=[*by_id, "fields"]),
            "patch": operation("updateRecord", "sObjects", "Update a record",
                               {"204": ok(None, "Updated")}, params=by_id,
                               body=ref("RecordInput")),
            "delete": operation("deleteRecord", "sObjects", "Delete a record (soft)",
                                {"204": ok(None, "Deleted")}, params=by_id)},
        f"{DATA}/sobjects/{{sobject}}/{{field}}/{{value}}": {
            "get": operation("getRecordByExternalId", "sObjects", "Read by external id",
                             {"200": ok(ref("Record")), **several},
                             params=[*by_key, "fields"]),
            "patch": upsert_by_key(operation(
                "upsertRecord", "sObjects", "Upsert by external id", upsert_ok, params=by_key,
                body=ref("RecordInput"))),
            "delete": operation("deleteRecordByExternalId", "sObjects", "Delete by external id",
                                {"204": ok(None, "Deleted"), **several}, params=by_key)},
    }


def upsert_by_key(op: dict[str, Any]) -> dict[str, Any]:
    op["parameters"].append(param("updateOnly", "query", {"type": "string",
                                                          "enum": ["true", "false"]},
                                  "`true`: 404 instead of creating"))
    return op


def query_paths() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for resource, op_id, what in (("query", "query", "live records"),
                                  ("queryAll", "queryAll", "records incl. deleted ones")):
        out[f"{DATA}/{resource}"] = {"get": operation(
            op_id, "Query", f"Run SOQL over {what}", {"200": ok(ref("QueryResult"))},
            params=["version", "q", "queryOptions"],
            description="Batches of `batchSize`; `COUNT()` answers `totalSize` only.")}
        out[f"{DATA}/{resource}/{{queryLocator}}"] = {"get": operation(
            f"{op_id}More", "Query", "The next batch of a query",
            {"200": ok(ref("QueryResult"))}, params=["version", "queryLocator"],
            description="INVALID_QUERY_LOCATOR (400) for unknown or expired locators.")}
    return out


def composite_paths() -> dict[str, Any]:
    results = ok({"type": "array", "items": ref("CollectionResult")})
    ids = param("ids", "query", {"type": "string", "minLength": 1}, "comma-separated ids",
                required=True)
    delete = operation("deleteRecords", "Composite", "Delete up to 200 records",
                       {"200": results}, params=["version"])
    delete["parameters"] += [ids, param("allOrNone", "query", {"type": "string",
                                                               "enum": ["true", "false"]},
                                        "roll back all when one fails")]
    fetch = operation("getRecords", "Composite", "Read records of one sObject by id",
                      {"200": ok({"type": "array", "items": {
                          "anyOf": [ref("Record"), {"type": "null"}]}})},
                      params=["version", "sobject", "fields"])
    fetch["parameters"].insert(2, ids)
    return {
        f"{DATA}/composite": {"post": operation(
            "composite", "Composite", f"Up to {MAX_SUBREQUESTS} subrequests in one call",
            {"200": ok(ref("CompositeResponse"))}, params=["version"],
            body=ref("CompositeRequest"),
            description="Later subrequests may reference earlier results as "
                        "`@{referenceId.field}`; with `allOrNone` a failure rolls all back.")},
        f"{DATA}/composite/sobjects": {
            "post": operation("createRecords", "Composite", "Create up to 200 records",
                              {"200": results}, params=["version"],
                              body=ref("CollectionRequest")),
            "patch": operation("updateRecords", "Composite", "Update up to 200 records",
                               {"200": results}, params=["version"],
                               body=ref("CollectionRequest")),
            "delete": delete},
        f"{DATA}/composite/sobjects/{{sobject}}": {"get": fetch},
    }


def security_schemes() -> dict[str, Any]:
    # OpenAPI 3.1 wants absolute URLs here: Salesforce's login host, which the fake stands in
    # for at its own base URL (the same paths).
    login = "https://login.salesforce.com/services/oauth2"
    token_url, scopes = f"{login}/token", {"api": "REST API access",
                                           "refresh_token": "refresh tokens"}
    return {
        "salesforceSession": {"type": "http", "scheme": "bearer",
                              "description": "An access token (session id) from "
                                             "/services/oauth2/token; `Authorization: OAuth "
                                             "<token>` works too."},
        "salesforceOAuth": {"type": "oauth2", "description": "Served by the fake at "
                                                             "/services/oauth2/ on its own URL.",
                            "flows": {
            "clientCredentials": {"tokenUrl": token_url, "scopes": scopes},
            "password": {"tokenUrl": token_url, "scopes": scopes},
            "authorizationCode": {"authorizationUrl": f"{login}/authorize",
                                  "tokenUrl": token_url, "refreshUrl": token_url,
                                  "scopes": scopes}}},
    }


def vendor_document() -> dict[str, Any]:
    return {
        "paths": {**oauth_paths(), **version_paths(), **sobject_paths(), **query_paths(),
                  **composite_paths()},
        "components": {"schemas": schemas(), "parameters": parameters(),
                       "responses": responses(), "securitySchemes": security_schemes()},
    }


def published(generated: dict[str, Any]) -> dict[str, Any]:
    """The fake's OpenAPI: the Salesforce resources it serves + FastAPI's `/_sim/` paths."""
    vendor = vendor_document()
    return publish(
        generated, owner="Salesforce",
        info={"title": generated_title(generated, "landscape fake Salesforce"),
              "version": generated.get("info", {}).get("version", "1"),
              "description": "The Salesforce REST API as the landscape fake serves it "
                             f"(versions {VERSIONS[0]}–{VERSIONS[-1]}; trailing slashes "
                             "accepted), plus the /_sim control plane."},
        tags=("OAuth", "Versions", "Limits", "sObjects", "Query", "Composite"),
        paths=vendor["paths"], components=vendor["components"])
