"""The components' configuration: one YAML file per merchant deployment, validated.

Every error names the file, the key and the fix. `${NAME}` in a string value is replaced by the
environment variable NAME (secrets stay out of the file); a missing variable is an error.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class SettingsError(Exception):
    """A configuration problem a user can fix; the message names file, key and fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Mid(_Strict):
    name: str = Field(description="the MID's name in decisions and metrics, e.g. primary")
    api_key: str = Field(description="the Stripe account's secret key")


class StripeSettings(_Strict):
    base_url: str = "https://api.stripe.com"
    mids: list[Mid] = Field(min_length=1, description="the first is the primary MID")
    webhook_secret: str | None = Field(None, description="whsec_… of the webhook endpoint")
    webhook_tolerance_seconds: float = Field(300, gt=0, description="Stripe's default: 5 min")


class ChargebeeSettings(_Strict):
    base_url: str | None = None
    site: str
    api_key: str
    webhook_username: str | None = None
    webhook_password: str | None = None
    dunning: bool = Field(
        True, description="the site runs Chargebee's dunning (the engine stands back while it "
        "owns an invoice); false: the engine is the only retry owner and decides on the "
        "invoice in the event, without reading it again")
    hedge_after_ms: float | None = Field(
        300, gt=0, description="a hot-path invoice read unanswered after this long is sent "
        "again and the first answer wins (null: never)")


class NetSuiteSettings(_Strict):
    base_url: str | None = None
    account: str
    consumer_key: str
    consumer_secret: str
    token_id: str
    token_secret: str
    concurrency: int = Field(5, ge=1, description="the account's concurrency limit")


class SalesforceSettings(_Strict):
    base_url: str = "https://login.salesforce.com"
    client_id: str
    client_secret: str
    username: str | None = None
    password: str | None = None
    api_version: str = "62.0"


class PolicyOverrides(_Strict):
    max_attempts_per_invoice: int | None = Field(None, ge=1)
    grace_period_seconds: float | None = Field(None, gt=0)
    visa_cap_per_30_days: int | None = Field(None, ge=1)
    soft_retry_delays: list[float] | None = None
    best_hour_utc: int | None = Field(None, ge=0, le=23)


class Protections(_Strict):
    """Each protection can be switched off, so a test can show what it protects against."""

    inbox: bool = True             # drop duplicate and stale events
    idempotency_key: bool = True   # one gateway idempotency key per (invoice, attempt)
    dunning_check: bool = True     # no retry while the billing system's dunning owns the invoice
    erp_paid_check: bool = True    # no retry when the ERP shows the invoice paid
    signature_check: bool = True   # verify webhook signatures / Basic auth


class OutboxSettings(_Strict):
    """How the relay retries a write-back a vendor refuses for now (503, 429, a timeout): with
    capped exponential backoff and jitter, for `give_up_after_seconds` from the first failure,
    then it is a dead letter (`python -m components.sync replay`). Time, not a count, decides:
    a count of tries is used up in minutes by the early short waits, well inside one ERP
    brownout. Three days outlasts a weekend-long outage and matches Stripe's own webhook
    redelivery window; reconciliation repairs what is still missing after that."""

    give_up_after_seconds: float = Field(
        3 * 86400, gt=0, le=30 * 86400, description="retry a failing write-back this long "
        "(from its first failure), then dead-letter it; default 3 days")
    max_attempts: int | None = Field(
        None, ge=1, description="also dead-letter after this many tries (off by default)")
    base_delay: float = Field(2.0, gt=0, description="the first wait, seconds; doubles per try")
    max_delay: float = Field(300.0, gt=0, le=3600,
                             description="the longest wait between tries, seconds (5 min)")
    batch: int = Field(50, ge=1)
    concurrency: int = Field(8, ge=1, description="write-backs in flight at once to each "
                             "destination (each invoice's in order); a vendor's own limit "
                             "still applies")
    poll_seconds: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _delays(self) -> OutboxSettings:
        if self.base_delay > self.max_delay:
            raise ValueError(f"base_delay ({self.base_delay:g} s) is longer than max_delay "
                             f"({self.max_delay:g} s): make base_delay the shorter")
        if self.max_delay > self.give_up_after_seconds:
            raise ValueError(f"max_delay ({self.max_delay:g} s) is longer than "
                             f"give_up_after_seconds ({self.give_up_after_seconds:g} s): a "
                             f"write-back would get one try; raise give_up_after_seconds")
        return self


class CatchUpSettings(_Strict):
    """The engine's catch-up: declines whose webhooks never reached it (the engine was down
    longer than the billing system's redelivery: Stripe retries for 3 days, Chargebee for about
    2) are found on the billing system's event list, at start and then periodically, and go
    through the same inbox as webhooks (a decline is decided once, whichever way it came)."""

    enabled: bool = Field(True, description="off as well when protections.inbox is off")
    interval_seconds: float = Field(300, gt=0, le=86400,
                                    description="list the events this often (and at start)")
    settle_seconds: float = Field(
        60, ge=0, le=3600, description="events younger than this are left to their webhook "
        "(the hot path), taken at the next catch-up if it never came")
    overlap_seconds: float = Field(
        300, ge=0, le=86400, description="each listing starts this long before the last "
        "caught-up point: an event indexed late is still found (the inbox drops the repeats)")
    first_lookback_seconds: float = Field(
        0, ge=0, le=30 * 86400, description="a store that has never caught up lists this far "
        "back (0: from its first start; Stripe keeps events 30 days)")
    max_events: int = Field(10_000, ge=1, le=1_000_000,
                            description="events read per catch-up at most (newest kept)")


class ReconcileSettings(_Strict):
    deadline_seconds: float = Field(
        120, gt=0, le=3600, description="a reconciliation waits this long at most for the "
        "vendors' reads; a vendor not read by then (or failing) is reported unreachable in the "
        "result, which is then not clean, instead of being retried on")


class SyncSettings(_Strict):
    poll_seconds: float | None = Field(
        None, gt=0, description="poll the ERP for changes this often (merchants without "
        "change notifications); off by default")
    notification_token: str | None = Field(
        None, description="shared secret the ERP/CRM notifications carry in X-Landscape-Token")
    retention_seconds: float = Field(7 * 86400, gt=0, description="inbox and cache retention")


class ComponentSettings(_Strict):
    merchant: str
    billing: Literal["stripe", "chargebee"] = Field(
        description="the billing system that owns invoices and dunning")
    mode: Literal["cached", "naive"] = Field(
        "cached", description="cached: ERP/CRM context from the local cache; naive: read the "
        "ERP synchronously on the hot path")
    store: str = "sqlite:///landscape-components.db"
    mapping: str | None = Field(None, description="the merchant's field-mapping file")
    stripe: StripeSettings
    chargebee: ChargebeeSettings | None = None
    netsuite: NetSuiteSettings | None = None
    salesforce: SalesforceSettings | None = None
    policy: PolicyOverrides = Field(default_factory=PolicyOverrides)
    protections: Protections = Field(default_factory=Protections)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    catch_up: CatchUpSettings = Field(default_factory=CatchUpSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    request_timeout: float = Field(5.0, gt=0, description="per vendor request, seconds")

    @model_validator(mode="after")
    def _billing_configured(self) -> ComponentSettings:
        if self.billing == "chargebee" and self.chargebee is None:
            raise ValueError("billing is chargebee but there is no chargebee section: add "
                             "chargebee: {site, api_key}")
        if not self.protections.inbox:
            # the catch-up lists events the webhooks may have brought already: only the inbox
            # keeps it from deciding them twice, so without the inbox it is off too
            self.catch_up.enabled = False
        if self.catch_up.overlap_seconds >= self.sync.retention_seconds:
            raise ValueError(f"catch_up.overlap_seconds ({self.catch_up.overlap_seconds:g} s) "
                             f"must be shorter than sync.retention_seconds "
                             f"({self.sync.retention_seconds:g} s), or the inbox has forgotten "
                             f"the events listed again: lower the overlap")
        return self


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, path: str, where: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, path, f"{where}.{k}" if where else str(k))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, path, f"{where}.{i}") for i, v in enumerate(value)]
    if isinstance(value, str):
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise SettingsError(f"{path}: {where}: environment variable {name} is not set; "
                                    f"export it or write the value in the file")
            return os.environ[name]
        return _VAR.sub(substitute, value)
    return value


def settings_from_dict(data: Any, source: str = "<inline>") -> ComponentSettings:
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: the file must be a mapping with merchant, billing, "
                            f"stripe, … at the top level")
    try:
        return ComponentSettings.model_validate(_expand(data, source, ""))
    except ValidationError as exc:
        raise SettingsError(describe_errors(source, exc, "components/settings.py")) from None


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, source: str, *, reference: str, shape: str) -> M:
    """`data` (a file's YAML) as `model`; SettingsError names the file, each key and the fix.
    `shape` says what the top level should be; `reference` where the keys are documented."""
    if not isinstance(data, dict):
        raise SettingsError(f"{source}: {shape}; see {reference}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(describe_errors(source, exc, reference)) from None


def describe_errors(source: str, exc: ValidationError, reference: str) -> str:
    """One line per problem: the file, the key path, what is wrong and the fix. `reference`
    is where the valid keys are documented (named for misspelt keys)."""
    lines = [f"{source}: {len(exc.errors())} problem(s)"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown key; check its spelling against {reference}"
        elif error["type"] == "missing":
            message = "required; add it"
        elif "input" in error and not isinstance(error["input"], dict | list):
            message = f"{message} (found {error['input']!r}); correct the value"
        lines.append(f"  {source}: {key}: {message}")
    return "\n".join(lines)


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document in `path`; unreadable or malformed files raise SettingsError naming the
    file (and line) and `what` it should be."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the file ({exc.strerror}); give the path of "
                            f"{what}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SettingsError(f"{path}:{where}: not valid YAML ({problem}); fix the syntax") \
            from None


def load_settings(path: str | Path) -> ComponentSettings:
    path = Path(path)
    settings = settings_from_dict(read_yaml(path, "a components settings YAML"), str(path))
    if settings.mapping and not Path(settings.mapping).is_absolute():
        settings.mapping = str((path.parent / settings.mapping).resolve())
    return settings
