"""`persistlab solution`: every line exactly as written, piped or in a narrow terminal."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from click.testing import CliRunner

from grader.cli import cli
from grader.course import Course
from grader.progress import record_result
from grader.solution import solution_files

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def passed(workspace: Path, course: Course, number: int) -> None:
    step = course.step(number)
    record_result(workspace, number, "pass", step.points, step.points)


def expected_listing(course: Course, number: int) -> str:
    files = solution_files(course.step(number))
    return "\n".join(f"==> {path.name} <==\n{path.read_bytes().decode('utf-8')}" for path in files)


def persistlab(*args: str) -> list[str]:
    return [sys.executable, "-m", "grader", *args]


def test_piped_solution_is_every_file_byte_for_byte(workspace: Path, course: Course) -> None:
    passed(workspace, course, 7)
    whole = subprocess.run(persistlab("solution", "7", "--dir", str(workspace)),
                           capture_output=True, check=True, timeout=60)
    assert whole.stdout == expected_listing(course, 7).encode("utf-8"), "every byte as in the files"
    assert b"\x1b[" not in whole.stdout, "no colour when piped"
    long_lines = [line for line in whole.stdout.decode().splitlines() if len(line) > 80]
    assert any(line.endswith("else {}") for line in long_lines), "the line the issue saw cropped"
    one = subprocess.run(persistlab("solution", "7", "database.py", "--dir", str(workspace)),
                         capture_output=True, check=True, timeout=60)
    assert one.stdout == (course.step(7).solution_dir / "database.py").read_bytes()


def run_in_terminal(args: list[str], columns: int) -> str:
    """Run `args` on a pseudo-terminal `columns` wide; what it printed, newlines as written."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "TERM")}
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower,
                               env={**env, "TERM": "xterm-256color"}, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_solution_in_a_60_column_terminal_is_coloured_and_never_cropped(
    workspace: Path, course: Course
) -> None:
    passed(workspace, course, 7)
    shown = run_in_terminal(persistlab("solution", "7", "--dir", str(workspace)), columns=60)
    assert "\x1b[" in shown, "colour on a terminal"
    assert ANSI.sub("", shown) == expected_listing(course, 7)


def test_every_solution_comes_out_whole_in_a_narrow_terminal(workspace: Path, course: Course) -> None:
    for step in course.steps:
        passed(workspace, course, step.number)
    for step in course.steps[3:]:
        shown = run_in_terminal(persistlab("solution", str(step.number), "--dir", str(workspace)), 60)
        assert ANSI.sub("", shown) == expected_listing(course, step.number), step.folder


def test_diff_shows_the_students_lines_against_the_solution(workspace: Path, course: Course) -> None:
    passed(workspace, course, 3)
    folder = workspace / course.step(3).folder
    solution = course.step(3).solution_dir / "main.py"
    (folder / "main.py").write_bytes(solution.read_bytes())
    same = CliRunner().invoke(cli, ["solution", "3", "--diff", "--dir", str(workspace)])
    assert same.exit_code == 0 and "the same as the solution's" in same.output
    (folder / "main.py").write_text(solution.read_text().replace("next_id += 1", "next_id = next_id"))
    diff = CliRunner().invoke(cli, ["solution", "3", "--diff", "--dir", str(workspace)])
    assert diff.exit_code == 0
    assert "--- yours/main.py\n+++ solution/main.py\n" in diff.output
    assert "\n-    next_id = next_id\n" in diff.output and "\n+    next_id += 1\n" in diff.output


def test_write_copies_the_solution_and_never_overwrites(tmp_path: Path, workspace: Path,
                                                        course: Course) -> None:
    passed(workspace, course, 6)
    target = tmp_path / "reference"
    written = CliRunner().invoke(cli, ["solution", "6", "--write", str(target), "--dir", str(workspace)])
    assert written.exit_code == 0, written.output
    for path in solution_files(course.step(6)):
        assert (target / path.name).read_bytes() == path.read_bytes()
    (target / "main.py").write_text("# mine\n")
    again = CliRunner().invoke(cli, ["solution", "6", "--write", str(target), "--dir", str(workspace)])
    assert again.exit_code == 2 and "nothing was written" in again.output
    assert (target / "main.py").read_text() == "# mine\n"


def test_a_file_the_solution_does_not_have_is_named(workspace: Path, course: Course) -> None:
    passed(workspace, course, 5)
    refused = CliRunner().invoke(cli, ["solution", "5", "nope.py", "--dir", str(workspace)])
    assert refused.exit_code == 2 and "has no nope.py; it has db.py, main.py" in refused.output
