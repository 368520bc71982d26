"""The components' settings loader: a good file loads, and every mistake a user can make in one
is reported with the file, the key and what to do about it."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.settings import ComponentSettings, SettingsError, load_settings
from simulators.registry import create_vendor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "scenarios" / "components" / "acme.yaml"

GOOD = """\
merchant: acme
billing: stripe
store: sqlite:///acme.db
mapping: mappings/acme.yaml
stripe:
  base_url: http://127.0.0.1:12111
  webhook_secret: whsec_test
  mids:
    - {name: primary, api_key: sk_test_primary}
    - {name: alternate, api_key: sk_test_alternate}
"""
STRIPE = "stripe: {mids: [{name: primary, api_key: sk_test_primary}]}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return path


def problem(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert str(path) in message, message  # every error names the file
    return message


def test_a_good_file_loads_with_defaults_and_its_mapping_beside_it(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert isinstance(settings, ComponentSettings)
    assert (settings.merchant, settings.billing, settings.mode) == ("acme", "stripe", "cached")
    assert [m.name for m in settings.stripe.mids] == ["primary", "alternate"]
    assert settings.protections.inbox and settings.outbox.max_attempts is None
    assert settings.outbox.give_up_after_seconds == 3 * 86400  # time decides, not tries
    # relative to the settings file, not to where the service was started
    assert settings.mapping == str(tmp_path / "mappings" / "acme.yaml")
    assert settings.store == "sqlite:///acme.db"  # relative to the working directory


def test_a_missing_required_key_is_named_with_the_fix(tmp_path: Path) -> None:
    message = problem(tmp_path, "billing: stripe\n" + STRIPE)
    assert "merchant: required; add it" in message


def test_an_unknown_key_is_named_with_the_fix(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD.replace("webhook_secret:", "webhook_secrt:"))
    assert "stripe.webhook_secrt: unknown key; check its spelling" in message


def test_a_wrong_type_is_named_with_what_is_expected(tmp_path: Path) -> None:
    message = problem(tmp_path, GOOD + "request_timeout: fast\n")
    assert "request_timeout: Input should be a valid number" in message
    assert "(found 'fast'); correct the value" in message
    message = problem(tmp_path, GOOD.replace("billing: stripe", "billing: paypal"))
    assert "billing: Input should be 'stripe' or 'chargebee'" in message


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    message = problem(tmp_path, "merchant: acme\nbilling: stripe\nstripe:\n"
                                "  mids: [{name: primary, api_key: k}\n  other: 1\n")
    assert "line 5, column 3: not valid YAML (" in message and "fix the syntax" in message
    assert "\n" not in message  # one line at a command line


def test_a_file_that_is_not_a_mapping_says_what_the_top_level_holds(tmp_path: Path) -> None:
    assert "must be a mapping with merchant, billing" in problem(tmp_path, "- acme\n")


def test_a_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert str(path) in message and "No such file" in message
    assert "give the path of a components settings YAML" in message


def test_environment_variables_fill_secrets_and_an_unset_one_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = GOOD.replace("sk_test_primary", "'${ACME_TEST_STRIPE_KEY}'")
    monkeypatch.setenv("ACME_TEST_STRIPE_KEY", "sk_test_from_env")
    assert load_settings(write(tmp_path, text)).stripe.mids[0].api_key == "sk_test_from_env"
    monkeypatch.delenv("ACME_TEST_STRIPE_KEY")
    message = problem(tmp_path, text)
    assert "stripe.mids.0.api_key: environment variable ACME_TEST_STRIPE_KEY is not set" \
        in message
    assert "export it or write the value in the file" in message


def test_billing_chargebee_needs_a_chargebee_section(tmp_path: Path) -> None:
    message = problem(tmp_path, "merchant: globex\nbilling: chargebee\n" + STRIPE)
    assert "billing is chargebee but there is no chargebee section" in message
    assert "add chargebee: {site, api_key}" in message
    load_settings(write(tmp_path, "merchant: globex\nbilling: chargebee\n" + STRIPE
                        + "chargebee: {site: globex-test, api_key: test_key}\n"))


def test_the_acme_example_loads_and_points_at_the_fakes_default_ports() -> None:
    settings = load_settings(EXAMPLE)
    assert (settings.merchant, settings.billing, settings.mode) == ("acme", "stripe", "cached")
    assert settings.mapping is not None and Path(settings.mapping).is_file()
    assert settings.store.startswith("sqlite:///")
    assert settings.netsuite is not None and settings.salesforce is not None
    urls = {"stripe": settings.stripe.base_url, "netsuite": settings.netsuite.base_url,
            "salesforce": settings.salesforce.base_url}
    for vendor, url in urls.items():
        assert url == f"http://127.0.0.1:{create_vendor(vendor).default_port}", vendor
