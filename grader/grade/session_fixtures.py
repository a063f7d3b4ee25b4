"""Fixtures that point each step module of a grading session at that step's folder.

Registered after grader.plugin, so these module-scoped fixtures replace its session-scoped ones.
"""

from __future__ import annotations

import pytest

from grader.plugin import Target
from grader.runner import Limits

TARGETS: dict[str, Target] = {}  # check module path -> its step folder; set by run_steps


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> Target:
    return TARGETS[str(request.path)]


@pytest.fixture(scope="module")
def limits(target: Target) -> Limits:
    return target.limits
