"""Fixtures that point each step module of a grading session at that step's folder.

Registered after grader.plugin, so these module-scoped fixtures replace its session-scoped ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from grader.grade.scratch import BoundedScratch
from grader.plugin import Target
from grader.runner import Limits, Scratch

TARGETS: dict[str, Target] = {}  # check module path -> its step folder; set by run_steps


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> Target:
    return TARGETS[str(request.path)]


@pytest.fixture(scope="module")
def limits(target: Target) -> Limits:
    return target.limits


@pytest.fixture(scope="module")
def scratch(target: Target) -> Iterator[Scratch]:
    """Copies of the step folder, each on its own small tmpfs where the worker can mount one."""
    sandbox = target.limits.sandbox
    copy = BoundedScratch(target.folder) if sandbox and sandbox.namespaces else Scratch(target.folder)
    yield copy
    copy.cleanup()
