"""The web UI in a real headless Chromium (Debian's), driven by Playwright, against the whole
system. Screenshots go to test-artifacts/ so a person can look at what the test saw."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import System

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# No background traffic: this machine's network is closed and Chromium would keep retrying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "make test installs Debian's chromium (scripts/ensure-chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, system: System) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(system.api.base_url + "/")
    yield page
    context.close()


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def add_todo(page: Page, title: str, deadline: str = "") -> None:
    form = page.get_by_role("region", name="New todo")
    form.get_by_label("Title").fill(title)
    if deadline:
        form.get_by_label("Deadline").fill(deadline)
    form.get_by_role("button", name="Add todo").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added “{title}”")


def test_manage_todos_export_and_download_the_calendar(page: Page, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:6]
    first, second = f"Write report {tag}", f"Book train {tag}"
    add_todo(page, first, "2026-12-01T09:30")
    add_todo(page, second, "2026-12-02T18:00")
    page.get_by_role("checkbox", name=second).check()  # complete it
    expect(page.get_by_role("status")).to_contain_text(f"Completed “{second}”")
    expect(page.locator("li.todo.done", has_text=second)).to_be_visible()
    shoot(page, "01-todos")

    page.get_by_role("button", name="Export calendar").click()
    download_link = page.get_by_role("link", name="Download the .ics file")
    expect(download_link).to_be_visible()
    steps = page.get_by_label("Export progress").locator("li")
    expect(steps).to_have_count(3)
    expect(steps.nth(2)).to_contain_text("SUCCESS")
    shoot(page, "02-exported")

    with page.expect_download() as info:
        download_link.click()
    saved = tmp_path / "calendar.ics"
    info.value.save_as(saved)
    events = icalendar.Calendar.from_ical(saved.read_bytes()).walk("VEVENT")
    summaries = {str(e["summary"]) for e in events}
    assert first in summaries
    assert f"[done] {second}" in summaries


def test_api_errors_are_shown_and_nothing_is_added(page: Page) -> None:
    too_long = "x" * 501
    form = page.get_by_role("region", name="New todo")
    form.get_by_label("Title").fill(too_long)
    form.get_by_role("button", name="Add todo").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("title")
    expect(page.locator("li.todo", has_text=too_long)).to_have_count(0)
    shoot(page, "03-error")


def test_edit_filter_and_delete(page: Page) -> None:
    tag = uuid.uuid4().hex[:6]
    title = f"Edit me {tag}"
    add_todo(page, title)
    item = page.locator("li.todo", has_text=title)
    expect(item.locator("form.edit-form")).to_be_hidden()
    item.get_by_role("button", name=f"Edit {title}").click()
    expect(item.locator("form.edit-form")).to_be_visible()
    item.get_by_label("Title").fill(f"Edited {tag}")
    item.get_by_role("button", name="Save").click()
    edited = page.locator("li.todo", has_text=f"Edited {tag}")
    expect(edited).to_be_visible()
    page.get_by_label("Show").select_option("true")
    page.get_by_role("button", name="Filter").click()
    expect(edited).to_have_count(0)  # it is open, the filter shows done ones
    page.get_by_label("Show").select_option("")
    page.get_by_role("button", name="Filter").click()
    edited.get_by_role("button", name=f"Delete Edited {tag}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Deleted “Edited {tag}”")
    expect(edited).to_have_count(0)


def test_it_works_in_a_narrow_window_and_offers_the_live_feed(
    browser: Browser, system: System
) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 780})
    page = context.new_page()
    page.goto(system.api.base_url + "/")
    expect(page.get_by_role("heading", name="TaskOverflow")).to_be_visible()
    overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth)"
        ".map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px: {wide}"
    subscribe = page.get_by_role("link", name="subscribe in your calendar app")
    assert (
        subscribe.get_attribute("href")
        == f"webcal://{system.api.base_url.split('//')[1]}/api/v1/calendar.ics"
    )
    new_todo = page.get_by_role("region", name="New todo")
    for control in ("Title", "Description", "Deadline"):
        expect(new_todo.get_by_label(control, exact=True)).to_be_visible()
    for control in ("Show", "Due within (days)"):
        expect(page.get_by_label(control, exact=True)).to_be_visible()
    shoot(page, "04-narrow")
    context.close()
