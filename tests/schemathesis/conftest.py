"""Fixtures of the Schemathesis suites: the profile (quick or long, and its seed)."""

from __future__ import annotations

import pytest

from tests.schemathesis.profile import Profile, current


@pytest.fixture
def profile(request: pytest.FixtureRequest) -> Profile:
    return current(request.node.nodeid)
