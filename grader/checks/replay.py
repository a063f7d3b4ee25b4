"""An earlier step's check run again, as it is, on a later step's app that keeps its contract."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from grader.plugin import check

Check = Callable[..., None]
RUNNING = {"server": "running_server"}  # the previous check's server while it is sound


def replay(
    earlier: Callable[..., object], points: int, task: int, *, step: int | None = None,
    renames: Mapping[str, str] = RUNNING,
    around: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
) -> Check:
    """`earlier`, worth `points` for this step's README task `task`, run inside `around()`. Each
    fixture it takes under a name in `renames` is asked for under the other (by default `server`
    as `running_server`: one start fewer per replay). With `step`, its name says that step's rule
    still holds, unless it already names a step (a replay of a replay)."""
    signature = inspect.signature(earlier)
    parameters = [p.replace(name=renames.get(p.name, p.name)) for p in signature.parameters.values()]
    back = {new: old for old, new in renames.items()}

    def run(**fixtures: Any) -> None:
        with around():
            earlier(**{back.get(name, name): value for name, value in fixtures.items()})

    doc = (earlier.__doc__ or earlier.__name__).strip()
    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__name__ = run.__qualname__ = earlier.__name__
    run.__doc__ = doc if step is None or doc.startswith("step ") else f"step {step} still holds: {doc}"
    run.replays = (earlier,)  # type: ignore[attr-defined]
    return check(points=points, task=task)(run)
