"""The naive way to grade: plain `python -m pytest` per submission, a fresh Python per server.

The step checks are persistlab's own; what differs is how student code runs: every server
(and every import of main.py) is a new `python` process that imports fastapi and uvicorn
itself, as `uvicorn main:app` started with subprocess would.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import grader.engine.process
from grader.engine.limits import Limits
from grader.plugin import Target

pytest_plugins = ["grader.plugin"]
grader.engine.process.CAN_FORK = False  # spawn `python -m grader.engine.child`: no zygote, no preloading


@pytest.fixture(scope="module")
def target(request: pytest.FixtureRequest) -> Target:
    folder = Path(os.environ["PERSISTLAB_SUBMISSION"]) / request.module.STEP_FOLDER
    return Target(folder=folder.resolve(), limits=Limits(startup=5, request=2))  # as `persistlab grade`


@pytest.fixture(scope="module")
def limits(target: Target) -> Limits:
    return target.limits


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "persistlab(points, task): points and task of a check")
