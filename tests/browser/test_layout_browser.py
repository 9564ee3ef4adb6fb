"""Layout measured in a real Chromium: the batches page fits a phone, and the generation list shows
every column on a wide screen, lets the page (not a box) scroll under a sticky header, and fits a
phone as one card per generation."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.models import KeyLabel
from tests.browser.conftest import snapshot
from tests.factories import make_generation

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}
MODELS = [
    "anthropic/claude-3-7-sonnet-20250219",
    "meta-llama/llama-3.3-70b-instruct",
    "openai/text-embedding-3-small",
    "google/gemini-2.5-flash",
]
PROVIDERS = ["anthropic", "together", "openai", "google"]

# What spills out sideways: the page's width past the window, and any element of the main part
# that scrolls sideways inside itself.
OVERFLOW = """() => ({
  page: document.documentElement.scrollWidth,
  window: window.innerWidth,
  boxes: Array.from(document.querySelectorAll('main *')).filter(e => {
    const style = getComputedStyle(e);
    return ['auto', 'scroll'].includes(style.overflowX) && e.scrollWidth > e.clientWidth + 1;
  }).map(e => e.tagName + '.' + e.className),
})"""


@pytest.fixture
def listed(db):
    """60 generations with real-looking ids (28 and 36 characters), long model names and keys."""
    now = timezone.now()
    keys = [f"sha256:{number:x}{'5f42b00d' * 8}"[:71] for number in range(4)]
    KeyLabel.objects.create(api_key_hash=keys[0], name="Support bot (production)", team="Support")
    for number in range(60):
        generation_id = (
            f"gen-1764523456-AbCdEfGhIjKlMnOpQr{number:02d}" if number % 7 == 0 else f"chatcmpl-fr-{number:016x}"
        )
        make_generation(
            generation_id,
            body=False,
            model=MODELS[number % 4],
            provider=PROVIDERS[number % 4],
            api_key_hash=keys[number % 4],
            is_byok=number % 5 == 0,
            cost_pico=123_456_789 * (number + 1),
            input_tokens=1_000 * number,
            output_tokens=37 * number,
            latency_ms=850.0 + 97 * number,
            occurred_at=now - timedelta(minutes=11 * number + 1),
        )


ROW = "document.querySelectorAll('table.generations tbody tr')[index]"
SCROLL_TO_ROW = f"index => window.scrollTo(0, {ROW}.getBoundingClientRect().top + window.scrollY - 400)"
# Whether the row's last cell is what the window shows at that cell's place (not clipped by a box).
KEY_SHOWN = f"""index => {{
  const cell = {ROW}.lastElementChild;
  const box = cell.getBoundingClientRect();
  return cell.contains(document.elementFromPoint(box.left + 4, box.top + box.height / 2));
}}"""


def _assert_fits(page) -> None:
    overflow = page.evaluate(OVERFLOW)
    assert overflow["page"] <= overflow["window"], overflow
    assert not overflow["boxes"], overflow


def test_batches_fit_a_phone_without_sideways_scrolling(viewer_page, live_server):
    queue.generation_enqueue(
        ids=[f"chatcmpl-fr-{n:016x}" for n in range(1200)],
        source=LookupBatch.Source.UPLOAD,
        label="invoices-november-2025-export-from-the-billing-team.csv",
    )
    queue.generation_enqueue(ids=["gen-a", "gen-b"], source=LookupBatch.Source.PASTE, label="Pasted from ticket #48213")
    queue.generation_enqueue(ids=["gen-c"], source=LookupBatch.Source.API)
    page = viewer_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/batches/")
    expect(page.locator("table.data tbody tr")).to_have_count(3)
    _assert_fits(page)
    # Every figure, label and progress bar is inside the window.
    rights = page.evaluate(
        "() => Array.from(document.querySelectorAll('tbody td')).map(td => td.getBoundingClientRect().right)"
    )
    assert max(rights) <= PHONE["width"]
    expect(page.locator("td[data-label=Label]").first).to_be_visible()
    snapshot(page, "batches-phone")


def test_generation_list_shows_every_column_and_scrolls_the_page_under_a_sticky_header(
    viewer_page, live_server, listed
):
    page = viewer_page
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/generations/")
    rows = page.locator("table.generations tbody tr")
    expect(rows).to_have_count(50)
    _assert_fits(page)
    last_header = page.locator("table.generations thead th").last
    expect(last_header).to_have_text("Key")
    box = last_header.bounding_box()
    assert box["x"] + box["width"] <= WIDE["width"]

    # Every row is reached by scrolling the page, with its last column really shown there.
    for index in (0, 10, 25, 49):
        page.evaluate(SCROLL_TO_ROW, index)
        assert page.evaluate(KEY_SHOWN, index), f"row {index}'s key is hidden"
    # The header stays at the top of the window, above the rows scrolled under it.
    header = page.locator("table.generations thead th").first.bounding_box()
    assert 0 <= header["y"] <= 1
    assert page.evaluate("() => !!document.elementFromPoint(60, 10).closest('table.generations thead')")
    snapshot(page, "generation-list-wide-scrolled")


def test_generation_list_on_a_phone_is_one_card_per_row_and_still_sorts(viewer_page, live_server, listed):
    page = viewer_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/generations/")
    expect(page.locator("table.generations tbody tr")).to_have_count(50)
    _assert_fits(page)
    cost = page.locator("table.generations tbody tr").first.locator("td[data-label=Cost]")
    expect(cost).to_be_visible()
    snapshot(page, "generation-list-phone")
    page.locator("table.generations thead a", has_text="Cost").click()
    page.wait_for_url(re.compile(r"sort=-cost(&|$)"))
    expect(page.locator("table.generations thead th[aria-sort=descending]")).to_contain_text("Cost")
    _assert_fits(page)


def test_rows_per_page_choice_is_kept_by_sorting_and_paging(viewer_page, live_server, listed):
    page = viewer_page
    page.set_viewport_size(WIDE)
    page.goto(f"{live_server.url}/generations/")
    page.select_option("select[name=per_page]", "25")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"per_page=25"))
    expect(page.locator("table.generations tbody tr")).to_have_count(25)
    page.click("table.generations thead a:has-text('Latency')")
    page.wait_for_url(re.compile(r"sort=-latency"))
    assert "per_page=25" in page.url
    expect(page.locator("table.generations tbody tr")).to_have_count(25)
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"after="))
    assert "per_page=25" in page.url
    expect(page.locator("table.generations tbody tr")).to_have_count(25)
    expect(page.locator("select[name=per_page]")).to_have_value("25")


def test_a_batch_bar_is_coloured_by_outcome_and_waiting_ids_say_until_when(viewer_page, live_server):
    batch = queue.generation_enqueue(ids=["gen-a", "gen-b", "gen-c", "gen-d"], source=LookupBatch.Source.PASTE)
    LookupRequest.objects.filter(generation_id="gen-a").update(state=LookupRequest.State.STORED)
    LookupRequest.objects.filter(generation_id="gen-b").update(state=LookupRequest.State.NOT_FOUND)
    LookupRequest.objects.filter(generation_id="gen-c").update(last_error=LookupRequest.NOT_VISIBLE_YET, attempts=1)
    page = viewer_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/batches/{batch.pk}/")
    # Measured: a quarter of the bar green, a quarter amber, half left neutral (waiting).
    parts = page.evaluate(
        """() => { const bar = document.querySelector('svg.batch-bar').getBoundingClientRect();
        return Array.from(document.querySelectorAll('svg.batch-bar rect')).map(r => ({
          outcome: r.getAttribute('class'), share: r.getBoundingClientRect().width / bar.width,
          fill: getComputedStyle(r).fill})); }"""
    )
    assert [(p["outcome"], round(p["share"], 2)) for p in parts] == [("stored", 0.25), ("not-found", 0.25)]
    assert parts[0]["fill"] == "rgb(47, 158, 68)" and parts[1]["fill"] == "rgb(230, 119, 0)"
    expect(
        page.locator("td[data-label=State]", has_text="not visible at FastRouter yet; retrying until")
    ).to_be_visible()
    _assert_fits(page)
    snapshot(page, "batch-phone")
