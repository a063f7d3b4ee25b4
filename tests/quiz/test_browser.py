"""A student takes a quiz end to end in headless Chromium against a real `persistlab serve`,
mostly by keyboard; screenshots go to tests/artifacts/ for a human to look at."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.quiz.conftest import ROOT, ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = ROOT / "tests" / "artifacts"
pytestmark = pytest.mark.solo  # Chromium and a server on two cores: nothing beside them


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test drives Debian's chromium "
            "(apt-get install chromium).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    yield opened
    context.close()
    assert not problems, problems


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _choose_by_keyboard(page: Page, index: int) -> None:
    """The first option has focus: Space picks it, each ArrowDown moves down and picks."""
    expect(page.locator("#choice-A")).to_be_focused()
    if index == 0:
        page.keyboard.press("Space")
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Submit answer")).to_be_focused()
    page.keyboard.press("Enter")


def test_take_a_quiz_end_to_end(server: ServerProcess, page: Page) -> None:
    page.goto(server.url + "/")
    expect(page.get_by_role("heading", name="Course map")).to_be_visible()
    page.get_by_label("Your display name").fill("Grace")
    _shot(page, "quiz-home")
    page.locator("#quiz-persistence").check()
    page.get_by_role("button", name="Start quiz").click()

    for position, right in ((1, True), (2, False), (3, True)):
        expect(page.get_by_text(f"Question {position} of 3")).to_be_visible()
        group = page.get_by_role("group", name="Which is right about")
        expect(group).to_be_visible()
        texts = page.locator(".options label").all_inner_texts()
        assert len(texts) == 4
        wanted = next(i for i, text in enumerate(texts) if ("Right answer" in text) == right)
        if position == 1:  # dict-restart: its code is the group's description
            expect(group).to_have_accessible_description(re.compile(r"notes = \{\}\s+notes\[1\]"))
            _shot(page, "quiz-question")
        else:
            expect(group).not_to_have_attribute("aria-describedby", re.compile(".*"))
        if position < 3:
            _choose_by_keyboard(page, wanted)
        else:
            page.locator(".options label").nth(wanted).click()
            page.get_by_role("button", name="Submit answer").click()
        feedback = page.get_by_role("status", name="Feedback")
        expect(feedback).to_be_focused()
        expect(feedback).to_contain_text("Right!" if right else "Not quite.")
        expect(feedback).to_contain_text("Worked solution")
        expect(feedback.get_by_role("link", name="Go to step 1")).to_be_visible()
        if not right:
            expect(feedback).to_contain_text("The misconception behind")
            _shot(page, "quiz-feedback")
        next_step = "See your score" if position == 3 else "Next question"
        page.keyboard.press("Tab")  # the linked step
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name=next_step)).to_be_focused()
        page.keyboard.press("Enter")

    expect(page.get_by_text("2 / 3")).to_be_visible()
    _shot(page, "quiz-results")
    page.get_by_role("link", name="Review your answers").click()
    expect(page.get_by_role("heading", name="Worked solution")).to_have_count(3)
    _shot(page, "quiz-review")

    page.go_back()
    page.get_by_role("button", name="Retake this quiz").click()
    expect(page.get_by_text("Question 1 of 3")).to_be_visible()
    assert page.url.endswith("/attempts/2/questions/1")
