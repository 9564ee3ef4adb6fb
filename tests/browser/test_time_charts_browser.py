"""The time charts in a real Chromium, measured in pixels: the running (partial) bucket is drawn
dashed or see-through, the line is straight, and a count axis has whole-number ticks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import snapshot
from tests.factories import make_generation

pytestmark = pytest.mark.browser

REQUESTS = "document.querySelector('canvas[data-chart=chart-data-requests-over-time]')"
COST = "document.querySelector('canvas[data-chart=chart-data-cost-over-time]')"

# The share of points along the straight chord between two data points of the line whose pixel
# is the line's (blue) paint; t runs over the segment's middle, clear of the point markers.
ON_CHORD = f"""index => {{
  const canvas = {REQUESTS};
  const points = Chart.getChart(canvas).getDatasetMeta(0).data;
  const [from, to] = [points[index], points[index + 1]];
  const context = canvas.getContext('2d');
  const ratio = canvas.width / canvas.clientWidth;
  let blue = 0, samples = 0;
  for (let t = 0.15; t <= 0.85; t += 0.01) {{
    const [r, g, b, a] = context.getImageData(
      Math.round((from.x + (to.x - from.x) * t) * ratio), Math.round((from.y + (to.y - from.y) * t) * ratio), 1, 1).data;
    samples++;
    if (a > 150 && b - r > 80) blue++;
  }}
  return blue / samples;
}}"""

# The least alpha of the cost chart's canvas down the middle of a bucket's bar (a grid line
# drawn across a see-through bar is opaque where it crosses).
BAR_ALPHA = f"""index => {{
  const canvas = {COST};
  const bar = Chart.getChart(canvas).getDatasetMeta(0).data[index];
  const ratio = canvas.width / canvas.clientWidth;
  const column = canvas.getContext('2d').getImageData(
    Math.round(bar.x * ratio), Math.round((bar.y + 2) * ratio), 1, Math.round((bar.base - bar.y - 4) * ratio)).data;
  return Math.min(...column.filter((value, index) => index % 4 === 3));
}}"""


@pytest.fixture
def hourly(db):
    """Four, then one request an hour, back and forth over the last day; one in the running hour."""
    now = timezone.now()
    for hours_back in range(24):
        for number in range(4 if hours_back % 2 else 1):
            make_generation(
                f"hour-{hours_back}-{number}",
                body=False,
                cost_pico=10**10,
                occurred_at=now - timedelta(hours=hours_back, seconds=number),
            )


def test_the_running_hour_is_marked_partial_on_straight_lines_over_whole_number_ticks(viewer_page, live_server, hourly):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=24h")
    page.wait_for_function(f"() => window.Chart && Chart.getChart({REQUESTS}) && Chart.getChart({COST})")
    last = page.evaluate(f"() => Chart.getChart({REQUESTS}).data.labels.length - 1")
    assert page.locator("#chart-requests-over-time tbody tr").last.locator("th").text_content().endswith("(partial)")
    assert page.locator("#chart-requests-over-time tbody tr th", has_text="(partial)").count() == 1

    # The segment into the running hour is dashed (gaps along it), the one before is solid and
    # straight (a smoothed curve leaves the chord between a low and a high point).
    assert page.evaluate(ON_CHORD, last - 2) > 0.95
    assert 0.2 < page.evaluate(ON_CHORD, last - 1) < 0.8

    # The running hour's bar is see-through, the finished ones are solid.
    assert page.evaluate(BAR_ALPHA, last - 1) == 255
    assert page.evaluate(BAR_ALPHA, last) < 128

    # Requests (1 to 4) on whole-number ticks only.
    ticks = page.evaluate(f"() => Chart.getChart({REQUESTS}).scales.y.ticks.map(t => t.value)")
    assert len(ticks) >= 3 and all(float(value).is_integer() for value in ticks), ticks
    page.locator("#chart-requests-over-time").scroll_into_view_if_needed()
    snapshot(page, "dashboard-partial-hour")
