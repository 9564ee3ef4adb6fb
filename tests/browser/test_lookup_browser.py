"""The lookup home's recent lists in a real Chromium: real links that open the generation, side by
side on a wide screen, one above the other on a 390 px phone, nothing scrolling the page sideways."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import snapshot
from tests.browser.test_layout_browser import PHONE
from tests.factories import make_generation

pytestmark = pytest.mark.browser

LONG_ID = "chatcmpl-fr-" + "7d41c0a2e9b84f61" * 4  # longer than a phone line
LONG_MODEL = "anthropic/claude-3-7-sonnet-20250219-extended-thinking-preview"


@pytest.mark.parametrize("width", [1440, PHONE["width"]])
def test_lookup_home_lists_recent_ids_as_links_and_fits_the_screen(viewer_page, live_server, width):
    for n in range(12):
        make_generation(f"gen-{n}", model=LONG_MODEL if n % 2 else "openai/gpt-4o-mini", cost_pico=n * 10**10)
    make_generation(LONG_ID, model=LONG_MODEL, cost_pico=None)
    page = viewer_page
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + reverse("generation-detail", args=["gen-4"]))
    page.goto(live_server.url + reverse("lookup"))

    stored = page.locator("section[aria-labelledby=recently-stored] .recent-list li")
    expect(stored).to_have_count(10)
    expect(stored.first).to_contain_text(LONG_ID)
    expect(stored.first).to_contain_text("unknown")  # its cost
    # Open the long id from the stored list, back home: it now heads the viewed list.
    stored.first.get_by_role("link").click()
    expect(page.locator("#generation-detail h1")).to_have_text(LONG_ID)
    page.goto(live_server.url + reverse("lookup"))
    viewed = page.locator("section[aria-labelledby=recently-viewed] .recent-list li")
    expect(viewed).to_have_count(2)
    expect(viewed.first.get_by_role("link")).to_have_text(LONG_ID)
    expect(viewed.nth(1)).to_contain_text("gen-4")
    snapshot(page, f"lookup-home-{width}")

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Every line stays inside its card.
    assert page.evaluate("""() => Array.from(document.querySelectorAll('.recent-list li')).every((li) => {
      const card = li.closest('.card').getBoundingClientRect(), box = li.getBoundingClientRect();
      return box.left >= card.left && box.right <= card.right + 1;
    })""")
    boxes = [
        page.locator(f"section[aria-labelledby={name}]").bounding_box()
        for name in ("recently-viewed", "recently-stored")
    ]
    if width == PHONE["width"]:
        assert boxes[1]["y"] >= boxes[0]["y"] + boxes[0]["height"]  # one above the other
    else:
        assert boxes[1]["y"] == boxes[0]["y"] and boxes[1]["x"] > boxes[0]["x"]  # side by side
