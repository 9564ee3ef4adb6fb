"""The dashboard in a real Chromium, with the pinned Chart.js served locally (see .ci/run)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from generations.models import KeyLabel
from tests.factories import make_generation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN = "Array.from(document.querySelectorAll('canvas[data-chart]')).filter(c => Chart.getChart(c)).length"


@pytest.fixture
def browser_page(browser, live_server, user):
    now = timezone.now()
    for number in range(40):
        make_generation(
            f"browser-{number}",
            body=False,
            model=["openai/gpt-4o", "anthropic/claude-sonnet-4"][number % 2],
            provider=["openai", "anthropic"][number % 2],
            occurred_at=now - timedelta(hours=number * 4 + 1),
        )
    # A team for the key, so "Cost by team" is a chart (with no team anywhere it says how to label keys).
    KeyLabel.objects.create(api_key_hash="sha256:aaaabbbbcccc", name="Support bot", team="Support")
    # The ORM is done before Playwright starts its event loop in this thread.
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page, live_server.url
    context.close()


def test_every_chart_is_drawn_and_redrawn_after_an_htmx_swap(browser_page):
    page, base = browser_page
    page.goto(f"{base}/dashboard/")
    page.wait_for_function(f"() => {DRAWN} === 12")
    page.select_option("select[name=range]", "30d")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/?range=30d*")
    page.wait_for_function(f"() => {DRAWN} === 12")
    assert "Last 30 days" in page.locator("select[name=range]").inner_text()
    page.go_back()
    page.wait_for_function(f"() => {DRAWN} === 12")
    assert page.errors == []


def test_clicking_a_bar_opens_the_filtered_generation_list(browser_page):
    page, base = browser_page
    page.goto(f"{base}/dashboard/?range=30d")
    canvas = page.locator("canvas[data-chart=chart-data-cost-by-model]")
    canvas.scroll_into_view_if_needed()
    page.wait_for_function(f"() => {DRAWN} === 12")
    x, y = page.evaluate(
        "(() => { const bar = Chart.getChart(document.querySelector('canvas[data-chart=chart-data-cost-by-model]'))"
        ".getDatasetMeta(0).data[0]; return [bar.base + (bar.x - bar.base) / 2, bar.y]; })()"
    )
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/generations/?*model=*")
    assert page.locator("table.generations tbody tr").count() == 20


@pytest.mark.parametrize(
    ("theme", "system", "background", "grid"),
    [
        ("auto", "dark", "rgb(15, 18, 23)", "rgb(44, 50, 60)"),
        ("auto", "light", "rgb(246, 247, 249)", "rgb(221, 225, 230)"),
        ("light", "dark", "rgb(246, 247, 249)", "rgb(221, 225, 230)"),
        ("dark", "light", "rgb(15, 18, 23)", "rgb(44, 50, 60)"),
    ],
)
def test_auto_follows_the_system_and_a_chosen_theme_overrides_it(browser_page, theme, system, background, grid):
    page, base = browser_page
    page.emulate_media(color_scheme=system)
    page.context.add_cookies([{"name": "theme", "value": theme, "url": base}])
    page.goto(f"{base}/dashboard/")
    page.wait_for_function(f"() => {DRAWN} > 0")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == background
    # The charts are drawn in the theme's resolved colours, not in the light-dark() pairs.
    assert page.evaluate("() => Chart.defaults.borderColor") == grid


def test_dark_theme_switch_works_without_javascript(browser_page):
    page, base = browser_page
    page.goto(f"{base}/dashboard/")
    page.click("form.theme-switch button[value=dark]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 23)"
