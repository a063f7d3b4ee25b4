"""Step 2: main.py also creates the FastAPI application, `app`.

The app is judged by serving `main:app` and asking it over HTTP: a FastAPI application answers
GET /openapi.json with its OpenAPI document and GET /docs with the documentation page, before it
has a single route. notes_db and next_id are read from main.py's syntax tree, as in step 1.
"""

from __future__ import annotations

import ast
from typing import Any

import httpx

from grader.checks import step01_notes_dict as step01
from grader.checks.step01_notes_dict import MainPy, Started, require_next_id, require_notes_db
from grader.feedback import CheckFailure
from grader.plugin import check

main_py, started = step01.main_py, step01.started  # the same fixtures as step 1

CREATE_APP = ("Import the class with `from fastapi import FastAPI`, then write `app = FastAPI()` "
              "at the top level of main.py.")


def _is_openapi(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    try:
        body: Any = response.json()
    except ValueError:
        return False
    return (isinstance(body, dict) and str(body.get("openapi", "")).startswith("3.")
            and isinstance(body.get("info"), dict) and isinstance(body.get("paths"), dict))


def _is_docs_page(response: httpx.Response) -> bool:
    return (response.status_code == 200 and "text/html" in response.headers.get("content-type", "")
            and "openapi.json" in response.text)


BRACKETS = ("Call the class: `app = FastAPI()` with the brackets. `app = FastAPI` (no brackets) "
            "names the class itself.")


def _binding(main: MainPy) -> tuple[str, bool]:
    """Where main.py last binds `app`, for a message, and whether it names the class FastAPI
    itself (uvicorn then makes the application, as for an app factory; step 3's routes cannot)."""
    found = main.uses("app")
    if not found:
        return "", False
    value = found[-1].value
    bare_class = isinstance(value, (ast.Name, ast.Attribute)) and ast.unparse(value).split(".")[-1] == "FastAPI"
    return f" (main.py line {found[-1].line}: `{found[-1].text}`)", bare_class


def _not_an_app(main: MainPy) -> CheckFailure:
    """`app` exists but could not be served."""
    where, bare_class = _binding(main)
    return CheckFailure(
        f"`app` is not a FastAPI application{where}: served as `main:app`, it could not start.",
        BRACKETS if bare_class else CREATE_APP,
    )


@check(points=3, task=1)
def test_app_is_fastapi(main_py: MainPy, started: Started) -> None:
    """app is a FastAPI application"""
    if started.report.error == "NoApp":
        raise CheckFailure("main.py has no module-level name `app`.", CREATE_APP)
    started.require_import()
    if not started.report.ok:
        raise _not_an_app(main_py)
    for path, serves, what in (("/openapi.json", _is_openapi, "its OpenAPI document"),
                               ("/docs", _is_docs_page, "its documentation page")):
        response = started.server.request("GET", path)
        if not serves(response):
            raise CheckFailure(
                f"`app` answers HTTP, but not as a FastAPI application: GET {path} answered "
                f"{response.status_code}, where FastAPI serves {what}.",
                CREATE_APP + " Leave `docs_url` and `openapi_url` at their defaults.",
            )
    where, bare_class = _binding(main_py)
    if bare_class:
        raise CheckFailure(
            f"`app` is the class FastAPI, not a FastAPI application{where}. uvicorn makes one "
            "for you when it serves it, but the routes of step 3 (`@app.post(...)`) need the "
            "application itself.",
            BRACKETS,
        )


@check(points=1, task=2)
def test_step_one_still_holds(main_py: MainPy, started: Started) -> None:
    """notes_db and next_id are still there"""
    started.require_import()
    require_notes_db(main_py)
    require_next_id(main_py)
