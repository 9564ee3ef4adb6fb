"""The detail page's JSON bodies on a 390 px phone, measured: ordinary words stay whole (no
mid-word breaks), a 20,000-character unbroken string wraps inside its block without the CSS that
took Chromium ~10 s to paint it, and nothing scrolls the page sideways."""

import pytest
from django.urls import reverse

from generations.display import BODY_BREAK_EVERY
from generations.models import GenerationBody
from tests.browser.conftest import snapshot
from tests.browser.test_layout_browser import PHONE
from tests.factories import make_generation

pytestmark = pytest.mark.browser

SENTENCE = (
    "Please summarise the quarterly infrastructure report and highlight unexpected expenditure "
    "across departments, especially telecommunications and internationalisation."
)
LONG_RUN = "QUJD" * 5_000  # base64-like, no space anywhere

# Per run of non-space characters in a text node of the bodies: how many lines it is drawn on.
# A <wbr> splits a long run into text nodes of its own, so a run here is a word or a chunk.
RUN_LINES = """() => {
  const found = [];
  for (const pre of document.querySelectorAll('pre.json')) {
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set(Array.from(range.getClientRects()).map((rect) => Math.round(rect.top)));
        found.push({run: match[0], lines: tops.size});
      }
    }
  }
  return found;
}"""


def _generation_with_bodies():
    generation = make_generation("gen-bodies-phone", body=False)
    GenerationBody.objects.create(
        generation=generation,
        request={"model": generation.model, "messages": [{"role": "user", "content": SENTENCE}]},
        response={"choices": [{"message": {"role": "assistant", "content": SENTENCE}}], "data": LONG_RUN},
        raw_payload="{}",
    )
    return generation


def test_on_a_phone_body_words_stay_whole_and_a_long_string_wraps_inside_its_block(viewer_page, live_server):
    generation = _generation_with_bodies()
    page = viewer_page
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("generation-detail", args=[generation.generation_id]))
    for summary in page.locator("details.body-block > summary").all():
        summary.click()
    snapshot(page, "detail-bodies-phone")

    runs = page.evaluate(RUN_LINES)
    sentence_words = {word.strip(",.") for word in SENTENCE.split()}
    words = [run for run in runs if run["run"].strip('",.') in sentence_words]
    assert len(words) >= 2 * len(SENTENCE.split())  # the sentence is in both bodies
    # Each word on one line: the sentence wraps between words, never inside one.
    assert [run["run"] for run in runs if run["lines"] > 1] == []
    # It did wrap (a 390 px phone holds ~35 characters a line), and the long string did too.
    assert len({round(rect["top"]) for rect in page.evaluate(WORD_TOPS)}) > 3
    # The string's quotes, and a comma when another key follows it (PostgreSQL's jsonb orders keys
    # by length, so "data" comes first there), sit at the ends of its first and last chunks.
    chunks = [run for run in runs if set(run["run"]) <= set('QUJD",')]
    assert sum(len(run["run"].strip('",')) for run in chunks) == len(LONG_RUN)
    assert max(len(run["run"]) for run in chunks) <= BODY_BREAK_EVERY

    blocks = page.evaluate("""() => Array.from(document.querySelectorAll('pre.json')).map((pre) => {
      const style = getComputedStyle(pre);
      return {wordBreak: style.wordBreak, overflowWrap: style.overflowWrap, whiteSpace: style.whiteSpace,
              sideways: pre.scrollWidth - pre.clientWidth};
    })""")
    for block in blocks:
        # The paint protection: no emergency-break CSS (anywhere, break-word, break-all) for the
        # browser to search a long run with; the break points come from the page's <wbr>s.
        assert (block["wordBreak"], block["overflowWrap"], block["whiteSpace"]) == ("normal", "normal", "pre-wrap")
        assert block["sideways"] <= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


# The top of every line of the response body.
WORD_TOPS = """() => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelectorAll('pre.json')[1]);
  return Array.from(range.getClientRects()).map((rect) => ({top: rect.top}));
}"""
