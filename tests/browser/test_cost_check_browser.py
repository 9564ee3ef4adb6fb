"""The Cost check page in a real Chromium: the figures it shows are the selector's, the gaps table
lists its models, the drill-down link reaches the generations over the tolerance and their detail
pages, and it fits a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generations.analytics.filters import DashboardFilterForm
from generations.display import format_usd
from generations.fastrouter.catalogue import Catalogue
from pricing.selectors import cost_check
from pricing.services import pricing_record
from tests.browser.conftest import snapshot
from tests.browser.test_layout_browser import OVERFLOW, PHONE
from tests.factories import make_generation

pytestmark = pytest.mark.browser

LONG_MODEL = "meta-llama/llama-3.3-70b-instruct-turbo-with-a-long-name"


@pytest.fixture
def checked(db):
    """Two models, a price change four days ago, a few generations over the tolerance and a BYOK one."""
    now = timezone.now()
    first = [
        {"id": "openai/gpt-4o-mini", "pricing": {"prompt": "0.00000015", "completion": "0.0000006"}},
        {"id": LONG_MODEL, "pricing": {"prompt": "0.00000088", "completion": "0.00000088"}},
    ]
    pricing_record(catalogue=Catalogue.from_payload({"data": first}), seen_at=now - timedelta(days=30))
    changed = [{"id": "openai/gpt-4o-mini", "pricing": {"prompt": "0.00000012", "completion": "0.00000048"}}, first[1]]
    pricing_record(catalogue=Catalogue.from_payload({"data": changed}), seen_at=now - timedelta(days=4))
    for number in range(24):
        model = LONG_MODEL if number % 3 == 0 else "openai/gpt-4o-mini"
        at = now - timedelta(hours=6 * number + 1)
        prompt, completion = (880, 880) if model == LONG_MODEL else ((120, 480) if number < 16 else (150, 600))
        expected = 10_000 * prompt * 1000 + 2_000 * completion * 1000
        make_generation(
            f"chatcmpl-fr-cost-{number:04d}",
            body=False,
            model=model,
            input_tokens=10_000,
            output_tokens=2_000,
            # Every fifth charged 40 % more: over the tolerance.
            cost_pico=expected * 14 // 10 if number % 5 == 0 else expected,
            is_byok=number == 7,
            occurred_at=at,
        )


def selection():
    form = DashboardFilterForm({"range": "7d"}, default_zone="UTC")
    assert form.is_valid()
    return form.filters()


def test_the_page_shows_the_selectors_figures_and_its_gaps_table(viewer_page, live_server, checked):
    check = cost_check(selection())
    viewer_page.goto(f"{live_server.url}/cost-check/?range=7d&tz=UTC")
    stats = dict(
        zip(
            viewer_page.locator(".stat .label").all_inner_texts(),
            viewer_page.locator(".stat .value").all_inner_texts(),
            strict=True,
        )
    )
    assert stats["Charged"] == format_usd(check.platform.charged)
    assert stats["Expected"] == format_usd(check.platform.expected)
    assert stats["Difference"].startswith(format_usd(check.platform.difference))
    assert check.platform.charged != check.platform.expected
    gaps = viewer_page.locator("table").filter(has_text="Models, largest gap first")
    rows = gaps.locator("tbody tr")
    assert rows.locator("td[data-label=Model]").all_inner_texts() == [gap.label for gap in check.models]
    assert rows.locator("td[data-label=Charged]").all_inner_texts() == [format_usd(gap.charged) for gap in check.models]
    assert gaps.locator("tfoot td[data-label=Expected]").inner_text() == format_usd(check.platform.expected)
    flagged = viewer_page.locator("table").filter(has_text="Newest generations over the tolerance")
    assert flagged.locator("tbody td[data-label=Generation] a").all_inner_texts() == [
        row.generation_id for row in check.flagged.rows
    ]
    assert viewer_page.get_by_text("Price changes in this range").is_visible()


def test_the_drill_down_lists_a_models_generations_over_the_tolerance(viewer_page, live_server, checked):
    viewer_page.goto(f"{live_server.url}/cost-check/?range=7d&tz=UTC")
    gaps = viewer_page.locator("table").filter(has_text="Models, largest gap first")
    row = gaps.locator("tbody tr").filter(has_text="openai/gpt-4o-mini")
    row.get_by_role("link", name="List").click()
    viewer_page.wait_for_load_state()
    assert "/cost-check/over-tolerance/" in viewer_page.url and "model=openai" in viewer_page.url
    snapshot(viewer_page, "cost check over tolerance one model")
    listed = viewer_page.locator("tbody td[data-label=Model]").all_inner_texts()
    assert listed and set(listed) == {"openai/gpt-4o-mini"}
    first = viewer_page.locator("tbody td[data-label=Generation] a").first
    generation_id = first.inner_text()
    first.click()
    viewer_page.wait_for_load_state()
    assert viewer_page.url.endswith(f"/generations/{generation_id}/")
    assert generation_id in viewer_page.locator("main").inner_text()


@pytest.mark.parametrize("path", ["/cost-check/", "/cost-check/over-tolerance/"])
def test_the_pages_fit_a_phone(viewer_page, live_server, checked, path):
    viewer_page.set_viewport_size(PHONE)
    viewer_page.goto(f"{live_server.url}{path}?range=7d&tz=UTC")
    snapshot(viewer_page, f"phone {path}")
    overflow = viewer_page.evaluate(OVERFLOW)
    assert overflow["page"] <= overflow["window"], overflow
    assert not overflow["boxes"], overflow
