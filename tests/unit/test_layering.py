"""The import-linter contracts (pyproject.toml) cover every top-level package of the project."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_is_a_root_package_of_the_import_contracts() -> None:
    # import-linter cannot list a package that does not exist yet (components/, at first), and
    # would silently skip the contracts that name it once it does: so this test says when to add it
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = set(config["tool"]["importlinter"]["root_packages"])
    packages = {name for name in ("simulators", "harness", "components")
                if (ROOT / name / "__init__.py").exists()}
    assert packages <= roots, (
        f"add {sorted(packages - roots)} to [tool.importlinter] root_packages in pyproject.toml")
