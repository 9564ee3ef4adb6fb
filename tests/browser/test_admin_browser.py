"""The admin measured in a real Chromium: the generation list's every column within 1440 px, and
the app's theme (its cookie) followed, dark included."""

import pytest

from tests.browser.conftest import snapshot
from tests.browser.test_layout_browser import WIDE, listed  # noqa: F401

pytestmark = pytest.mark.browser

# The right edge of the Latency heading against the window's and the results box's.
LATENCY_EDGE = """() => {
  const heading = document.querySelector('#result_list th.column-latency');
  const box = document.querySelector('#changelist .results');
  return {heading: heading.getBoundingClientRect().right, box: box.getBoundingClientRect().right,
          window: window.innerWidth, scrolls: box.scrollWidth > box.clientWidth + 1};
}"""


def test_the_admin_list_shows_the_latency_column_at_1440_px(staff_page, live_server, listed):  # noqa: F811
    page = staff_page
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/admin/generations/generation/")
    edges = page.evaluate(LATENCY_EDGE)
    assert not edges["scrolls"], edges
    assert edges["heading"] <= min(edges["box"], edges["window"]), edges
    assert "$0.0001235" in page.locator("#result_list").inner_text()
    snapshot(page, "admin-generations-1440")


@pytest.mark.parametrize(("theme", "background"), [("dark", "rgb(18, 18, 18)"), ("light", "rgb(255, 255, 255)")])
def test_the_admin_follows_the_apps_theme_whatever_the_system_says(staff_page, live_server, theme, background):
    page = staff_page
    page.emulate_media(color_scheme="light" if theme == "dark" else "dark")
    page.context.add_cookies([{"name": "theme", "value": theme, "url": live_server.url}])
    page.goto(f"{live_server.url}/admin/")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == background
    snapshot(page, f"admin-{theme}")
