"""The app's settings, read from the environment once, at startup; nothing secret lives in code."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str


def load_settings() -> Settings:
    # TODO 2: Read DATABASE_URL from the environment, with "sqlite:///notes.db" as the default.
    return Settings(database_url="sqlite:///notes.db")


settings = load_settings()
