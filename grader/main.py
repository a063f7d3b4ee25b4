"""The `persistlab` entry point: start the zygote first, so its imports overlap the CLI's."""

from __future__ import annotations

import sys

NEEDS_STUDENT_PROCESSES = {"check", "demo", "dev"}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in NEEDS_STUDENT_PROCESSES:
        from grader.engine.zygote import shared_zygote

        shared_zygote()
    from grader.cli import cli

    cli(prog_name="persistlab")
