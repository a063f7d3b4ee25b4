"""`persistlab list` shows, per step, the linked quiz questions answered right: from the terminal
quiz and from the web quiz served from the same workspace (grader/quiz/answered.py)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from grader.course import Course
from grader.quiz import grading
from grader.quiz.answered import answered_right
from grader.quiz.bank import load_bank
from grader.quiz.commands import quiz
from grader.quiz.grading import LABELS, QuizChoice
from grader.quiz.store import QuizStore
from grader.quiz.web import Settings, create_app
from grader.workspace import state_db
from tests.quiz.conftest import QuizClient
from tests.test_cli import flat, run


def quiz_column(workspace: Path, step_number: int) -> str:
    listing = run("list", "--dir", str(workspace)).output
    row = next(line for line in listing.splitlines() if re.match(rf"^\S?\s+{step_number}\s", line))
    return re.findall(r"\d+/\d+ right", row)[-1]


def test_right_answers_in_the_terminal_and_on_the_web_both_count(
    workspace: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    bank, url = load_bank(), f"sqlite:///{state_db(workspace)}"
    two = course.step(2)
    assert quiz_column(workspace, 2) == f"0/{len(two.quiz)} right"

    monkeypatch.setattr(grading, "shuffled_order", lambda question, rng: "".join(o.key for o in question.options))
    asked = QuizChoice.for_step(two).pick(bank, random.Random(0))
    letters = [LABELS[[o.key for o in q.options].index(q.answer.key)] for q in asked]
    letters[-1] = next(label for label in "ABCD" if label != letters[-1])  # the last one wrong
    monkeypatch.chdir(workspace.parent)
    taken = CliRunner().invoke(quiz, ["--step", "2", "--name", "Ada", "--dir", workspace.name],
                               input="\n".join(letters) + "\n", env={"PERSISTLAB_DATABASE_URL": ""})
    assert taken.exit_code == 0, taken.output
    assert quiz_column(workspace, 2) == f"{len(two.quiz) - 1}/{len(two.quiz)} right"

    four = course.step(4)
    topic = bank.get(four.quiz[0]).topic
    before = answered_right(workspace)
    with TestClient(create_app(Settings(database_url=url, workspace=workspace))) as http:
        student = QuizClient(http)
        path = student.start(quiz=topic, name="Ada")
        attempt_id = int(path.split("/")[2])
        store = QuizStore(url)
        served = store.attempt(attempt_id)
        store.close()
        assert served is not None
        for answer in served.answers:
            here = re.sub(r"/questions/\d+$", f"/questions/{answer.position}", path)
            label = LABELS[answer.option_order.index(bank.get(answer.question_id).answer.key)]
            assert student.answer(here, form={"choice": label}).status_code == 303
    web = {answer.question_id for answer in served.answers}
    assert answered_right(workspace) == before | web
    linked = set(four.quiz)
    assert quiz_column(workspace, 4) == f"{len(linked & (before | web))}/{len(linked)} right"
    assert len(linked & web) >= 1
    assert "quiz: the step's linked questions you have answered right" in flat(run("list", "--dir", str(workspace)).output)


def test_the_quiz_outside_a_workspace_is_refused_with_dir(tmp_path: Path) -> None:
    refused = CliRunner().invoke(quiz, ["--step", "1", "--dir", str(tmp_path)])
    assert refused.exit_code == 1 and "is not a persistlab workspace" in refused.output
