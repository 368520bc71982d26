"""A fake's config file (YAML): seed, clock, latency, limits, faults and tenants.

`landscape serve VENDOR --config FILE` reads it. Commented examples to start from, one per
vendor, are in `scenarios/fakes/` (stripe.yaml, chargebee.yaml, netsuite.yaml, salesforce.yaml);
this one is for the fake Chargebee and, like them, lives in `scenarios/fakes/`:

```yaml
seed: 42
clock: controlled            # or "real" (default), or {mode: controlled, start: 1767225600}
latency: {kind: lognormal, median_ms: 120, p99_ms: 600}
limits: {rate_per_second: 25, max_concurrency: 20}
faults:
  - {kind: http_error, status: 503, probability: 0.05, match: {path: "/api/v2/subscriptions*"}}
strict_tenants: false        # true: credentials of undeclared tenants are rejected (401)
tenants:
  acme-test:                 # the tenant id: Stripe key, Chargebee site, NetSuite account, org
    schema: ../schemas/chargebee-custom-fields.yaml  # relative to this file; `vendor:` must match
    settings: {api_key: test_acme_demo_key}          # vendor-specific, see the vendor's README
settings:                    # fake-wide; bounds documented in simulators/README.md
  idempotency_retention_seconds: 1800        # override the vendor's idempotency-key window
  journal_max_entries: 10000                 # request and webhook journals, newest kept
  max_auto_tenants: 1000                     # tenants created for unknown keys, then 401
  max_objects_per_collection: 100000         # per tenant, then the vendor's error
  webhook_concurrency_per_endpoint: 16       # webhook deliveries in flight to one URL
```

A tenant's `schema` (and `--schema`, for tenants that name none) must be a schema file whose
`vendor:` is the fake's own. Errors name the file, the key and the fix; nothing is half-applied
(every schema is checked before the fake is built).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simulators.core.clock import Clock
from simulators.core.faults import FaultSpec
from simulators.core.latency import Latency
from simulators.core.schemas import Schema, SchemaError, load_schema
from simulators.core.simulator import Limits, Simulator
from simulators.core.vendor import Vendor

# fake-wide settings that bound time or memory (simulators/README.md, "Retention and caps")
BOUNDS = ("idempotency_retention_seconds", "journal_max_entries", "max_auto_tenants",
          "max_objects_per_collection", "webhook_concurrency_per_endpoint")


class ConfigError(Exception):
    """A config problem a user can fix; the message names file, key and fix."""


class ClockConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["real", "controlled"] = "real"
    start: float | None = Field(None, description="controlled clock: unix time to start at")


class TenantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_file: str | None = Field(None, alias="schema")
    settings: dict[str, Any] = Field(default_factory=dict)


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    clock: ClockConfig | Literal["real", "controlled"] = "real"
    latency: Latency | None = None
    limits: Limits = Field(default_factory=Limits)
    faults: list[FaultSpec] = Field(default_factory=list)
    strict_tenants: bool = False
    tenants: dict[str, TenantConfig] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("settings")
    @classmethod
    def _bounds_are_positive(cls, settings: dict[str, Any]) -> dict[str, Any]:
        for name in BOUNDS:
            value = settings.get(name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                      or value <= 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        return settings

    def clock_config(self) -> ClockConfig:
        return self.clock if isinstance(self.clock, ClockConfig) else ClockConfig(mode=self.clock)


def load_config(path: Path) -> FakeConfig:
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") \
            from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping (keys like seed, tenants, "
                          "faults); see simulators/core/config.py")
    try:
        return FakeConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(describe_validation(path, exc)) from exc


def describe_validation(path: Path | str, exc: ValidationError) -> str:
    lines = [f"{path}: {len(exc.errors())} problem(s)"]
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key; check its spelling against the documented keys"
        lines.append(f"  {path}: {key}: {message}")
    return "\n".join(lines)


def build_simulator(vendor: Vendor, config: FakeConfig | None = None, *,
                    config_path: Path | None = None, seed: int | None = None,
                    controlled_clock: bool | None = None,
                    schema_path: Path | None = None) -> Simulator:
    """A ready simulator: command-line options (seed, clock, schema) override the config."""
    config = config or FakeConfig()
    # every schema is read and checked before anything else happens, so a wrong --schema or
    # tenant schema never starts silently (even when no tenant is declared)
    default_schema = (_load_schema(schema_path, vendor, "--schema", None)
                      if schema_path else None)
    base = config_path.parent if config_path else Path.cwd()
    where = str(config_path) if config_path else "the config file"
    tenant_schemas = {
        tenant_id: _load_schema(base / tenant_config.schema_file, vendor,
                                f"{where}: tenants.{tenant_id}.schema", base)
        for tenant_id, tenant_config in config.tenants.items() if tenant_config.schema_file}
    clock_config = config.clock_config()
    controlled = clock_config.mode == "controlled" if controlled_clock is None else controlled_clock
    clock = Clock.frozen(clock_config.start) if controlled else Clock.real()
    sim = Simulator(vendor, seed=config.seed if seed is None else seed, clock=clock,
                    auto_create_tenants=not config.strict_tenants)
    sim.latency, sim.limits, sim.settings = config.latency, config.limits, config.settings
    for spec in config.faults:
        sim.faults.add(spec, clock.now())
    declared = config.tenants or {tenant_id: TenantConfig(settings=settings)
                                  for tenant_id, settings in vendor.default_tenants().items()}
    for tenant_id, tenant_config in declared.items():
        schema = tenant_schemas.get(tenant_id, default_schema)
        tenant = sim.tenants.declare(tenant_id, dict(tenant_config.settings), schema)
        vendor.configure_tenant(sim, tenant)
    return sim


SHIPPED_SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"


def _example_schema(vendor: Vendor) -> str:
    """How to name a schema for `vendor` in an error: a shipped one, else the format to follow."""
    shipped = sorted(SHIPPED_SCHEMAS.glob(f"{vendor.name}-*.yaml"))
    return (f", e.g. scenarios/schemas/{shipped[0].name}" if shipped
            else f" with 'vendor: {vendor.name}' (the format of those in scenarios/schemas/)")


def _load_schema(path: Path, vendor: Vendor, key: str, base: Path | None) -> Schema:
    """The schema file at `path` (given by `key`: "--schema" or "<config>: tenants.X.schema"),
    checked with the vendor's own rules: a schema written for another vendor is refused (its
    `vendor:` key names which), and so is any schema for a vendor that takes none."""
    if vendor.schema_rules is None:
        fix = ("remove the --schema option" if key == "--schema"
               else "remove the tenant's 'schema' key")
        raise ConfigError(f"{key}: {path}: the fake {vendor.title} takes no schema; {fix}")
    if not path.is_file():
        relative = ("paths are relative to the directory you run from" if base is None
                    else f"paths are relative to the config file's directory ({base})")
        raise ConfigError(f"{path}: no such schema file ({key}); give the path of a schema "
                          f"YAML{_example_schema(vendor)}; {relative}")
    try:
        return load_schema(path, vendor.schema_rules)
    except SchemaError as exc:
        raise ConfigError(f"{exc} (given by {key})") from exc
