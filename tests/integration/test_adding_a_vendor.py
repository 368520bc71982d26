"""Adding a vendor touches only its own package and the registry (simulators/README.md, "Adding
a vendor"): the toy vendor of the tests, registered at runtime, loads its own schema files and
is served by the core unchanged. Also: a fake refuses a schema written for another vendor.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulators import registry
from simulators.core.config import ConfigError, build_simulator, load_config
from simulators.core.schemas import SchemaError
from tests.support.toy_vendor import ToyVendor

CORE = Path(__file__).resolve().parents[2] / "simulators" / "core"
SCHEMAS = Path(__file__).resolve().parents[2] / "scenarios" / "schemas"

TOY_SCHEMA = """\
vendor: toy
name: toy-merchant
objects:
  counter:
    fields:
      x_colour: {type: picklist, values: [red, blue], default: red}
      x_limit: int
"""


@pytest.fixture
def toy_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The one line a new vendor adds to simulators/registry.py, made at runtime."""
    monkeypatch.setattr(registry, "VENDORS",
                        {**registry.VENDORS, "toy": "tests.support.toy_vendor:ToyVendor"})


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_the_registry_offers_the_new_vendor(toy_registered: None) -> None:
    assert isinstance(registry.create_vendor("toy"), ToyVendor)
    assert registry.schema_rules("toy") is ToyVendor.schema_rules
    assert "toy" in registry.ALL_SCHEMA_RULES and "stripe" in registry.ALL_SCHEMA_RULES
    assert ToyVendor.default_port == 12119


def test_a_toy_schema_loads_through_the_registry(toy_registered: None, tmp_path: Path) -> None:
    schema = registry.load_schema(_write(tmp_path / "toy.yaml", TOY_SCHEMA))
    assert (schema.vendor, schema.name) == ("toy", "toy-merchant")
    counter = schema.object("Counter")
    assert counter is not None and counter.field("x_colour").default == "red"  # type: ignore[union-attr]

    bad = _write(tmp_path / "bad.yaml", TOY_SCHEMA.replace("x_limit", "limit")
                 + "  gauge: {}\n")
    with pytest.raises(SchemaError) as info:
        registry.load_schema(bad)
    message = str(info.value)
    assert f"{bad}:7: objects.counter.fields.limit: toy custom fields start with 'x_'; " \
           "rename it to 'x_limit'" in message
    assert f"{bad}:8: objects.gauge: the toy has one object, 'counter'" in message


def test_unregistered_vendors_are_not_schema_vendors(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=r"toy\.yaml:1: vendor: 'toy' is not a vendor"):
        registry.load_schema(_write(tmp_path / "toy.yaml", TOY_SCHEMA))


def test_a_toy_fake_is_built_served_and_checks_its_schema(
        toy_registered: None, tmp_path: Path, start_fake: Any) -> None:
    _write(tmp_path / "toy.yaml", TOY_SCHEMA)
    config_path = _write(tmp_path / "fake.yaml", "seed: 3\ntenants:\n  acme:\n"
                                                 "    schema: toy.yaml\n")
    sim = build_simulator(registry.create_vendor("toy"), load_config(config_path),
                          config_path=config_path)
    fake = start_fake("toy", simulator=sim)
    with httpx.Client(base_url=fake.url, trust_env=False,
                      headers={"Authorization": "Bearer acme"}) as client:
        ok = client.put("/counters/a/fields", json={"x_limit": "5"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"name": "a", "fields": {"x_colour": "red", "x_limit": 5}}
        bad = client.put("/counters/a/fields", json={"x_colour": "green"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "invalid_field"
        assert "'green' is not an allowed value" in bad.json()["error"]["message"]
        assert client.post("/counters/a", json={"by": 2}).json()["value"] == 2


def test_a_schema_for_another_vendor_is_refused(toy_registered: None, tmp_path: Path) -> None:
    config_path = _write(tmp_path / "fake.yaml", "tenants:\n  acme:\n    schema: "
                                                 f"{SCHEMAS / 'salesforce-cpq.yaml'}\n")
    with pytest.raises(ConfigError) as info:
        build_simulator(registry.create_vendor("toy"), load_config(config_path),
                        config_path=config_path)
    assert str(info.value).startswith(
        f"{SCHEMAS / 'salesforce-cpq.yaml'}:")
    assert ": vendor: the schema is for 'salesforce', but it is loaded for Toy; use a schema " \
           "with 'vendor: toy' here" in str(info.value)


def test_a_wrong_schema_option_is_refused_even_without_tenants(tmp_path: Path) -> None:
    # the fake Stripe declares no tenants by default: the file used to go unread
    with pytest.raises(ConfigError, match=r"salesforce-cpq\.yaml:\d+: vendor: the schema is "
                                          r"for 'salesforce', but it is loaded for Stripe"):
        build_simulator(registry.create_vendor("stripe"),
                        schema_path=SCHEMAS / "salesforce-cpq.yaml")


def test_the_core_imports_no_vendor() -> None:
    vendors = "|".join(("stripe", "chargebee", "netsuite", "salesforce", "registry"))
    pattern = re.compile(rf"^\s*(from|import)\s+simulators\.({vendors})\b|"
                         rf"[\"']simulators\.({vendors})\b", re.MULTILINE)
    for source in CORE.rglob("*.py"):
        assert not pattern.search(source.read_text()), f"{source} names a vendor package"
