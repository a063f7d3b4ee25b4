"""The `persistlab` entry point: start the zygote first, so its imports overlap the CLI's."""

from __future__ import annotations

import gc
import os
import signal
import sys

NEEDS_STUDENT_PROCESSES = {"check", "demo", "dev"}
QUICK_EXIT = {"check"}  # commands whose every clean-up is an atexit handler or done before it


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    try:
        if command in NEEDS_STUDENT_PROCESSES:
            from grader.engine.zygote import shared_zygote

            shared_zygote()
        if command in QUICK_EXIT:
            gc.disable()  # loading makes little garbage; the command turns the collector back on
        from grader.cli import cli

        cli(prog_name="persistlab")
    except KeyboardInterrupt:  # before a command began (the commands say it themselves)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("Stopped (Ctrl-C) before anything ran: your progress is as it was.", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)  # nothing to clean up yet (the zygote dies with us), and no second interrupt
    except SystemExit as done:
        if command in QUICK_EXIT:
            exit_now(done.code)
        if command in NEEDS_STUDENT_PROCESSES:  # done: a late Ctrl-C must not break the clean-up
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise


def exit_now(code: object) -> None:
    """Exit as the interpreter would, threads joined and atexit handlers run, but without its
    teardown of every module loaded (a tenth of a second, and more on a busy machine)."""
    import atexit
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the result is saved: let the clean-up finish
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    getattr(threading, "_shutdown", lambda: None)()  # joins threads as at a normal exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone (`| head`), or a stream closed
            pass
    os._exit(status)
