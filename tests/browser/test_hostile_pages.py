"""Hostile generations in a real browser: nothing executes (a dialog fails the test), nothing overflows."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import snapshot
from tests.hostile import FIVE_MB, HOSTILE_IDS, store_hostile

pytestmark = pytest.mark.browser

# A pixel or two of rounding; a real overflow is hundreds of pixels.
OVERFLOW_SLACK = 2


def _horizontal_overflow(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def _open_every_body(page) -> None:
    for summary in page.locator("details.body-block > summary").all():
        summary.click()


@pytest.mark.parametrize("key", HOSTILE_IDS.keys())
def test_hostile_detail_page_runs_nothing_and_fits_the_window(staff_page, live_server, key):
    generation = store_hostile(HOSTILE_IDS[key])
    staff_page.goto(live_server.url + reverse("generation-detail", args=[generation.generation_id]))
    expect(staff_page.locator("#generation-detail h1")).to_have_text(generation.generation_id)
    _open_every_body(staff_page)
    snapshot(staff_page, f"hostile-detail-{key}-bodies-open")
    assert _horizontal_overflow(staff_page) <= OVERFLOW_SLACK


@pytest.mark.parametrize("key", HOSTILE_IDS.keys())
def test_hostile_admin_pages_run_nothing(staff_page, live_server, key):
    generation = store_hostile(HOSTILE_IDS[key])
    staff_page.goto(f"{live_server.url}/admin/generations/generation/{generation.pk}/change/")
    expect(staff_page.locator("#content h2").first).to_be_visible()
    staff_page.goto(f"{live_server.url}/admin/generations/generation/?q=%3Cscript")
    expect(staff_page.locator("#result_list")).to_be_visible()


def test_hostile_htmx_lookup_result_runs_nothing_and_fits(staff_page, live_server):
    generation = store_hostile(HOSTILE_IDS["textarea"])
    staff_page.fill("#id_generation_id", generation.generation_id)
    staff_page.click("form.lookup button[type=submit]")
    expect(staff_page.locator("#generation-detail h1")).to_have_text(generation.generation_id)
    _open_every_body(staff_page)
    snapshot(staff_page, "hostile-htmx-lookup-result")
    assert _horizontal_overflow(staff_page) <= OVERFLOW_SLACK


def test_five_megabyte_body_page_opens_and_fits(staff_page, live_server):
    store_hostile("gen-huge-browser", body_size=FIVE_MB)
    staff_page.goto(f"{live_server.url}/generations/gen-huge-browser/")
    _open_every_body(staff_page)
    expect(staff_page.locator(".body-block .notice").first).to_contain_text("Download the whole JSON")
    assert _horizontal_overflow(staff_page) <= OVERFLOW_SLACK
    staff_page.goto(f"{live_server.url}/admin/generations/generation/")
    expect(staff_page.locator("#result_list")).to_be_visible()
