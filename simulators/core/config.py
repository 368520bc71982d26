"""A fake's config file (YAML): seed, clock, latency, limits, faults and tenants.

```yaml
seed: 42
clock: controlled            # or "real" (default), or {mode: controlled, start: 1767225600}
latency: {kind: lognormal, median_ms: 120, p99_ms: 600}
limits: {rate_per_second: 25, max_concurrency: 20}
faults:
  - {kind: http_error, status: 503, probability: 0.05, match: {path: "/v1/payment_intents*"}}
strict_tenants: false        # true: credentials of undeclared tenants are rejected (401)
tenants:
  sk_test_acme_eu:           # the tenant id: Stripe key, Chargebee site, NetSuite account, org
    schema: ../schemas/salesforce-cpq.yaml   # relative to this file
    settings: {webhook_retries: live}        # vendor-specific, see the vendor's README
settings:                    # fake-wide; bounds documented in simulators/README.md
  idempotency_retention_seconds: 1800        # override the vendor's idempotency-key window
  journal_max_entries: 10000                 # request and webhook journals, newest kept
  max_auto_tenants: 1000                     # tenants created for unknown keys, then 401
  max_objects_per_collection: 100000         # per tenant, then the vendor's error
```

Errors name the file, the key and the fix; nothing is half-applied.
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
          "max_objects_per_collection")


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
    clock_config = config.clock_config()
    controlled = clock_config.mode == "controlled" if controlled_clock is None else controlled_clock
    clock = Clock.frozen(clock_config.start) if controlled else Clock.real()
    sim = Simulator(vendor, seed=config.seed if seed is None else seed, clock=clock,
                    auto_create_tenants=not config.strict_tenants)
    sim.latency, sim.limits, sim.settings = config.latency, config.limits, config.settings
    for spec in config.faults:
        sim.faults.add(spec, clock.now())
    base = config_path.parent if config_path else Path.cwd()
    # checked even when no tenant is declared, so a wrong --schema never starts silently
    default_schema = _load_schema(schema_path, vendor) if schema_path else None
    declared = config.tenants or {tenant_id: TenantConfig(settings=settings)
                                  for tenant_id, settings in vendor.default_tenants().items()}
    for tenant_id, tenant_config in declared.items():
        schema = (_load_schema(base / tenant_config.schema_file, vendor)
                  if tenant_config.schema_file else default_schema)
        tenant = sim.tenants.declare(tenant_id, dict(tenant_config.settings), schema)
        vendor.configure_tenant(sim, tenant)
    return sim


def _load_schema(path: Path, vendor: Vendor) -> Schema:
    """The schema file at `path`, checked with the vendor's own rules: a schema written for
    another vendor is refused (its `vendor:` key names which)."""
    if vendor.schema_rules is None:
        raise ConfigError(f"{path}: the fake {vendor.title} takes no schema; remove the "
                          f"tenant's 'schema' key (or the --schema option)")
    try:
        return load_schema(path, vendor.schema_rules)
    except SchemaError as exc:
        raise ConfigError(str(exc)) from exc
