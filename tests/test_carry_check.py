"""`dev check`'s carry-forward check: a student's own step-N code, carried to step N+1, fails
until step N+1's tasks are done and passes after."""

from __future__ import annotations

from dataclasses import replace

import pytest

import grader.carry
import grader.carry_check
from grader.carry_check import OWN_LINE, carry_problems, tasks_done
from grader.course import Course


def steps_3_and_4(course: Course) -> Course:
    return replace(course, steps=course.steps[2:4])


def test_a_students_own_step_3_goes_to_step_4_and_passes_once_its_task_is_done(course: Course) -> None:
    assert carry_problems(steps_3_and_4(course)) == []


def test_the_students_own_line_survives_the_tasks(course: Course) -> None:
    step3, step4 = course.step(3), course.step(4)
    text = (step3.solution_dir / "main.py").read_text()
    own = text.replace("\n\nclass NoteIn", "\n\n" + OWN_LINE + "class NoteIn")
    carried = grader.carry.merge_file("main.py", text.encode(), own.encode(),
                                      (step4.exercise_dir / "main.py").read_bytes())
    assert carried is not None
    done = tasks_done(step4, {"main.py": carried})
    assert done is not None and OWN_LINE.encode() in done["main.py"]
    assert b'@app.get("/notes")' in done["main.py"]


def test_a_clash_is_a_problem(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    real = grader.carry.plan

    def clashing(*args: object) -> grader.carry.Plan:
        made = real(*args)  # type: ignore[arg-type]
        made.clashes.append("main.py")
        return made

    monkeypatch.setattr(grader.carry, "plan", clashing)
    monkeypatch.setattr(grader.carry_check, "plan", real)  # the place is found as before
    assert carry_problems(steps_3_and_4(course)) == [
        "step 4 (04-list-notes): a student's own step-3 code was not carried forward (main.py clash)"
    ]


@pytest.mark.parametrize(
    ("verdicts", "says"),
    [
        (("pass", "pass"), "the carried-forward folder passes before its tasks are done"),
        (("fail", "fail"), "the carried-forward folder with its tasks done does not pass (fail): not yet"),
        (("fail", "pass"), ""),
    ],
)
def test_a_carried_folder_judged_wrongly_is_a_problem(
    course: Course, monkeypatch: pytest.MonkeyPatch, verdicts: tuple[str, str], says: str
) -> None:
    from grader.results import StepReport, TestResult

    given = iter(verdicts)

    def judged(step: object, folder: object) -> StepReport:
        status = next(given)
        check = TestResult(name="a check", status=status, max_score=6,
                           message="" if status == "pass" else "not yet")
        return StepReport(step=4, status=status, max_score=6, tests=[check])

    monkeypatch.setattr(grader.carry_check, "run_checks", judged)
    problems = carry_problems(steps_3_and_4(course))
    assert [says in problem for problem in problems] == ([True] if says else []), problems
