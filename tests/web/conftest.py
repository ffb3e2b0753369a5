"""Browser tests: the real hub (tests/hub/conftest.py) and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here (`playwright install` needs the internet): it launches
the system's Chromium by its path, `/usr/bin/chromium` (Debian's package, `scripts/setup.sh`), or
`XUELIANG_CHROMIUM`. Without it the tests are skipped on a workstation and fail under CI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.hub.conftest import hub  # noqa: F401 (the real hub fixture, for tests in this folder)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"  # Debian's chromium package


def chromium_path() -> Path:
    path = Path(os.environ.get("XUELIANG_CHROMIUM") or DEFAULT_CHROMIUM)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = (
        f"no Chromium at {path}: install Debian's chromium (scripts/setup.sh does) "
        "or point XUELIANG_CHROMIUM at one"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium; `--no-sandbox` because test machines often run as root in containers."""
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def fresh_page(browser: Browser, **context: Any) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies, `context`: Playwright's options) and one page in
    it; an uncaught error in the page fails the test."""
    opened_context = await browser.new_context(**context)
    opened = await opened_context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        await opened_context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    async with fresh_page(browser, viewport={"width": 1280, "height": 800}) as opened:
        yield opened
