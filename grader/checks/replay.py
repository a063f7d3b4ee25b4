"""An earlier step's check run again, as it is, on a later step's app that keeps its contract."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from grader.plugin import check

Check = Callable[..., None]


def replay(earlier: Check, points: int, task: int, step: int) -> Check:
    """`earlier`, a check of step `step`, worth `points` for this step's README task `task`, its
    name saying that step's rule still holds. Where it takes `server`, it gets the previous
    check's server while that is sound (`running_server`): one start fewer per replay."""
    signature = inspect.signature(earlier)
    parameters = [
        p.replace(name="running_server") if p.name == "server" else p for p in signature.parameters.values()
    ]

    def run(**fixtures: Any) -> None:
        if "running_server" in fixtures:
            fixtures["server"] = fixtures.pop("running_server")
        earlier(**fixtures)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__name__ = run.__qualname__ = earlier.__name__
    run.__doc__ = f"step {step} still holds: {(earlier.__doc__ or earlier.__name__).strip()}"
    run.replays = (earlier,)  # type: ignore[attr-defined]
    return check(points=points, task=task)(run)
