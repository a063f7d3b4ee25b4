"""The quiz web app (`persistlab serve`): build one with `create_app(Settings.from_env())`."""

from grader.quiz.web.app import app_from_env, create_app
from grader.quiz.web.settings import Settings, SettingsError

__all__ = ["Settings", "SettingsError", "app_from_env", "create_app"]
