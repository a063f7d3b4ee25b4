"""The quiz runners' settings, read from the environment once and passed in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.quiz.bank import QUIZ_DIR
from grader.quiz.store import default_database_url
from grader.workspace import find_workspace

PREFIX = "PERSISTLAB_"
MIN_TOKEN_LENGTH = 16


class SettingsError(ValueError):
    """An environment variable holds a value the quiz cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything `create_app` and the terminal runner need; nothing is read at import time.

    Environment (all optional): PERSISTLAB_DATABASE_URL, PERSISTLAB_SECRET_KEY,
    PERSISTLAB_INSTRUCTOR_TOKEN, PERSISTLAB_QUIZ_DIR, PERSISTLAB_WORKSPACE,
    PERSISTLAB_MAX_BODY_BYTES, PERSISTLAB_SQLITE_SYNCHRONOUS, PERSISTLAB_SECURE_COOKIES,
    PERSISTLAB_QUIZ_SETTINGS (the instructor's quiz settings file, see grader/quiz/policy.py).
    """

    database_url: str
    secret_key: str | None = None
    instructor_token: str | None = None
    quiz_dir: Path = QUIZ_DIR
    workspace: Path | None = None
    max_body_bytes: int = 16 * 1024
    sqlite_synchronous: str = "FULL"
    secure_cookies: bool = False
    quiz_settings: Path | None = None

    def __post_init__(self) -> None:
        token = self.instructor_token
        if token is not None and len(token) < MIN_TOKEN_LENGTH:
            raise SettingsError(
                f"{PREFIX}INSTRUCTOR_TOKEN is {len(token)} characters long; it must have at least "
                f"{MIN_TOKEN_LENGTH}, so that it cannot be guessed. Make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(PREFIX + name, "").strip()
            return value or None

        workspace_dir = get("WORKSPACE")
        workspace = Path(workspace_dir) if workspace_dir else find_workspace(cwd)
        synchronous = (get("SQLITE_SYNCHRONOUS") or "FULL").upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise SettingsError(
                f"{PREFIX}SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL, not {synchronous!r}."
            )
        max_body = get("MAX_BODY_BYTES") or "16384"
        if not max_body.isdigit() or int(max_body) < 1024:
            raise SettingsError(f"{PREFIX}MAX_BODY_BYTES must be a whole number >= 1024.")
        return cls(
            database_url=get("DATABASE_URL") or default_database_url(workspace or cwd),
            secret_key=get("SECRET_KEY"),
            instructor_token=get("INSTRUCTOR_TOKEN"),
            quiz_dir=Path(get("QUIZ_DIR") or QUIZ_DIR),
            workspace=workspace,
            max_body_bytes=int(max_body),
            sqlite_synchronous=synchronous,
            secure_cookies=get("SECURE_COOKIES") in ("1", "true", "yes"),
            quiz_settings=Path(quiz_settings) if (quiz_settings := get("QUIZ_SETTINGS")) else None,
        )
