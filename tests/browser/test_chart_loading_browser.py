"""The dashboard when Chart.js cannot come from CHARTJS_URL (offline, a blocked CDN, a wrong URL):
it draws from this server's copy of the same pinned file, and when that fails too it says why,
opens every table and hides the empty plots."""

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from tests.browser.conftest import PageProblems, log_in, open_page, snapshot
from tests.browser.test_dashboard_flows import _assert_every_chart_painted, stored_generations  # noqa: F401

pytestmark = pytest.mark.browser

CDN = f"https://cdn.jsdelivr.net/npm/chart.js@{django_settings.CHARTJS_VERSION}/dist/chart.umd.min.js"
LOCAL_COPY = "**/vendor/chart.js/chart.umd.min.js"


@pytest.fixture
def blocked_page(context, request, live_server, viewer, settings):
    """A signed-in viewer's page with Chart.js pinned to the CDN; the console errors of the loads a
    test blocks are expected, any other problem fails the test."""
    settings.CHARTJS_URL, settings.CHARTJS_SRI = CDN, settings.CHARTJS_DEFAULT_SRI
    page, problems = open_page(context, request)
    log_in(page, live_server, viewer.username)
    yield page
    unexpected = PageProblems(p for p in problems if "Failed to load resource" not in p)
    assert not unexpected, "The browser reported: " + "; ".join(unexpected)


def test_a_blocked_cdn_falls_back_to_the_servers_copy_and_draws(blocked_page, live_server, stored_generations):  # noqa: F811
    page = blocked_page
    cdn_requests = []
    page.route(CDN, lambda route: (cdn_requests.append(route.request.url), route.abort()))
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    _assert_every_chart_painted(page)
    assert cdn_requests == [CDN]
    expect(page.locator("#charts-unavailable")).to_be_hidden()
    assert page.locator("details.chart-table[open]").count() == 0


def test_without_any_chartjs_the_page_says_why_and_opens_every_table(blocked_page, live_server, stored_generations):  # noqa: F811
    page = blocked_page
    page.route(CDN, lambda route: route.abort())
    page.route(LOCAL_COPY, lambda route: route.abort())
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    message = page.locator("#charts-unavailable")
    expect(message).to_be_visible()
    expect(message).to_contain_text("The charts could not be drawn")
    expect(message).to_contain_text("cdn.jsdelivr.net")
    expect(message).to_contain_text("this server's copy")
    cards = page.locator("section.chart-card")
    assert cards.count() >= 10
    expect(page.locator("details.chart-table[open]")).to_have_count(cards.count())
    # Laid out: each table takes room on the page and no empty plot does.
    heights = page.evaluate(
        "() => Array.from(document.querySelectorAll('section.chart-card')).map(card => ({"
        " table: card.querySelector('table.data').getBoundingClientRect().height,"
        " plot: card.querySelector('.chart-box')?.getBoundingClientRect().height ?? 0}))"
    )
    assert all(h["table"] > 40 and h["plot"] == 0 for h in heights), heights
    snapshot(page, "dashboard-without-chartjs")
    # The page keeps working: a filter change swaps the body in, tables open again.
    page.select_option("select[name=range]", "7d")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/?range=7d*")
    expect(page.locator("details.chart-table[open]")).to_have_count(page.locator("section.chart-card").count())
    expect(message).to_be_visible()
