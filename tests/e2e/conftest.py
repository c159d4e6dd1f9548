"""Shared end-to-end fixtures: a real JupyterLab server (``lab``) and offline Chromium (``browser``,
``page``). Tests open the app with ``from lab import open_lab``."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab import CHROMIUM, CHROMIUM_ARGS, LabServer, is_local
from offline import guarded_page

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"


def pytest_collection_modifyitems(items):
    """Everything in tests/e2e is marked ``e2e`` (``pytest -m "not e2e"`` runs the rest)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not session-wide: Playwright's sync API keeps an asyncio loop
    running in the main thread while open, which breaks the asyncio tests that run after tests/e2e."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh context and page that may only talk to 127.0.0.1/localhost; any other request is
    aborted and fails the test at teardown."""
    allowed = lambda url: is_local(url) or url.startswith(("data:", "blob:"))  # noqa: E731
    with guarded_page(browser, allowed, viewport={"width": 1400, "height": 900}) as (page, blocked):
        yield page
    assert not blocked, f"page tried to leave the machine: {blocked}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure: attach the server log and save a screenshot of the page under test-results/."""
    report = yield
    if report.failed:
        server = item.funcargs.get("lab")
        if isinstance(server, LabServer):
            report.sections.append(("jupyter lab log", server.log()[-20_000:]))
        page = item.funcargs.get("page")
        if page is not None and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / f"{item.name}.png"
            page.screenshot(path=shot, full_page=True)
            report.sections.append(("screenshot", str(shot)))
    return report
