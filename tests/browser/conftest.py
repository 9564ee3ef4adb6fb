"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

Every page fails its test on a JS dialog (so an injected `alert(1)` is caught), a console error
(CSP violations are reported there) or an uncaught page error, and every page loaded is saved as
a full-page screenshot under test-artifacts/screenshots/.
"""

import asyncio
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from fastrouter_simulator.server import SimulatorConfig, make_server
from generations.roles import role_grant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = django_settings.BASE_DIR / "test-artifacts" / "screenshots"
FETCH_CHARTJS = django_settings.BASE_DIR / "bin" / "fetch-chartjs"
SCREENSHOT_MAX_HEIGHT = 4000
SIMULATOR_KEY = "sim-browser-key-never-shown-7313"
PASSWORD = "browser-pass-4821"


def _chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    reason = f"Browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    if os.getenv("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; REQUIRE_BROWSER=1 forbids skipping them")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    _chromium_or_skip()

    # Playwright's sync API keeps an event loop in this thread, which Django would take for an
    # async context and refuse ORM calls from test code; the ORM calls here are plain sync ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def chartjs_local(browser) -> tuple[str, str]:
    """The pinned Chart.js served from our own static files (no internet here), with its pinned SRI
    hash: bin/fetch-chartjs places it (from the npm registry when missing) and checks that hash."""
    fetched = subprocess.run([FETCH_CHARTJS], capture_output=True, text=True, check=False)  # noqa: S603
    if fetched.returncode:
        pytest.fail(f"bin/fetch-chartjs failed: {fetched.stderr.strip()}")
    return (
        f"/{django_settings.STATIC_URL.strip('/')}/vendor/chart.js/chart.umd.min.js",
        django_settings.CHARTJS_DEFAULT_SRI,
    )


@pytest.fixture(autouse=True)
def browser_settings(settings, chartjs_local, transactional_db):
    # The live server runs in a thread of this process, so these overrides reach its pages.
    settings.CHARTJS_URL, settings.CHARTJS_SRI = chartjs_local
    return settings


@pytest.fixture
def simulator(settings, http_mock) -> Iterator:
    """The project's FastRouter simulator on a free port, standing in for FastRouter."""
    server = make_server(SimulatorConfig(api_key=SIMULATOR_KEY), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    settings.FASTROUTER_BASE_URL = f"http://{host}:{port}"
    settings.FASTROUTER_API_KEY = SIMULATOR_KEY
    http_mock.add_passthru(settings.FASTROUTER_BASE_URL)
    yield server
    server.shutdown()
    server.server_close()


class PageProblems(list):
    """What went wrong in the browser; the test fails when this is not empty at its end."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80] or "page"


def open_page(context, request) -> tuple:
    """A page of `context` that records dialogs, console errors and page errors, and screenshots each load."""
    page = context.new_page()
    problems = PageProblems()
    shots = {"count": 0}
    pending: set = set()
    test_name = _slug(request.node.name)

    def on_dialog(dialog) -> None:
        problems.append(f"JS dialog ({dialog.type}): {dialog.message}")
        dialog.dismiss()

    def on_console(message) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url', '')})")

    def on_load(loaded) -> None:
        shots["count"] += 1
        path = SCREENSHOTS / f"{test_name}-{shots['count']:02d}-{_slug(loaded.url.split('//', 1)[-1])}.png"
        # A blocking (sync API) call inside an event handler can deadlock Playwright's dispatcher,
        # so the shot is scheduled on its event loop instead and the handler returns at once.
        task = asyncio.get_running_loop().create_task(_screenshot_later(loaded._impl_obj, path))
        pending.add(task)
        task.add_done_callback(pending.discard)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("load", on_load)
    return page, problems


@pytest.fixture
def context(browser) -> Iterator:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser_context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield browser_context
    browser_context.close()


@pytest.fixture
def page(context, request) -> Iterator:
    """A browser page that fails the test on any JS dialog, console error or page error."""
    browser_page, problems = open_page(context, request)
    yield browser_page
    # The last page may still be loading when the test ends: keep how it looks now too.
    snapshot(browser_page, f"{request.node.name}-last")
    assert not problems, "The browser reported: " + "; ".join(problems)


async def _screenshot_later(page_impl, path: Path) -> None:
    # The async twin of _save_screenshot, on Playwright's own (pinned) implementation object.
    try:
        tall = await page_impl.evaluate("document.documentElement.scrollHeight", None) > SCREENSHOT_MAX_HEIGHT
        await page_impl.screenshot(
            timeout=10_000,
            type=None,
            path=path,
            quality=None,
            omit_background=None,
            full_page=not tall,
            clip=None,
            animations=None,
            caret=None,
            scale=None,
            mask=None,
            mask_color=None,
            style=None,
        )
    except PlaywrightError:
        pass  # the test moved on (next navigation, or the page closed) before the shot was taken


def _save_screenshot(page, path: Path) -> None:
    # Full page, unless taller than SCREENSHOT_MAX_HEIGHT: Chromium without a GPU needs seconds
    # to paint a 10,000-pixel page (a 5 MB body), so those keep their first screen only.
    tall = page.evaluate("document.documentElement.scrollHeight") > SCREENSHOT_MAX_HEIGHT
    page.screenshot(path=str(path), full_page=not tall)


def snapshot(page, name: str) -> None:
    """A screenshot of the page as it is now (after an htmx swap, which fires no load event)."""
    _save_screenshot(page, SCREENSHOTS / f"{_slug(name)}.png")


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Through the real login form, as a person would."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def viewer(django_user_model):
    return django_user_model.objects.create_user(username="viewer", password=PASSWORD)


@pytest.fixture
def member(django_user_model):
    user = django_user_model.objects.create_user(username="member", password=PASSWORD)
    role_grant(user=user, role="member")
    return user


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser(username="boss", password=PASSWORD)


@pytest.fixture
def viewer_page(page, live_server, viewer):
    log_in(page, live_server, viewer.username)
    return page


@pytest.fixture
def member_page(page, live_server, member):
    log_in(page, live_server, member.username)
    return page


@pytest.fixture
def staff_page(page, live_server, staff):
    log_in(page, live_server, staff.username)
    return page
