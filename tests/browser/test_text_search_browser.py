"""The list's text search in a real browser: hostile bodies run nothing, the highlight shows in
both themes, and a snippet never widens the page."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import snapshot
from tests.hostile import store_hostile

pytestmark = pytest.mark.browser

OVERFLOW_SLACK = 2


def _mark_colours(page) -> dict:
    return page.evaluate(
        """() => {
            const mark = document.querySelector('.snippet mark');
            const style = getComputedStyle(mark);
            const box = mark.getBoundingClientRect();
            return {background: style.backgroundColor, colour: style.color, width: box.width, height: box.height};
        }"""
    )


@pytest.mark.parametrize(("scheme", "width"), [("light", 1440), ("dark", 1440), ("light", 390), ("dark", 390)])
def test_a_text_search_highlights_its_matches_and_fits(viewer_page, live_server, scheme, width):
    generation = store_hostile("gen-hostile-search")
    day = generation.occurred_at.date().isoformat()
    viewer_page.set_viewport_size({"width": width, "height": 900})
    viewer_page.emulate_media(color_scheme=scheme)
    viewer_page.goto(f"{live_server.url}/generations/?text=alert&range=custom&start={day}&end={day}&tz=UTC")
    snippet = viewer_page.locator(".snippet").first
    expect(snippet).to_be_visible()
    expect(snippet.locator("mark").first).to_have_text("alert")
    colours = _mark_colours(viewer_page)
    assert colours["background"] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert colours["background"] != colours["colour"]
    assert colours["width"] > 0 and colours["height"] > 0
    assert viewer_page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= OVERFLOW_SLACK
    snapshot(viewer_page, f"text-search-{scheme}-{width}")
