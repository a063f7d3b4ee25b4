"""The app's settings, read from the environment once, at startup; nothing secret lives in code."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str


def load_settings() -> Settings:
    return Settings(database_url=os.environ.get("DATABASE_URL", "sqlite:///notes.db"))


settings = load_settings()
