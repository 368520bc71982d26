"""Salesforce's REST wire format: OAuth endpoints and `/services/data/vXX.X/...`.

Everything under `/services/data/vXX.X/` goes through one dispatcher (`Api.dispatch`), so that a
composite subrequest runs exactly the code a direct call runs, and trailing slashes (which
simple-salesforce sends: `/query/`, `/sobjects/Account/`) are accepted like Salesforce does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from simulators.core.bodies import decode_json
from simulators.core.vendor import RequestContext, context
from simulators.salesforce import events, ids
from simulators.salesforce.describe import describe_object, object_summary
from simulators.salesforce.errors import (
    SalesforceError,
    json_parser,
    malformed_query,
    method_not_allowed,
    not_found,
    oauth_error,
)
from simulators.salesforce.models import (
    MultipleMatches,
    SObjectDef,
    Work,
    attributes,
    encodable,
    run_query,
    sf_datetime,
)
from simulators.salesforce.soql import SoqlError
from simulators.salesforce.vendor import api_usage, authorize, daily_limit, grant, revoke

JSON_TYPE = "application/json;charset=UTF-8"
VERSIONS = [f"{n}.0" for n in range(31, 63)]  # Summer '14 .. Winter '25
UPSERT_BODY_SINCE = 46  # API 46.0+: an upsert that updates answers 200 with a body, not 204
DEFAULT_BATCH, MIN_BATCH, MAX_BATCH = 2000, 200, 2000
MAX_SUBREQUESTS, MAX_COLLECTION = 25, 200
LOCATOR_IDLE = 15 * 60.0
HALTED = ("The transaction was rolled back since another operation in the same transaction "
          "failed.")
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header", "fields": []}
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def version_label(version: str) -> str:
    k = int(float(version)) - 59  # v59.0 is Winter '24; three releases a year
    return f"{('Winter', 'Spring', 'Summer')[k % 3]} '{24 + k // 3:02d}"


@dataclass
class Result:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.status == 204:
            return Response(status_code=204, headers=self.headers)
        return JSONResponse(self.body, self.status, self.headers, media_type=JSON_TYPE)


class Unresolved(Exception):
    """A composite `@{ref.path}` that names no earlier successful subrequest."""


def _load(raw: Any) -> Any:
    if not isinstance(raw, bytes | str):
        return raw
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if not text.strip():
        return None
    try:
        return encodable(decode_json(text))
    except json.JSONDecodeError as exc:
        shown = text[exc.pos:exc.pos + 1] or "EOF"
        raise json_parser(f"Unexpected character ('{shown}' (code {ord(shown[0])})): expected a "
                          f"valid value (number, String, array, object, 'true', 'false' or "
                          f"'null') at [line:{exc.lineno}, column:{exc.colno}]") from None
    except ValueError:  # a number literal of thousands of digits
        raise json_parser("Numeric value out of range") from None


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise method_not_allowed(method, allowed)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _json_flag(body: dict[str, Any], name: str) -> bool:
    """A JSON boolean field: `"false"` or `1` is Salesforce's JSON_PARSER_ERROR, not a truthy
    value (`bool("false")` had switched all-or-none on)."""
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise json_parser(f"Cannot deserialize instance of boolean from {json.dumps(value)} "
                          f"value at {name}")
    return bool(value)


class Api:
    """The REST resources of one org, for one request (and its composite subrequests)."""

    def __init__(self, ctx: RequestContext) -> None:
        assert ctx.tenant is not None
        self.ctx = ctx
        self.tenant = ctx.tenant
        self.work = Work(ctx.tenant, ctx.now)

    # -- routing ---------------------------------------------------------------------------
    def dispatch(self, method: str, version: str, path: str, params: dict[str, str],
                 body: Any, headers: dict[str, str], nested: bool = False) -> Result:
        if not version.startswith("v") or version[1:] not in VERSIONS:
            raise not_found()
        v = version[1:]
        parts = [p for p in path.split("/") if p]
        if not parts:
            _allow(method, "GET")
            return Result(200, self.resources(v))
        head, rest = parts[0], parts[1:]
        if head == "sobjects":
            return self.sobjects(method, v, rest, params, body)
        if head in ("query", "queryAll") and len(rest) <= 1:
            _allow(method, "GET")
            if rest:
                return self.query_more(v, rest[0])
            return self.query(v, params, headers, head)
        if head == "composite" and not nested:
            if not rest:
                _allow(method, "POST")
                return self.composite(v, _load(body))
            if rest[0] == "sobjects" and len(rest) <= 2:
                return self.collections(method, v, rest[1:], params, _load(body))
        if head == "limits" and not rest:
            _allow(method, "GET")
            return Result(200, self.limits())
        raise not_found()

    def resources(self, v: str) -> dict[str, str]:
        base = f"/services/data/v{v}"
        return {name: f"{base}/{name}" for name in
                ("sobjects", "query", "queryAll", "composite", "limits", "search", "tooling",
                 "recent", "uiapi")}

    # -- sObjects --------------------------------------------------------------------------
    def sobjects(self, method: str, v: str, rest: list[str], params: dict[str, str],
                 body: Any) -> Result:
        base = f"/services/data/v{v}"
        org, work = self.work.org, self.work
        if not rest:
            _allow(method, "GET")
            return Result(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
                object_summary(base, o) for o in org.objects.values()]})
        obj = work.sobject(rest[0])
        if len(rest) == 1:
            _allow(method, "GET", "POST")
            if method == "GET":
                return Result(200, {"objectDescribe": object_summary(base, obj),
                                    "recentItems": []})
            record_id = work.create(obj, _load(body))
            return Result(201, {"id": record_id, "success": True, "errors": []},
                          {"Location": f"{base}/sobjects/{obj.name}/{record_id}"})
        if len(rest) == 2 and rest[1] == "describe":
            _allow(method, "GET")
            return Result(200, describe_object(base, org, obj))
        if len(rest) == 2 and rest[1] in ("updated", "deleted"):
            _allow(method, "GET")
            return Result(200, self.replication(obj, rest[1], params))
        if len(rest) == 2:
            _allow(method, "GET", "PATCH", "DELETE")
            return self.record(method, v, obj, rest[1], params, body)
        if len(rest) == 3:
            _allow(method, "GET", "PATCH", "DELETE")
            return self.by_external_id(method, v, obj, rest[1], rest[2], params, body)
        raise not_found()

    def _locate(self, obj: SObjectDef, raw_id: str) -> dict[str, Any]:
        normal = ids.normalize(raw_id)
        if normal is None or ids.prefix(normal) != obj.key_prefix:
            raise SalesforceError(404, "NOT_FOUND", "Provided external ID field does not exist "
                                  f"or is not accessible: {raw_id}")
        record = self.work.find(obj, normal)
        if record is None:
            raise not_found()
        return record

    def record(self, method: str, v: str, obj: SObjectDef, raw_id: str,
               params: dict[str, str], body: Any) -> Result:
        if method == "DELETE":
            self._locate_any(obj, raw_id)
            self.work.delete(obj, raw_id)
            return Result(204)
        if method == "PATCH":
            normal = self._locate_any(obj, raw_id)
            record = self.work.find(obj, normal)
            if record is None:
                raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
            self.work.update(obj, record, _load(body))
            return Result(204)
        record = self._locate(obj, raw_id)
        return Result(200, self.work.render(obj, record, v, _field_list(params)))

    def _locate_any(self, obj: SObjectDef, raw_id: str) -> str:
        """Like `_locate`, but deleted rows count (PATCH/DELETE answer ENTITY_IS_DELETED)."""
        normal = ids.normalize(raw_id)
        if normal is None or ids.prefix(normal) != obj.key_prefix:
            raise SalesforceError(404, "NOT_FOUND", "Provided external ID field does not exist "
                                  f"or is not accessible: {raw_id}")
        if normal not in self.tenant.collection(f"sobject:{obj.name}"):
            raise not_found()
        return normal

    def by_external_id(self, method: str, v: str, obj: SObjectDef, field_name: str,
                       value: str, params: dict[str, str], body: Any) -> Result:
        work = self.work
        try:
            if method == "PATCH":
                record_id, created = work.upsert(obj, field_name, value, _load(body),
                                                 update_only=_truthy(params.get("updateOnly")))
                legacy = int(float(v)) < UPSERT_BODY_SINCE
                if created:
                    result = {"id": record_id, "success": True, "errors": []}
                    return Result(201, result if legacy else {**result, "created": True})
                if legacy:
                    return Result(204)
                return Result(200, {"id": record_id, "success": True, "errors": [],
                                    "created": False})
            f = obj.field(field_name)
            if f is None or not (f.external_id or f.id_lookup):
                raise SalesforceError(404, "NOT_FOUND", "Provided external ID field does not "
                                      f"exist or is not accessible: {field_name}")
            matches = work.by_external_id(obj, f, value)
            if len(matches) > 1:
                raise MultipleMatches([r["Id"] for r in matches])
            if not matches:
                raise not_found()
            if method == "DELETE":
                work.delete(obj, matches[0]["Id"])
                return Result(204)
            return Result(200, work.render(obj, matches[0], v, _field_list(params)))
        except MultipleMatches as many:
            return Result(300, [attributes(obj.name, i, v)["url"] for i in many.record_ids])

    def replication(self, obj: SObjectDef, kind: str, params: dict[str, str]) -> dict[str, Any]:
        """`GET /sobjects/{X}/updated|deleted?start=&end=`: ids changed in a window, by
        SystemModstamp (Salesforce's polling API for replication)."""
        try:
            start, end = (datetime.fromisoformat(params[k].replace(" ", "+")).astimezone(UTC)
                          for k in ("start", "end"))
        except (KeyError, ValueError, OverflowError):  # overflow: e.g. 0001-01-01T00:00+01:00
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", "start and end must be "
                                  "ISO 8601 date-times, e.g. 2024-05-31T00:00:00+00:00") from None
        now = datetime.fromtimestamp(self.ctx.now, UTC)
        covered = min(end, now).replace(second=0, microsecond=0)
        rows = [r for r in self.tenant.collection(f"sobject:{obj.name}").values()
                if bool(r.get("IsDeleted")) == (kind == "deleted")
                and start <= datetime.fromisoformat(r["SystemModstamp"]) < covered]
        latest = sf_datetime(covered.timestamp())
        if kind == "updated":
            return {"ids": [r["Id"] for r in rows], "latestDateCovered": latest}
        return {"deletedRecords": [{"id": r["Id"], "deletedDate": r["SystemModstamp"]}
                                   for r in rows],
                "earliestDateAvailable": sf_datetime(self.ctx.now - 15 * 86400),
                "latestDateCovered": latest}

    # -- SOQL ------------------------------------------------------------------------------
    def query(self, v: str, params: dict[str, str], headers: dict[str, str],
              resource: str) -> Result:
        soql = params.get("q")
        if not soql:
            raise malformed_query("A query string has to be specified")
        try:
            result = run_query(self.tenant, soql, self.ctx.now,
                               include_deleted=resource == "queryAll", version=v)
        except SoqlError as exc:
            raise SalesforceError(400, exc.error_code, exc.message) from None
        batch = _batch_size(headers.get("sforce-query-options", ""))
        records = result.records
        if len(records) <= batch:
            return Result(200, {"totalSize": result.total_size, "done": True,
                                "records": records})
        locators = self.tenant.collection("query_locators")
        for stale in [k for k, s in locators.items()
                      if s["touched"] < self.ctx.now - LOCATOR_IDLE]:
            del locators[stale]
        locator = ids.new_id(self.tenant, ids.QUERY_LOCATOR_PREFIX)
        locators[locator] = {"records": records, "batch": batch, "resource": resource,
                             "touched": self.ctx.now}
        return Result(200, {"totalSize": result.total_size, "done": False,
                            "nextRecordsUrl": f"/services/data/v{v}/{resource}/{locator}-{batch}",
                            "records": records[:batch]})

    def query_more(self, v: str, token: str) -> Result:
        locator, _, offset = token.rpartition("-")
        state = self.tenant.collection("query_locators").get(locator)
        if state is None or not offset.isdigit() or int(offset) > len(state["records"]):
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        start, batch, records = int(offset), state["batch"], state["records"]
        page = records[start:start + batch]
        body: dict[str, Any] = {"totalSize": len(records), "done": start + batch >= len(records)}
        if body["done"]:
            del self.tenant.collection("query_locators")[locator]
        else:
            state["touched"] = self.ctx.now
            body["nextRecordsUrl"] = (f"/services/data/v{v}/{state['resource']}/{locator}-"
                                      f"{start + batch}")
        body["records"] = page
        return Result(200, body)

    # -- composite -------------------------------------------------------------------------
    def composite(self, v: str, body: Any) -> Result:
        subs = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subs, list) or not subs:
            raise json_parser("compositeRequest: a non-empty list of subrequests is required")
        if len(subs) > MAX_SUBREQUESTS:
            raise SalesforceError(400, "LIMIT_EXCEEDED", "Cannot have more than "
                                  f"{MAX_SUBREQUESTS} subrequests in a composite request.")
        all_or_none = _json_flag(body, "allOrNone")
        point = self.work.savepoint() if all_or_none else None
        outputs: list[dict[str, Any]] = []
        results: dict[str, Any] = {}
        failed = False
        for sub in subs:
            sub = sub if isinstance(sub, dict) else {}
            ref = sub.get("referenceId")
            if failed:
                outputs.append(_halted(ref))
                continue
            result = self._subrequest(sub, results)
            outputs.append({"body": result.body, "httpHeaders": result.headers,
                            "httpStatusCode": result.status, "referenceId": ref})
            if result.status < 300:
                results[str(ref)] = result.body
            elif all_or_none:
                failed = True
        if failed and point is not None:
            self.work.rollback(point)
            outputs = [o if o["httpStatusCode"] >= 300 else _halted(o["referenceId"])
                       for o in outputs]
        return Result(200, {"compositeResponse": outputs})

    def _subrequest(self, sub: dict[str, Any], results: dict[str, Any]) -> Result:
        try:
            url = _resolve(str(sub.get("url", "")), results)
            body = _resolve(sub.get("body"), results)
            method = str(sub.get("method", "")).upper()
            split = urlsplit(url)
            match = re.match(r"^/services/data/(v[^/]+)(/.*)?$", split.path)
            if match is None:
                raise not_found()
            params = dict(parse_qsl(split.query))
            sent = sub.get("httpHeaders") or {}
            if not isinstance(sent, dict) or not all(isinstance(v, str) for v in sent.values()):
                raise json_parser("httpHeaders: a JSON object of header names to values is "
                                  "required")
            headers = {k.lower(): str(v) for k, v in sent.items()}
            return self.dispatch(method, match.group(1), match.group(2) or "", params, body,
                                 headers, nested=True)
        except Unresolved as exc:
            return Result(400, [{"errorCode": "PROCESSING_HALTED", "message": str(exc)}])
        except MultipleMatches as many:
            return Result(300, list(many.record_ids))
        except SalesforceError as exc:
            return Result(exc.status, exc.body, {})

    # -- sObject Collections ---------------------------------------------------------------
    def collections(self, method: str, v: str, rest: list[str], params: dict[str, str],
                    body: Any) -> Result:
        if rest:
            _allow(method, "GET")
            obj = self.work.sobject(rest[0])
            wanted = [i for i in (params.get("ids") or "").split(",") if i.strip()]
            if not wanted:
                raise SalesforceError(400, "MISSING_ARGUMENT", "ids parameter is required")
            fields = _field_list(params)
            out = []
            for raw in wanted:
                record = self.work.find(obj, raw.strip())
                out.append(None if record is None else self.work.render(obj, record, v, fields))
            return Result(200, out)
        _allow(method, "POST", "PATCH", "DELETE")
        if method == "DELETE":
            items: list[Any] = [i for i in (params.get("ids") or "").split(",") if i.strip()]
            all_or_none = _truthy(params.get("allOrNone"))
        else:
            items = body.get("records") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise json_parser("records: a list of records is required")
            all_or_none = _json_flag(body, "allOrNone")
        if len(items) > MAX_COLLECTION:
            raise SalesforceError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot "
                                  f"submit more than {MAX_COLLECTION} records into this call")
        point = self.work.savepoint() if all_or_none else None
        out = [self._collection_item(method, item) for item in items]
        if point is not None and not all(r["success"] for r in out):
            self.work.rollback(point)
            out = [r if not r["success"] else {"id": None, "success": False,
                                               "errors": [ROLLED_BACK]} for r in out]
        return Result(200, out)

    def _collection_item(self, method: str, item: Any) -> dict[str, Any]:
        work = self.work
        record_id = None
        try:
            if method == "DELETE":
                record_id = str(item).strip()
                normal = ids.normalize(record_id)
                obj = work.org.by_prefix(ids.prefix(normal)) if normal else None
                if obj is None:
                    raise SalesforceError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
                work.delete(obj, normal)
                return {"id": normal, "success": True, "errors": []}
            if not isinstance(item, dict):
                raise json_parser("each record must be a JSON object")
            attributes = item.get("attributes") or {}
            if not isinstance(attributes, dict):
                raise json_parser("attributes: a JSON object with the record's type is "
                                  "required")
            kind = attributes.get("type")
            obj = work.org.get(str(kind)) if kind else None
            if obj is None:
                raise SalesforceError(400, "INVALID_TYPE", "sObject type "
                                      f"'{kind}' is not supported.", [])
            if method == "POST":
                if "Id" in item or "id" in item:
                    raise SalesforceError(400, "INVALID_FIELD_FOR_INSERT_UPDATE",
                                          "cannot specify Id in an insert call", ["Id"])
                return {"id": work.create(obj, item), "success": True, "errors": []}
            sent_id = item.get("Id") or item.get("id")
            if not sent_id:
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update "
                                      "call", [])
            if not isinstance(sent_id, str):
                raise SalesforceError(400, "MALFORMED_ID", f"malformed id {sent_id}", ["Id"])
            record_id = sent_id
            record = work.find(obj, str(record_id))
            if record is None:
                raise SalesforceError(400, "INVALID_CROSS_REFERENCE_KEY",
                                      "invalid cross reference id", [])
            work.update(obj, record, {k: v for k, v in item.items() if k not in ("id",)})
            return {"id": record["Id"], "success": True, "errors": []}
        except SalesforceError as exc:
            return {"id": None if method == "POST" else record_id, "success": False,
                    "errors": [exc.record_error()]}

    # -- limits ----------------------------------------------------------------------------
    def limits(self) -> dict[str, Any]:
        limit = daily_limit(self.tenant)
        used = api_usage(self.tenant, self.ctx.now)

        def pair(maximum: int, remaining: int | None = None) -> dict[str, int]:
            return {"Max": maximum, "Remaining": maximum if remaining is None else remaining}

        return {"ConcurrentAsyncGetReportInstances": pair(200),
                "ConcurrentSyncReportRuns": pair(20),
                "DailyApiRequests": pair(limit, max(0, limit - used)),
                "DailyAsyncApexExecutions": pair(250000), "DailyBulkApiBatches": pair(15000),
                "DailyBulkV2QueryJobs": pair(10000), "DailyStreamingApiEvents": pair(10000),
                "DataStorageMB": pair(5), "FileStorageMB": pair(20),
                "HourlyTimeBasedWorkflow": pair(50), "SingleEmail": pair(15)}


def _field_list(params: dict[str, str]) -> list[str] | None:
    raw = params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _batch_size(header: str) -> int:
    match = re.search(r"batchSize\s*=\s*(\d+)", header, re.IGNORECASE)
    if match is None:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(MAX_BATCH, int(match.group(1))))


def _halted(ref: Any) -> dict[str, Any]:
    return {"body": [{"errorCode": "PROCESSING_HALTED", "message": HALTED}], "httpHeaders": {},
            "httpStatusCode": 400, "referenceId": ref}


def _lookup(results: dict[str, Any], name: str, path: str) -> Any:
    if name not in results:
        raise Unresolved(f"Invalid reference specified. No value for {name}{path} found in "
                         f"{name}. Provided referenceId ('{name}') wasn't found or its "
                         f"request failed.")
    value = results[name]
    for key, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            raise Unresolved(f"Invalid reference specified. No value for {name}{path} found "
                             f"in {name}.") from None
    return value


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    """Substitute `@{ref.path}` in strings (a whole-string reference keeps the value's type)."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(results, whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


# -- HTTP --------------------------------------------------------------------------------------

async def rest(request: Request, version: str, path: str = "") -> Response:
    ctx = context(request)
    api = Api(ctx)
    try:
        result = api.dispatch(request.method, version, path, dict(request.query_params),
                              await request.body(), dict(request.headers))
    except MultipleMatches as many:
        result = Result(300, list(many.record_ids))
    finally:
        events.notify(ctx.sim, api.tenant, api.work.changes, ctx.now)
    return result.response()


async def versions(request: Request) -> Response:
    return JSONResponse([{"label": version_label(v), "url": f"/services/data/v{v}",
                          "version": v} for v in VERSIONS], media_type=JSON_TYPE)


async def token(request: Request) -> Response:
    ctx = context(request)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    instance_url = f"{request.url.scheme}://{request.url.netloc}"
    return JSONResponse(grant(ctx.sim, form, instance_url), media_type=JSON_TYPE)


async def authorize_endpoint(request: Request) -> Response:
    location = authorize(context(request).sim, dict(request.query_params))
    return RedirectResponse(location, status_code=302)


async def revoke_endpoint(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    form.update(request.query_params)
    if not revoke(context(request).sim, form.get("token", "")):
        raise oauth_error("unsupported_token_type", "this token type is not supported")
    return Response(status_code=200)


def router() -> APIRouter:
    # Operation ids as in openapi.py; the catch-alls are described there resource by resource.
    r = APIRouter()
    r.add_api_route("/services/oauth2/token", token, methods=["POST"],
                    operation_id="requestToken")
    r.add_api_route("/services/oauth2/authorize", authorize_endpoint, methods=["GET"],
                    operation_id="authorize")
    r.add_api_route("/services/oauth2/revoke", revoke_endpoint, methods=["POST"],
                    operation_id="revokeToken")
    r.add_api_route("/services/data", versions, methods=["GET"], operation_id="listVersions")
    r.add_api_route("/services/data/", versions, methods=["GET"],
                    operation_id="listVersionsWithSlash")
    methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
    r.add_api_route("/services/data/{version}", rest, methods=methods, include_in_schema=False)
    r.add_api_route("/services/data/{version}/{path:path}", rest, methods=methods,
                    include_in_schema=False)
    return r
