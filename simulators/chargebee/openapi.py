"""The fake Chargebee's published OpenAPI 3.1 document: exactly the operations it serves.

Hand-maintained, in Chargebee's own shapes: form-encoded request bodies whose property names are
the bracketed keys Chargebee reads (`card[number]`, `subscription_items[item_price_id][0]`, list
index last), filters as `deepObject` query parameters (`status[is]=active`), single results
wrapped by resource name with their companions (`{"customer": …, "card": …}`), lists as
`{"list": [{"customer": …}], "next_offset": "…"}`, and Chargebee's error body for every error
status. Objects are closed (`additionalProperties: false`) so the document says exactly what
the fake returns; a site's `cf_` custom fields, which differ per site, are `patternProperties`.
`published(generated)` merges it with FastAPI's `/_sim/` control plane.
"""

from __future__ import annotations

from typing import Any

from simulators.chargebee import models
from simulators.chargebee.event_types import EVENT_TYPES
from simulators.chargebee.routes import (
    API_VERSIONS,
    EVENT_WINDOW,
    FILTER_OPS,
    LIST_FILTERS,
    LIST_OPS,
    MAX_LIMIT,
    PREFIX,
)
from simulators.core.openapi import publish, ref

Schema = dict[str, Any]
FORM = "application/x-www-form-urlencoded"
CF = "^cf_[a-z0-9_]+$"
# a custom field's canonical value: text/picklist/date as strings, numbers, booleans, multipicklists
CF_VALUE: Schema = {"type": ["string", "number", "boolean", "array"], "items": {"type": "string"}}
STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
BOOL: Schema = {"type": "boolean"}
TS: Schema = {"type": "integer", "description": "Unix time in seconds"}
EVENT_TYPE: Schema = {"type": "string", "enum": sorted(EVENT_TYPES)}
ERROR_STATUSES = {
    "400": "Bad parameters (`invalid_request`, `param_wrong_value`, `duplicate_entry`) or a "
           "payment failure (`type: payment`; Chargebee has no 402)",
    "401": "Missing or unknown API key (`api_authentication_failed`)",
    "404": "No such resource (`resource_not_found`)",
    "405": "Method not supported for the URL",
    "429": "Site request limit (`api_request_limit_exceeded`, with `Retry-After`) or "
           "`lock_timeout`",
    "500": "Internal error", "503": "Temporarily unavailable", "504": "Gateway timeout",
    "4XX": "Any other client error Chargebee sends (403, 409, 422, injected faults)",
    "5XX": "Any other server error",
}


def obj(required: list[str], props: dict[str, Schema], *, custom_fields: bool = False,
        object_name: str | None = None) -> Schema:
    """A closed JSON object; `object_name` adds Chargebee's `"object": "<name>"` marker."""
    props = dict(props)
    if object_name:
        props["object"] = {"const": object_name}
        required = [*required, "object"]
    schema: Schema = {"type": "object", "required": required, "properties": props,
                      "additionalProperties": False}
    if custom_fields:
        schema["patternProperties"] = {CF: CF_VALUE}
    return schema


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


# -- resources ----------------------------------------------------------------------------------
def _error() -> Schema:
    return obj(["message", "api_error_code", "error_code", "error_msg", "http_status_code"], {
        "message": STR, "type": enum("payment", "invalid_request", "operation_failed"),
        "api_error_code": STR, "param": STR, "error_cause_id": STR,
        "error_code": STR, "error_msg": STR, "error_param": STR, "http_status_code": INT})


def _customer() -> Schema:
    text = {name: STR for name in ("first_name", "last_name", "email", "phone", "company",
                                   "locale", "invoice_notes", "vat_number")}
    return obj(["id", "auto_collection", "net_term_days", "allow_direct_debit", "created_at",
                "taxability", "card_status", "deleted",
                "updated_at", "resource_version"], {
        "id": STR, **text, "preferred_currency_code": STR,
        "auto_collection": enum("on", "off"), "net_term_days": INT, "allow_direct_debit": BOOL,
        "created_at": TS, "updated_at": TS, "resource_version": INT,
        "taxability": enum("taxable", "exempt"), "pii_cleared": STR, "channel": STR,
        "card_status": enum("no_card", "valid", "expiring", "expired"),
        "promotional_credits": INT, "refundable_credits": INT, "excess_payments": INT,
        "unbilled_charges": INT, "deleted": BOOL, "primary_payment_source_id": STR,
        "payment_method": ref("PaymentMethod"), "billing_address": ref("BillingAddress"),
        "meta_data": {"type": "object"}}, custom_fields=True, object_name="customer")


ADDRESS_FIELDS = ("first_name", "last_name", "email", "company", "phone", "line1", "line2",
                  "line3", "city", "state_code", "state", "country", "zip")


def _billing_address() -> Schema:
    schema = obj([], {name: STR for name in ADDRESS_FIELDS}, object_name="billing_address")
    schema["additionalProperties"] = STR  # the fake keeps any billing_address[...] it is sent
    return schema


def _payment_method() -> Schema:
    return obj(["type", "gateway", "gateway_account_id", "status", "reference_id"], {
        "type": enum("card"), "gateway": STR, "gateway_account_id": STR,
        "status": enum("valid", "expiring", "expired", "invalid", "pending_verification"),
        "reference_id": STR}, object_name="payment_method")


CARD_DETAILS = {"iin": STR, "last4": STR, "funding_type": STR, "expiry_month": INT,
                "expiry_year": INT, "masked_number": STR, "first_name": STR, "last_name": STR}


def _card() -> Schema:
    """The `card` companion of a customer with a primary card."""
    return obj(["status", "gateway", "gateway_account_id", "iin", "last4", "card_type",
                "expiry_month", "expiry_year", "masked_number", "customer_id",
                "payment_source_id", "created_at", "updated_at", "resource_version"], {
        **CARD_DETAILS, "status": enum("valid", "expiring", "expired"), "gateway": STR,
        "gateway_account_id": STR, "card_type": STR, "customer_id": STR,
        "payment_source_id": STR, "created_at": TS, "updated_at": TS,
        "resource_version": INT}, object_name="card")


def _payment_source() -> Schema:
    card = obj(["iin", "last4", "brand", "expiry_month", "expiry_year", "masked_number"],
               {**CARD_DETAILS, "brand": STR}, object_name="card")
    return obj(["id", "customer_id", "type", "reference_id", "status", "gateway",
                "gateway_account_id", "created_at", "updated_at", "resource_version", "card",
                "deleted"], {
        "id": STR, "customer_id": STR, "type": enum("card"), "reference_id": STR,
        "status": enum("valid", "expiring", "expired", "invalid", "pending_verification"),
        "gateway": STR, "gateway_account_id": STR, "created_at": TS, "updated_at": TS,
        "resource_version": INT, "card": card, "deleted": BOOL},
        object_name="payment_source")


def _item_family() -> Schema:
    return obj(["id", "name", "status", "channel", "updated_at", "resource_version",
                "deleted"], {
        "id": STR, "name": STR, "description": STR, "status": enum("active", "deleted"),
        "channel": STR, "updated_at": TS, "resource_version": INT, "deleted": BOOL},
        custom_fields=True, object_name="item_family")


def _item() -> Schema:
    flags = {name: BOOL for name in ("is_shippable", "is_giftable", "enabled_for_checkout",
                                     "enabled_in_portal", "metered", "deleted")}
    return obj(["id", "name", "external_name", "status", "item_family_id", "type",
                "item_applicability", "channel", "updated_at", "resource_version", *flags], {
        "id": STR, "name": STR, "external_name": STR, "status": enum("active", "archived"),
        "item_family_id": STR, "type": enum("plan", "addon", "charge"), **flags,
        "item_applicability": enum("all", "restricted"), "channel": STR, "updated_at": TS,
        "resource_version": INT}, custom_fields=True, object_name="item")


PERIOD_UNIT = enum("day", "week", "month", "year")


def _item_price() -> Schema:
    return obj(["id", "name", "item_family_id", "item_id", "status", "external_name",
                "pricing_model", "price", "currency_code", "free_quantity", "channel",
                "created_at", "updated_at", "resource_version", "is_taxable", "item_type",
                "archivable", "deleted"], {
        "id": STR, "name": STR, "item_family_id": STR, "item_id": STR,
        "status": enum("active", "archived"), "external_name": STR,
        "pricing_model": enum("flat_fee", "per_unit"), "price": INT, "currency_code": STR,
        "free_quantity": INT, "channel": STR, "created_at": TS, "updated_at": TS,
        "resource_version": INT, "is_taxable": BOOL,
        "item_type": enum("plan", "addon", "charge"), "archivable": BOOL, "deleted": BOOL,
        "period": INT, "period_unit": PERIOD_UNIT, "trial_period": INT,
        "trial_period_unit": enum("day", "month"), "billing_cycles": INT},
        custom_fields=True, object_name="item_price")


def _subscription() -> Schema:
    item = obj(["item_price_id", "item_type", "quantity", "unit_price", "amount",
                "free_quantity"], {
        "item_price_id": STR, "item_type": enum("plan", "addon", "charge"), "quantity": INT,
        "unit_price": INT, "amount": INT, "free_quantity": INT},
        object_name="subscription_item")
    times = {name: TS for name in (
        "created_at", "updated_at", "start_date", "trial_start", "trial_end",
        "current_term_start", "current_term_end", "next_billing_at", "started_at",
        "activated_at", "cancelled_at", "cancel_schedule_created_at", "due_since")}
    return obj(["id", "customer_id", "status", "billing_period", "billing_period_unit",
                "currency_code", "created_at", "updated_at", "resource_version",
                "has_scheduled_changes", "has_scheduled_advance_invoices", "decommissioned",
                "channel", "due_invoices_count", "mrr", "deleted", "subscription_items"], {
        "id": STR, "customer_id": STR,
        "status": enum("future", "in_trial", "active", "non_renewing", "cancelled"),
        "billing_period": INT, "billing_period_unit": PERIOD_UNIT, "currency_code": STR,
        **times, "resource_version": INT, "has_scheduled_changes": BOOL, "channel": STR,
        "has_scheduled_advance_invoices": BOOL, "decommissioned": BOOL,
        "due_invoices_count": INT, "total_dues": INT, "mrr": INT, "deleted": BOOL,
        "subscription_items": {"type": "array", "items": item}, "po_number": STR,
        "invoice_notes": STR, "auto_collection": enum("on", "off"), "payment_source_id": STR,
        "meta_data": {"type": "object"}, "remaining_billing_cycles": INT,
        "cancel_reason": STR, "cancel_reason_code": STR},
        custom_fields=True, object_name="subscription")


def _invoice() -> Schema:
    line = obj(["id", "date_from", "date_to", "unit_amount", "quantity", "amount",
                "pricing_model", "is_taxed", "tax_amount", "subscription_id", "customer_id",
                "description", "entity_type", "entity_id", "discount_amount",
                "item_level_discount_amount"], {
        "id": STR, "date_from": TS, "date_to": TS, "unit_amount": INT, "quantity": INT,
        "amount": INT, "pricing_model": enum("flat_fee", "per_unit"), "is_taxed": BOOL,
        "tax_amount": INT, "subscription_id": STR, "customer_id": STR, "description": STR,
        "entity_type": enum("plan_item_price", "addon_item_price", "charge_item_price"),
        "entity_id": STR, "discount_amount": INT, "item_level_discount_amount": INT},
        object_name="line_item")
    payment = obj(["txn_id", "applied_amount", "applied_at", "txn_status", "txn_date",
                   "txn_amount"], {
        "txn_id": STR, "applied_amount": INT, "applied_at": TS,
        "txn_status": enum("success", "failure"), "txn_date": TS, "txn_amount": INT})
    attempt = obj(["attempt", "transaction_id", "dunning_type", "created_at", "txn_status",
                   "txn_amount"], {
        "attempt": INT, "transaction_id": STR, "dunning_type": enum("auto_collect"),
        "created_at": TS, "txn_status": enum("success", "failure"), "txn_amount": INT})
    amounts = {name: INT for name in (
        "total", "amount_paid", "amount_adjusted", "write_off_amount", "credits_applied",
        "amount_due", "amount_to_collect", "round_off_amount", "tax", "sub_total")}
    flags = {name: BOOL for name in ("recurring", "first_invoice", "has_advance_charges",
                                     "term_finalized", "is_gifted", "deleted")}
    return obj(["id", "customer_id", "status", "date", "due_date", "currency_code",
                "line_items", "linked_payments", "dunning_attempts", "updated_at",
                "resource_version", *amounts, *flags], {
        "id": STR, "customer_id": STR, "subscription_id": STR,
        "status": enum("paid", "payment_due", "not_paid"),
        "price_type": enum("tax_exclusive", "tax_inclusive"), "date": TS, "due_date": TS,
        "paid_at": TS, "generated_at": TS, "updated_at": TS, "next_retry_at": TS,
        "expected_payment_date": TS, "resource_version": INT, "net_term_days": INT,
        "exchange_rate": {"type": "number"}, **amounts, **flags, "currency_code": STR,
        "channel": STR,
        "dunning_status": enum("in_progress", "stopped", "success", "exhausted"),
        "line_items": {"type": "array", "items": line},
        "linked_payments": {"type": "array", "items": payment},
        "dunning_attempts": {"type": "array", "items": attempt}}, object_name="invoice")


def _transaction() -> Schema:
    detail = obj(["error_code", "error_message"], {
        name: STR for name in ("error_category", "error_code", "error_message", "decline_code",
                               "decline_message", "error_cause_id")})
    linked = obj(["invoice_id", "applied_amount", "applied_at", "invoice_date",
                  "invoice_total", "invoice_status"], {
        "invoice_id": STR, "applied_amount": INT, "applied_at": TS, "invoice_date": TS,
        "invoice_total": INT, "invoice_status": enum("paid", "payment_due", "not_paid")})
    text = {name: STR for name in (
        "subscription_id", "payment_source_id", "gateway_account_id", "id_at_gateway",
        "reference_number", "masked_card_number", "iin", "last4", "error_code", "error_text")}
    return obj(["id", "customer_id", "payment_method", "gateway", "type", "date",
                "currency_code", "amount", "status", "amount_unused", "linked_invoices",
                "linked_credit_notes", "linked_refunds", "deleted", "updated_at",
                "resource_version"], {
        "id": STR, "customer_id": STR, **text, "payment_method": STR, "gateway": STR,
        "type": enum("payment"), "date": TS, "currency_code": STR, "amount": INT,
        "exchange_rate": {"type": "number"}, "status": enum("success", "failure"),
        "initiator_type": enum("merchant", "customer"), "three_d_secure": BOOL,
        "amount_unused": INT, "error_detail": detail,
        "linked_invoices": {"type": "array", "items": linked},
        "linked_credit_notes": {"type": "array", "maxItems": 0},
        "linked_refunds": {"type": "array", "maxItems": 0}, "deleted": BOOL,
        "updated_at": TS, "resource_version": INT}, object_name="transaction")


def _event() -> Schema:
    content = obj([], {name: ref(schema) for name, schema in RESOURCES.items()
                       if name in ("customer", "card", "payment_source", "subscription",
                                   "invoice", "transaction")})
    webhook = obj(["id", "webhook_status"], {
        "id": STR, "webhook_status": enum("scheduled", "succeeded", "failed")},
        object_name="webhook")
    return obj(["id", "occurred_at", "source", "api_version", "content", "event_type",
                "webhook_status", "webhooks"], {
        "id": STR, "occurred_at": TS, "source": enum("api", "scheduled_job"),
        "user": STR, "api_version": enum("v2"), "content": content, "event_type": STR,
        "webhook_status": enum("not_configured", "scheduled", "succeeded", "failed"),
        "webhooks": {"type": "array", "items": webhook}}, object_name="event")


def _webhook_endpoint() -> Schema:
    return obj(["id", "api_version", "disabled", "send_card_resource", "primary_url",
                "chargebee_response_schema_type"], {
        "id": STR, "name": STR, "url": STR, "api_version": STR, "disabled": BOOL,
        "send_card_resource": BOOL, "primary_url": BOOL,
        "chargebee_response_schema_type": enum("compat", "plain_json", "both"),
        "enabled_events": {"type": "array", "items": EVENT_TYPE}}, object_name="webhook_endpoint")


# resource name (its wrapper key) -> component schema name
RESOURCES = {"customer": "Customer", "card": "Card", "payment_source": "PaymentSource",
             "item_family": "ItemFamily", "item": "Item", "item_price": "ItemPrice",
             "subscription": "Subscription", "invoice": "Invoice",
             "transaction": "Transaction", "event": "Event",
             "webhook_endpoint": "WebhookEndpoint"}


def component_schemas() -> dict[str, Schema]:
    return {"Error": _error(), "Customer": _customer(), "BillingAddress": _billing_address(),
            "PaymentMethod": _payment_method(), "Card": _card(),
            "PaymentSource": _payment_source(), "ItemFamily": _item_family(), "Item": _item(),
            "ItemPrice": _item_price(), "Subscription": _subscription(),
            "Invoice": _invoice(), "Transaction": _transaction(), "Event": _event(),
            "WebhookEndpoint": _webhook_endpoint()}


def result(required: list[str], optional: tuple[str, ...] = ()) -> Schema:
    """A result wrapped by resource name: `{"customer": {...}, "card": {...}}`."""
    return obj(required, {name: ref(RESOURCES[name]) for name in (*required, *optional)})


def listing(entry: Schema) -> Schema:
    return obj(["list"], {"list": {"type": "array", "items": entry, "maxItems": MAX_LIMIT},
                          "next_offset": STR})


# -- parameters ---------------------------------------------------------------------------------
def _filter(name: str, kind: str, values: tuple[str, ...] = ()) -> Schema:
    """`name[op]=value` with the operators routes.FILTER_OPS gives the field's kind; `in`,
    `not_in` and `between` take a list written as `[a,b]`."""
    ops = FILTER_OPS[kind]
    value: Schema = {"text": STR, "enum": enum(*values) if values else STR, "number": INT,
                     "time": TS, "bool": enum("true", "false")}[kind]
    listed = {"type": "string", "pattern": r"^\[[^\[\]]*\]$",
              "description": "a list, `[a,b]`"}
    props = {op: listed if op in LIST_OPS else value for op in ops}
    if "is_present" in props:
        props["is_present"] = enum("true", "false")
    return {"name": name, "in": "query", "style": "deepObject", "explode": True,
            "schema": {"type": "object", "properties": props, "additionalProperties": False},
            "description": f"Filter on `{name}`, e.g. `{name}[{ops[0]}]=…`"}


def _list_parameters(filters: dict[str, tuple], sortable: tuple[str, ...]) -> list[Schema]:
    params: list[Schema] = [
        {"name": "limit", "in": "query",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
        {"name": "offset", "in": "query", "schema": STR,
         "description": "The previous page's `next_offset`"},
        {"name": "include_deleted", "in": "query", "schema": BOOL}]
    if sortable:
        order = enum(*sortable)
        params.append({"name": "sort_by", "in": "query", "style": "deepObject",
                       "explode": True, "schema": {
                           "type": "object", "properties": {"asc": order, "desc": order},
                           "minProperties": 1, "maxProperties": 1,
                           "additionalProperties": False}})
    params += [_filter(name, *spec) for name, spec in filters.items()]
    return params


def _path_id(name: str) -> Schema:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 100}}


IDEMPOTENCY = {"name": "chargebee-idempotency-key", "in": "header",
               "schema": {"type": "string", "minLength": 1, "maxLength": 100},
               "description": "Replays the stored result of the same request for 30 minutes"}
NO_WEBHOOKS = {"name": "chargebee-event-webhook", "in": "header",
               "schema": enum("all-disabled"),
               "description": "`all-disabled`: this request's events send no webhooks"}


def _form(props: dict[str, Schema], required: tuple[str, ...] = (), *,
          custom_fields: bool = False, indexed: dict[str, Schema] | None = None,
          body_required: bool = True) -> Schema:
    """A form body; `indexed` are list fields Chargebee sends index last (`a[b][0]`);
    `body_required=False`: every parameter is optional, so no body at all is a valid request."""
    schema: Schema = {"type": "object", "properties": dict(props),
                      "required": list(required)}
    patterns: dict[str, Schema] = {}
    if custom_fields:
        patterns[CF] = {"type": "string", "maxLength": 100}
    for key, value in (indexed or {}).items():
        prefix, _, field = key.partition("[")
        schema["properties"][f"{key}[0]"] = value
        patterns[rf"^{prefix}\[{field[:-1]}\]\[[1-9][0-9]?\]$"] = value
    if patterns:
        schema["patternProperties"] = patterns
    return {"required": body_required, "content": {FORM: {"schema": schema}}}


def _text_fields(*names: str) -> dict[str, Schema]:
    return {name: STR for name in names}


def _card_fields(prefix: str = "card") -> dict[str, Schema]:
    return {f"{prefix}[number]": {"type": "string", "pattern": "^[0-9 ]{12,23}$"},
            f"{prefix}[expiry_month]": {"type": "integer", "minimum": 1, "maximum": 12},
            f"{prefix}[expiry_year]": {"type": "integer", "minimum": 2000, "maximum": 2099},
            f"{prefix}[cvv]": STR, f"{prefix}[first_name]": STR, f"{prefix}[last_name]": STR}


CUSTOMER_FORM = {
    **_text_fields("first_name", "last_name", "email", "phone", "company", "locale",
                   "invoice_notes", "vat_number"),
    "preferred_currency_code": {"type": "string", "pattern": models.CURRENCY_PATTERN},
    "auto_collection": enum("on", "off"), "net_term_days": {"type": "integer", "minimum": 0},
    "meta_data": {"type": "string", "description": "a JSON object"},
    **{f"billing_address[{name}]": STR for name in ADDRESS_FIELDS}}
ID_FIELD = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": models.ID_PATTERN}
# an id the caller may choose or leave to Chargebee: absent or empty, Chargebee makes one
CHOSEN_ID = {"type": "string", "maxLength": 50, "pattern": f"^({models.ID_PATTERN[1:-1]})?$",
             "description": "Absent or empty: Chargebee makes one"}


# -- operations ---------------------------------------------------------------------------------
def _responses(success: Schema, description: str) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {
        "description": description, "content": {"application/json": {"schema": success}},
        "headers": {"chargebee-idempotency-replayed": {
            "description": "`true` on a replayed idempotent POST", "schema": STR}}}}
    for status, text in ERROR_STATUSES.items():
        error: dict[str, Any] = {"description": text,
                                 "content": {"application/json": {"schema": ref("Error")}}}
        if status == "429":
            error["headers"] = {"Retry-After": {"schema": STR}}
        responses[status] = error
    return responses


def _op(op_id: str, summary: str, success: Schema, *, params: list[Schema] | None = None,
        body: Schema | None = None, post: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary,
                                 "security": [{"basicAuth": []}],
                                 "parameters": list(params or [])}
    if post:
        operation["parameters"] += [IDEMPOTENCY, NO_WEBHOOKS]
        operation["requestBody"] = body or {"content": {FORM: {"schema": {
            "type": "object", "properties": {}}}}}
    operation["responses"] = _responses(success, summary)
    return operation


def _resource(plural: str, name: str, id_param: str, *, create: Schema | None,
              sortable: tuple[str, ...],
              companions: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """The usual trio: `POST /plural`, `GET /plural`, `GET /plural/{id}`; the list's filters
    are routes.LIST_FILTERS[plural], the table the fake checks them against."""
    one = result([name], companions)
    paths: dict[str, dict[str, Any]] = {f"/{plural}": {"get": _op(
        f"list_{plural}", f"List {plural.replace('_', ' ')}", listing(one),
        params=_list_parameters(LIST_FILTERS[plural], sortable))}}
    if create is not None:
        paths[f"/{plural}"]["post"] = _op(f"create_{name}", f"Create a {name.replace('_', ' ')}",
                                          one, body=create, post=True)
    paths[f"/{plural}/{{{id_param}}}"] = {"get": _op(
        f"retrieve_{name}", f"Retrieve a {name.replace('_', ' ')}", one,
        params=[_path_id(id_param)])}
    return paths


def _customer_paths() -> dict[str, dict[str, Any]]:
    # Chargebee's create-a-customer takes no required parameter: an empty POST makes one
    create = _form({"id": CHOSEN_ID, **CUSTOMER_FORM, **_card_fields()}, custom_fields=True,
                   body_required=False)
    paths = _resource("customers", "customer", "customer_id", create=create,
        sortable=("created_at", "updated_at"), companions=("card",))
    one = result(["customer"], ("card",))
    cid = _path_id("customer_id")
    paths["/customers/{customer_id}"]["post"] = _op(
        "update_customer", "Update a customer", one, params=[cid],
        body=_form(CUSTOMER_FORM, custom_fields=True), post=True)
    item = {"subscription_items[item_price_id]": {"type": "string", "minLength": 1},
            "subscription_items[quantity]": {"type": "integer", "minimum": 1},
            "subscription_items[unit_price]": {"type": "integer", "minimum": 0}}
    subscription = _form({
        "id": CHOSEN_ID, "trial_end": TS, "start_date": TS,
        "billing_cycles": {"type": "integer", "minimum": 1}, "payment_source_id": STR,
        "auto_collection": enum("on", "off"), "po_number": STR, "invoice_notes": STR,
        "meta_data": {"type": "string", "description": "a JSON object"}},
        ("subscription_items[item_price_id][0]",), custom_fields=True, indexed=item)
    paths["/customers/{customer_id}/subscription_for_items"] = {"post": _op(
        "create_subscription_for_items", "Create a subscription for a customer",
        result(["subscription", "customer"], ("card", "invoice")), params=[cid],
        body=subscription, post=True)}
    paths["/customers/{customer_id}/subscriptions"] = {"get": _op(
        "list_customer_subscriptions", "List a customer's subscriptions",
        listing(result(["subscription"])),
        params=[cid, *_list_parameters(LIST_FILTERS["customer_subscriptions"],
                                         ("created_at", "updated_at"))])}
    return paths


def _payment_source_paths() -> dict[str, dict[str, Any]]:
    paths = _resource("payment_sources", "payment_source", "payment_source_id", create=None,
                      sortable=("created_at", "updated_at"))
    body = _form({"customer_id": {"type": "string", "minLength": 1}, **_card_fields(),
                  "replace_primary_payment_source": BOOL},
                 ("customer_id", "card[number]", "card[expiry_month]", "card[expiry_year]"))
    paths["/payment_sources/create_card"] = {"post": _op(
        "create_card_payment_source", "Add a card to a customer",
        result(["customer", "payment_source"]), body=body, post=True)}
    return paths


def _catalog_paths() -> dict[str, dict[str, Any]]:
    sortable = ("updated_at", "created_at", "name", "id")
    family = _form({"id": ID_FIELD, "name": {"type": "string", "minLength": 1},
                    "description": STR}, ("id", "name"), custom_fields=True)
    item = _form({"id": ID_FIELD, "name": {"type": "string", "minLength": 1},
                  "type": enum("plan", "addon", "charge"), "item_family_id": STR,
                  "external_name": STR}, ("id", "name", "type", "item_family_id"),
                 custom_fields=True)
    price = _form({"id": ID_FIELD, "name": {"type": "string", "minLength": 1}, "item_id": STR,
                   "pricing_model": enum("flat_fee", "per_unit"),
                   "price": {"type": "integer", "minimum": 0}, "currency_code": STR,
                   "external_name": STR, "period": {"type": "integer", "minimum": 1},
                   "period_unit": PERIOD_UNIT, "trial_period": {"type": "integer", "minimum": 1},
                   "trial_period_unit": enum("day", "month"),
                   "billing_cycles": {"type": "integer", "minimum": 1}},
                  ("id", "name", "item_id"), custom_fields=True)
    return {
        **_resource("item_families", "item_family", "item_family_id", create=family,
                    sortable=sortable),
        **_resource("items", "item", "item_id", create=item, sortable=sortable),
        **_resource("item_prices", "item_price", "item_price_id", create=price,
                    sortable=sortable)}


def _subscription_paths() -> dict[str, dict[str, Any]]:
    paths = _resource("subscriptions", "subscription", "subscription_id", create=None,
                      sortable=("created_at", "updated_at"), companions=("customer", "card"))
    paths["/subscriptions/{subscription_id}"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"] = result(["subscription", "customer"], ("card",))
    paths["/subscriptions"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] = listing(result(["subscription", "customer"], ("card",)))
    cancel = _form({"cancel_option": enum("immediately", "end_of_term", "specific_date"),
                    "end_of_term": BOOL, "cancel_at": TS, "cancel_reason_code": STR})
    paths["/subscriptions/{subscription_id}/cancel_for_items"] = {"post": _op(
        "cancel_subscription_for_items", "Cancel a subscription",
        result(["subscription", "customer"], ("card",)),
        params=[_path_id("subscription_id")], body=cancel, post=True)}
    return paths


def _invoice_paths() -> dict[str, dict[str, Any]]:
    paths = _resource("invoices", "invoice", "invoice_id", create=None,
                      sortable=("date", "updated_at"))
    iid = [_path_id("invoice_id")]
    paid = result(["invoice", "transaction"])
    record = _form({"transaction[payment_method]": enum(
        "cash", "check", "bank_transfer", "other", "chargeback", "custom", "ach_credit",
        "sepa_credit", "boleto", "upi", "netbanking_emandates"),
        "transaction[amount]": {"type": "integer", "minimum": 1},
        "transaction[status]": enum("success", "failure"), "transaction[date]": TS,
        "transaction[reference_number]": STR, "transaction[id_at_gateway]": STR,
        "transaction[error_code]": STR, "transaction[error_text]": STR},
        ("transaction[payment_method]",))
    actions = {
        "collect_payment": ("Collect an invoice's amount due from a card", paid, _form({
            "payment_source_id": STR, "amount": {"type": "integer", "minimum": 1}})),
        "record_payment": ("Record an offline payment", paid, record),
        "stop_dunning": ("Stop dunning", result(["invoice"]), None),
        "pause_dunning": ("Pause dunning until an expected payment date", result(["invoice"]),
                          _form({"expected_payment_date": TS}, ("expected_payment_date",))),
        "resume_dunning": ("Resume paused dunning", result(["invoice"]), None)}
    for action, (summary, success, body) in actions.items():
        paths[f"/invoices/{{invoice_id}}/{action}"] = {"post": _op(
            f"{action}_invoice", summary, success, params=iid, body=body, post=True)}
    return paths


def _misc_paths() -> dict[str, dict[str, Any]]:
    endpoint = {"name": STR, "url": {"type": "string", "format": "uri"},
                "api_version": enum(*API_VERSIONS), "basic_auth_username": STR,
                "basic_auth_password": STR, "send_card_resource": BOOL, "disabled": BOOL,
                "primary_url": BOOL, "enabled_events[0]": EVENT_TYPE}
    paths = {
        **_resource("transactions", "transaction", "transaction_id", create=None,
                    sortable=("date", "updated_at")),
        **_resource("events", "event", "event_id", create=None,
                    sortable=("occurred_at",)),
        **_resource("webhook_endpoints", "webhook_endpoint", "webhook_endpoint_id",
                    create=_form(endpoint, ("name", "url")), sortable=())}
    for name in EVENT_WINDOW:
        paths["/events"]["get"]["parameters"].append({"name": name, "in": "query",
                                                      "schema": TS})
    wid = [_path_id("webhook_endpoint_id")]
    one = result(["webhook_endpoint"])
    paths["/webhook_endpoints/{webhook_endpoint_id}"]["post"] = _op(
        "update_webhook_endpoint", "Update a webhook endpoint", one, params=wid,
        body=_form(endpoint), post=True)
    paths["/webhook_endpoints/{webhook_endpoint_id}/delete"] = {"post": _op(
        "delete_webhook_endpoint", "Delete a webhook endpoint", one, params=wid, post=True)}
    return paths


def vendor_paths() -> dict[str, dict[str, Any]]:
    paths = {**_customer_paths(), **_payment_source_paths(), **_catalog_paths(),
             **_subscription_paths(), **_invoice_paths(), **_misc_paths()}
    for path, item in paths.items():
        for operation in item.values():
            operation["tags"] = [path.split("/")[1]]
    return {PREFIX + path: item for path, item in sorted(paths.items())}


def published(generated: dict[str, Any]) -> dict[str, Any]:
    """The Chargebee document plus FastAPI's `/_sim/` paths and their components."""
    security = {"basicAuth": {
        "type": "http", "scheme": "basic",
        "description": "The site's API key as the username, an empty password"}}
    return publish(
        generated, owner="Chargebee",
        info={"title": "landscape fake Chargebee", "version": "v2",
              "description": "Chargebee API v2 (Product Catalog 2.0) as the fake serves it "
                             "(real host: https://{site}.chargebee.com), plus the /_sim "
                             "control plane. Request bodies are form-encoded with Chargebee's "
                             "bracketed keys, list index last."},
        paths=vendor_paths(),
        components={"schemas": component_schemas(), "securitySchemes": security})
