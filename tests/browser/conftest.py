"""Playwright driving Debian's Chromium (headless) against the live test server."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the test's own database calls made while it runs.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class _OneRequestAtATimeServer(ThreadedWSGIServer):
    """The live server, answering one request at a time.

    With SQLite the tests' in-memory database is one connection that the live server's
    threads share; a page that loads several photos at once (each read audited) would have
    two threads writing on that one connection ("database table is locked"). The product
    itself runs on a file database where each thread has its own connection, so only the
    test harness is serialised here; the response is read in full inside the lock.
    """

    def set_app(self, application: Any) -> None:
        lock = threading.Lock()

        def serial(environ: Any, start_response: Any) -> Iterable[bytes]:
            with lock:
                response = application(environ, start_response)
                try:
                    return list(response)
                finally:
                    close = getattr(response, "close", None)
                    if close is not None:
                        close()

        super().set_app(serial)


LiveServerThread.server_class = _OneRequestAtATimeServer


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        # Not a skip: `make test` installs Debian's chromium, so its absence is a broken setup.
        pytest.fail("Debian's chromium is not installed; run `make chromium` (make test does).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 860}, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def shot(page):  # type: ignore[no-untyped-def]
    """Save a full-page screenshot under test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def sign_in(page, email: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
