"""persistlab: a guided exercise and grading harness for data persistence with FastAPI."""

__version__ = "0.1.0"
