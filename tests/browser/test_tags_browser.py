"""Tag filters and the cost-by-tag chart in a real Chromium: drawn, its tag name picked without
reloading, a tag typed into the filter form; screenshots at desktop and phone widths, light and dark."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from generations.services import generation_tags_add
from tests.browser.conftest import snapshot
from tests.factories import make_generations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEATURES = ["search", "chat", "summarise", "translate"]


@pytest.fixture
def tagged_session(live_server, user):
    now = timezone.now()
    make_generations(
        {
            f"tagged-{n}": {
                "model": ["openai/gpt-4o", "anthropic/claude-sonnet-4"][n % 2],
                "provider": ["openai", "anthropic"][n % 2],
                "cost_pico": 10**9 * (n % 7 + 1),
                "occurred_at": now - timedelta(hours=3 * n + 1),
            }
            for n in range(48)
        }
    )
    generation_tags_add(
        tags={f"tagged-{n}": {"feature": FEATURES[n % 4 % (n % 3 + 1)], "user": f"user-{n % 5}"} for n in range(36)}
    )
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _page(browser, live_server, session, request, *, width: int, scheme: str = "light"):
    from tests.browser.conftest import open_page

    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page, problems = open_page(context, request)
    return context, page, problems


def test_the_cost_by_tag_chart_is_drawn_and_its_tag_name_picked_in_place(browser, live_server, tagged_session, request):
    context, page, problems = _page(browser, live_server, tagged_session, request, width=1440)
    page.goto(f"{live_server.url}/dashboard/")
    chart = page.locator("#chart-cost-by-tag")
    chart.scroll_into_view_if_needed()
    page.wait_for_function("() => Chart.getChart(document.querySelector('canvas[data-chart=chart-data-cost-by-tag]'))")
    assert "Cost by tag: feature" in chart.inner_text()
    snapshot(page, "tags-dashboard-1440-light")
    page.select_option("#chart-cost-by-tag select[name=tag_key]", "user")
    page.wait_for_url("**/dashboard/?*tag_key=user*")
    page.wait_for_function("() => document.querySelector('#title-cost-by-tag').textContent.includes('user')")
    page.locator("#chart-cost-by-tag").scroll_into_view_if_needed()
    snapshot(page, "tags-dashboard-by-user-1440-light")
    context.close()
    assert not problems, problems


def test_a_tag_typed_in_the_filters_narrows_the_dashboard(browser, live_server, tagged_session, request):
    context, page, problems = _page(browser, live_server, tagged_session, request, width=1440, scheme="dark")
    page.goto(f"{live_server.url}/dashboard/")
    page.fill("form.filters input[name=tag]", "feature:search")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/?*tag=feature*search*")
    page.wait_for_function("() => document.querySelectorAll('form.filters input[name=tag]').length === 2")
    assert page.locator("form.filters input[name=tag]").first.input_value() == "feature:search"
    snapshot(page, "tags-filtered-1440-dark")
    page.fill("form.filters input[name=tag] >> nth=1", "feature")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("text=has no value")
    snapshot(page, "tags-bad-filter-1440-dark")
    context.close()
    assert not problems, problems


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_tag_chart_and_filter_fit_a_phone(browser, live_server, tagged_session, request, scheme):
    context, page, problems = _page(browser, live_server, tagged_session, request, width=390, scheme=scheme)
    page.goto(f"{live_server.url}/dashboard/?tag=user:user-1")
    picker = page.locator("#chart-cost-by-tag .tag-key-picker")
    picker.scroll_into_view_if_needed()
    box, card = picker.bounding_box(), page.locator("#chart-cost-by-tag").bounding_box()
    assert box["x"] + box["width"] <= card["x"] + card["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    snapshot(page, f"tags-phone-390-{scheme}")
    context.close()
    assert not problems, problems
