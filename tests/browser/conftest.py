"""Debian's Chromium driven by Playwright, against Django's live test server."""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
# Without the background-networking flags Chromium keeps dialling out, which this machine refuses.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium package is not installed (.ci/run installs it)")
    # Playwright's sync API refuses to start inside a running event loop; Django's
    # async-unsafe check would otherwise trip on it, so allow the test thread its DB calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def log_in(page, base_url: str, path: str, username: str, password: str = "pw") -> None:
    page.goto(base_url + path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("[type=submit]")


TOUR_DIR = Path(__file__).resolve().parents[2] / "docs" / "img"
TOUR_VIEWPORT = {"width": 1100, "height": 700}


def tour_screenshot(page, name: str) -> None:
    """The README's tour pictures: with TOUR_SCREENSHOTS=1 (scripts/tour-screenshots) the test
    that shows a page also writes docs/img/<name>.png, the viewport only so the file stays
    small. Otherwise nothing: a test run leaves the committed pictures alone."""
    if os.environ.get("TOUR_SCREENSHOTS") != "1":
        return
    TOUR_DIR.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    if size and size["width"] > TOUR_VIEWPORT["width"]:
        page.set_viewport_size(TOUR_VIEWPORT)
    page.screenshot(path=str(TOUR_DIR / f"{name}.png"))
    if size:
        page.set_viewport_size(size)
