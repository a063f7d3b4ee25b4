"""Phone, keyboard and screen reader: every kind of page, at 1280 and 390 px wide, has one h1,
needs no sideways scrolling, and passes axe-core (the npm package, injected by Playwright)
with no violation; every question of the real bank fits a 390 px phone."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from grader.quiz.bank import load_bank
from tests.quiz.conftest import INSTRUCTOR_TOKEN, ROOT, ServerProcess
from tests.quiz.test_browser import browser  # noqa: F401 - the fixture

AXE = Path(os.environ.get("PERSISTLAB_AXE", ROOT / "node_modules" / "axe-core" / "axe.min.js"))
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE}): install it with `npm install --no-save axe-core@4` "
            "in the repository, or point PERSISTLAB_AXE at axe.min.js.",
            pytrace=False,
        )
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def real_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    """`persistlab serve` on the real question bank (its code blocks are the wide ones)."""
    env = {k: v for k, v in server_env.items() if k != "PERSISTLAB_QUIZ_DIR"}
    process = ServerProcess(env, tmp_path / "layout.log")
    yield process.start()
    process.stop()


def _page(browser: Browser, width: int) -> Page:  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    return context.new_page()


def _fits(page: Page) -> None:
    """One h1, and nothing wider than the viewport (a code block or a table scrolls itself)."""
    where = page.url
    assert page.locator("h1").count() == 1, f"{where}: {page.locator('h1').count()} h1"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where}: {overflow} px wider than the screen"


def _axe(page: Page, source: str) -> None:
    page.add_script_tag(content=source)
    violations = page.evaluate("async () => (await axe.run(document)).violations")
    found = [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in violations
    ]
    assert not found, f"{page.url} at {page.viewport_size}: " + "; ".join(found)


def _answer(page: Page, right: bool | None = None) -> None:
    """Pick the first option (or a right or wrong one, by the tiny bank's texts) and submit."""
    labels = page.locator(".options label")
    index = 0
    if right is not None:
        texts = labels.all_inner_texts()
        index = next(i for i, text in enumerate(texts) if ("Right answer" in text) == right)
    labels.nth(index).click()
    page.get_by_role("button", name="Submit answer").click()


@pytest.mark.solo  # Chromium and a server on two cores: nothing beside them
@pytest.mark.parametrize("width", WIDTHS)
def test_every_kind_of_page_passes_axe_and_fits(
    server: ServerProcess,
    browser: Browser,  # noqa: F811
    axe_source: str,
    width: int,
) -> None:
    page = _page(browser, width)
    try:
        page.goto(server.url + "/")
        page.get_by_label("Your display name").fill("Grace")
        page.locator("#quiz-persistence").check()
        page.get_by_role("button", name="Start quiz").click()
        pages = {"question with code": page.url}
        _fits(page)
        _axe(page, axe_source)
        _answer(page, right=False)
        pages["feedback"] = page.url
        for _ in range(2):
            page.get_by_role("link", name=re.compile("Next question|See your score")).click()
            _answer(page)
        page.get_by_role("link", name="See your score").click()
        attempt = page.url.rsplit("/", 1)[0]
        pages.update(
            {
                "results": attempt + "/results",
                "review": attempt + "/review",
                "home with attempts": server.url + "/",
                "error": server.url + "/attempts/99",
                "instructor sign-in": server.url + "/instructor",
            }
        )
        for url in pages.values():
            page.goto(url)
            _fits(page)
            _axe(page, axe_source)
        page.get_by_label("Instructor token").fill(INSTRUCTOR_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        assert page.get_by_role("heading", name="Quiz statistics").is_visible()
        _fits(page)
        _axe(page, axe_source)
    finally:
        page.context.close()


def test_every_question_of_the_real_bank_fits_a_phone(
    real_server: ServerProcess,
    browser: Browser,  # noqa: F811
) -> None:
    """Every question and its feedback fit a 390 px phone. Not solo: it measures layout, which
    another test beside it does not change."""
    bank = load_bank()
    page = _page(browser, 390)
    seen: set[str] = set()
    try:
        page.goto(real_server.url + "/")
        for topic in bank.topics():
            page.goto(real_server.url + "/")
            page.get_by_label("Your display name").fill("Phone")
            page.locator(f"#quiz-{topic}").check()
            page.get_by_role("button", name="Start quiz").click()
            while "/questions/" in page.url:
                _fits(page)
                code = page.locator("pre.code")
                if code.count():
                    assert code.get_attribute("tabindex") == "0"  # scrollable by keyboard
                seen.add(page.url)
                _answer(page)
                _fits(page)  # the feedback too
                page.get_by_role("link", name=re.compile("Next question|See your score")).click()
        assert len(seen) == len(bank.questions)
    finally:
        page.context.close()
    assert httpx.get(real_server.url + "/").status_code == 200


@pytest.fixture
def ruled_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[ServerProcess]:
    """`persistlab serve` with every quiz setting in use: persistence with a time limit and
    feedback after the close date, the self-check with feedback after the attempt."""
    rules = tmp_path / "quiz-settings.toml"
    rules.write_text(
        "[defaults]\nattempts = 3\n\n"
        "[quizzes.persistence]\ntimelimit = 30\nfeedback = 'after-close'\n"
        "timeopen = 2020-01-01T08:00:00Z\ntimeclose = 2099-12-31T17:00:00Z\n\n"
        "[quizzes.self-check]\nfeedback = 'deferred'\nmultiple_open = true\n"
    )
    env = {**server_env, "PERSISTLAB_QUIZ_SETTINGS": str(rules)}
    process = ServerProcess(env, tmp_path / "ruled.log")
    yield process.start()
    process.stop()


@pytest.mark.solo  # Chromium and a server on two cores: nothing beside them
@pytest.mark.parametrize("width", WIDTHS)
def test_the_pages_of_the_quiz_settings_pass_axe_and_fit(
    ruled_server: ServerProcess,
    browser: Browser,  # noqa: F811
    axe_source: str,
    width: int,
) -> None:
    def check() -> None:
        _fits(page)
        _axe(page, axe_source)

    page = _page(browser, width)
    try:
        page.goto(ruled_server.url + "/")
        label = page.locator("label[for=quiz-persistence]")
        assert "closes 2099-12-31 17:00 UTC; time limit 30 minutes" in label.inner_text()
        check()
        page.get_by_label("Your display name").fill("Grace")
        page.locator("#quiz-persistence").check()
        page.get_by_role("button", name="Start quiz").click()
        expect(page.get_by_text("This attempt takes answers until")).to_be_visible()
        check()
        for position in (1, 2, 3):  # no feedback between questions: on to the next
            expect(page.get_by_text(f"Question {position} of 3")).to_be_visible()
            _answer(page, right=True)
        expect(page).to_have_url(re.compile(r"/results$"))
        expect(page.get_by_role("heading", name="Persistence: submitted")).to_be_visible()
        expect(page.get_by_text("when the quiz closes, at 2099-12-31 17:00 UTC")).to_be_visible()
        check()
        review = page.url.replace("/results", "/review")
        page.goto(review)
        expect(page.get_by_text("opens when the quiz closes")).to_be_visible()
        check()
        page.goto(ruled_server.url + "/")
        expect(page.get_by_text("submitted; the score comes when the quiz closes")).to_be_visible()
        check()

        page.get_by_label("Your display name").fill("Grace")  # the self-check: deferred
        page.get_by_role("button", name="Start quiz").click()
        _answer(page, right=False)
        expect(page).to_have_url(re.compile(r"/questions/2$"))
        expect(page.locator("#feedback.empty")).to_have_count(1)
        check()

        page.goto(ruled_server.url + "/instructor")
        page.get_by_label("Instructor token").fill(INSTRUCTOR_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        settings = page.get_by_role("region", name="Quiz settings")
        for text in ("after the close date", "30 minutes", "after the attempt", "several"):
            expect(settings.get_by_text(text).first).to_be_visible()
        check()
    finally:
        page.context.close()


@pytest.mark.solo  # Chromium and a server on two cores: nothing beside them
def test_an_instructor_merges_two_names_by_keyboard(
    server: ServerProcess,
    browser: Browser,  # noqa: F811
    axe_source: str,
) -> None:
    page = _page(browser, 390)
    try:
        for name in ("Grace", "grace h"):
            page.context.clear_cookies()
            page.goto(server.url + "/")
            page.get_by_label("Your display name").fill(name)
            page.locator("#quiz-fastapi-basics").check()
            page.get_by_role("button", name="Start quiz").click()
        page.goto(server.url + "/instructor")
        page.get_by_label("Instructor token").fill(INSTRUCTOR_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_label("Merge", exact=True).select_option(label="grace h (student 2)")
        page.get_by_label("into").select_option(label="Grace (student 1)")
        _fits(page)
        _axe(page, axe_source)
        page.get_by_role("button", name="Merge", exact=True).focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Merged")).to_be_visible()
        expect(page.get_by_text("grace h is now Grace: 1 attempt moved.")).to_be_visible()
        _fits(page)
        _axe(page, axe_source)
    finally:
        page.context.close()
