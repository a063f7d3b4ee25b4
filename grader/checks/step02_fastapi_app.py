"""Step 2: main.py also creates the FastAPI application, `app`."""

from grader.checks.step01_notes_dict import Facts, require_next_id, require_notes_db
from grader.feedback import CheckFailure
from grader.plugin import check


@check(points=3, task=1)
def test_app_is_fastapi(facts: Facts) -> None:
    """app is a FastAPI application"""
    if "app" not in facts:
        raise CheckFailure(
            "main.py has no module-level name `app`.",
            "Import the class with `from fastapi import FastAPI`, then write `app = FastAPI()` "
            "at the top level of main.py.",
        )
    if not facts["app"]["is_fastapi"]:
        raise CheckFailure(
            f"`app` is a {facts['app']['type']}, not a FastAPI application.",
            "Call the class: `app = FastAPI()` with the brackets. `app = FastAPI` (no brackets) "
            "names the class itself.",
        )


@check(points=1, task=2)
def test_step_one_still_holds(facts: Facts) -> None:
    """notes_db and next_id are still there"""
    require_notes_db(facts)
    require_next_id(facts)
