"""The `persistlab` entry point: start the zygote first, so its imports overlap the CLI's."""

from __future__ import annotations

import os
import signal
import sys

NEEDS_STUDENT_PROCESSES = {"check", "demo", "dev"}


def main() -> None:
    try:
        if len(sys.argv) > 1 and sys.argv[1] in NEEDS_STUDENT_PROCESSES:
            from grader.engine.zygote import shared_zygote

            shared_zygote()
        from grader.cli import cli

        cli(prog_name="persistlab")
    except KeyboardInterrupt:  # before a command began (the commands say it themselves)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("Stopped (Ctrl-C) before anything ran: your progress is as it was.", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)  # nothing to clean up yet (the zygote dies with us), and no second interrupt
