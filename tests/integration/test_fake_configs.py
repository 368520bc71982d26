"""The example fake configs in scenarios/fakes/ load and build as `landscape serve --config`
does, the docstring example of simulators/core/config.py is valid, and a wrong schema (a missing
file, another vendor's, or any for a vendor that takes none) is refused before anything starts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.core import config as config_module
from simulators.core.app import build_app
from simulators.core.config import ConfigError, build_simulator, load_config
from simulators.registry import create_vendor

ROOT = Path(__file__).resolve().parents[2]
FAKES = ROOT / "scenarios" / "fakes"
SCHEMAS = ROOT / "scenarios" / "schemas"
VENDORS = ("stripe", "chargebee", "netsuite", "salesforce")
LANDSCAPE = [sys.executable, "-m", "harness.cli"]


@pytest.mark.parametrize("vendor", VENDORS)
def test_each_vendor_has_an_example_config_that_builds(vendor: str) -> None:
    path = FAKES / f"{vendor}.yaml"
    text = path.read_text()
    assert text.lstrip().startswith("#"), "the example explains itself in comments"
    config = load_config(path)
    for key in ("seed", "clock", "latency", "limits", "faults", "tenants", "settings"):
        assert key in config.model_fields_set, f"{path.name} shows {key}"
    assert config.faults and all(t.settings for t in config.tenants.values())
    sim = build_simulator(create_vendor(vendor), config, config_path=path)
    assert {t.id for t in sim.tenants.all()} == set(config.tenants)
    if vendor != "stripe":  # Stripe has no custom fields: its tenants name no schema
        assert any(t.schema is not None for t in sim.tenants.all())
    build_app(sim)  # `settings` (e.g. settings.control) are accepted too; nothing is started


def test_the_docstring_example_is_valid(tmp_path: Path) -> None:
    doc = config_module.__doc__ or ""
    [example] = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    assert "topology" not in doc
    path = FAKES / "docstring-example.yaml"  # where it says it lives (not written there)
    data = __import__("yaml").safe_load(example)
    config = config_module.FakeConfig.model_validate(data)
    sim = build_simulator(create_vendor("chargebee"), config, config_path=path)
    [tenant] = sim.tenants.all()
    assert tenant.schema is not None and tenant.schema.name == "chargebee-custom-fields"


def test_a_missing_schema_file_is_refused_with_the_option_and_the_fix() -> None:
    for vendor in VENDORS:
        with pytest.raises(ConfigError) as caught:
            build_simulator(create_vendor(vendor), schema_path=Path("missing.yaml"))
        message = str(caught.value)
        assert message.startswith("missing.yaml: no such schema file (--schema); give the path "
                                  "of a schema YAML"), message
        assert vendor == "stripe" or ", e.g. scenarios/schemas/" in message
        assert "scenarios/schemas/" in message and "topology" not in message


def test_a_missing_tenant_schema_names_the_config_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "fake.yaml"
    path.write_text("tenants:\n  acme-test:\n    schema: nope.yaml\n")
    with pytest.raises(ConfigError) as caught:
        build_simulator(create_vendor("chargebee"), load_config(path), config_path=path)
    message = str(caught.value)
    assert f"no such schema file ({path}: tenants.acme-test.schema)" in message
    assert "relative to the config file" in message and "topology" not in message


@pytest.mark.parametrize("vendor", VENDORS)
def test_another_vendors_schema_is_refused_by_every_fake(vendor: str) -> None:
    other = "netsuite-customrecord.yaml" if vendor == "salesforce" else "salesforce-cpq.yaml"
    with pytest.raises(ConfigError) as caught:
        build_simulator(create_vendor(vendor), schema_path=SCHEMAS / other)
    message = str(caught.value)
    assert "vendor: the schema is for" in message and "(given by --schema)" in message


def test_a_tenant_schema_for_another_vendor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.yaml"
    path.write_text(f"tenants:\n  sk_test_x:\n    schema: {SCHEMAS / 'salesforce-cpq.yaml'}\n")
    with pytest.raises(ConfigError, match=r"tenants\.sk_test_x\.schema"):
        build_simulator(create_vendor("stripe"), load_config(path), config_path=path)


def test_a_vendor_without_schemas_refuses_any(monkeypatch: pytest.MonkeyPatch) -> None:
    vendor = create_vendor("stripe")
    monkeypatch.setattr(vendor, "schema_rules", None)
    with pytest.raises(ConfigError, match="takes no schema; remove the --schema option"):
        build_simulator(vendor, schema_path=SCHEMAS / "salesforce-cpq.yaml")


@pytest.mark.parametrize("schema, expected", [
    ("missing.yaml", "missing.yaml: no such schema file (--schema)"),
    ("scenarios/schemas/salesforce-cpq.yaml", "the schema is for 'salesforce'"),
])
def test_serve_stripe_refuses_a_wrong_schema_in_one_line(schema: str, expected: str) -> None:
    done = subprocess.run([*LANDSCAPE, "serve", "stripe", "--port", "0", "--schema", schema],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2, (done.stdout, done.stderr)
    output = (done.stdout + done.stderr).strip()
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    assert expected in output
