"""How the dashboard reads at a glance, measured in a real Chromium: colours told apart and kept
by name across charts, in both themes; changes coloured by what they mean; thin figures greyed."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generations.services import generation_tags_add
from tests.browser.test_dashboard_flows import DRAWN, stored_generations  # noqa: F401
from tests.factories import make_generation

pytestmark = pytest.mark.browser

# Per bar of a one-dataset chart: its label and the colour of the pixel at the bar's middle.
BAR_PIXELS = """(slug) => {
  const canvas = document.querySelector(`canvas[data-chart=chart-data-${slug}]`);
  const chart = Chart.getChart(canvas);
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const context = canvas.getContext('2d');
  return chart.getDatasetMeta(0).data.map((bar, index) => {
    const x = Math.round(((bar.x + bar.base) / 2) * scale), y = Math.round(bar.y * scale);
    const [r, g, b] = context.getImageData(x, y, 1, 1).data;
    return [chart.data.labels[index], `rgb(${r}, ${g}, ${b})`];
  });
}"""

# Per dataset of a chart: its label and the colour Chart.js drew it with (the first bucket's: the
# running one is see-through).
DATASET_COLOURS = """(slug) => Object.fromEntries(
  Chart.getChart(document.querySelector(`canvas[data-chart=chart-data-${slug}]`))
    .data.datasets.map((dataset) => [dataset.label, [].concat(dataset.backgroundColor)[0]]))"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_each_model_has_its_own_colour_and_keeps_it_from_chart_to_chart(
    viewer_page,
    live_server,
    stored_generations,  # noqa: F811
    theme,
):
    page = viewer_page
    page.context.add_cookies([{"name": "theme", "value": theme, "url": live_server.url}])
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    page.wait_for_function(DRAWN)
    bars = page.evaluate(BAR_PIXELS, "cost-by-model")
    pixels = [pixel for _, pixel in bars]
    assert len(bars) >= 5
    # Drawn in colours, not the grey of "the rest", and never twice the same (the palette has 18).
    assert len(set(pixels)) == len(pixels), bars
    stacked = page.evaluate(DATASET_COLOURS, "cost-over-time")
    painted = dict(bars)
    shared = [name for name in stacked if name in painted]
    assert len(shared) >= 5
    assert all(stacked[name] == painted[name] for name in shared), (stacked, painted)


def test_the_dark_theme_lifts_the_palette_off_its_dark_surface(
    viewer_page,
    live_server,
    stored_generations,  # noqa: F811
):
    page = viewer_page
    seen = {}
    for theme in ("light", "dark"):
        page.context.add_cookies([{"name": "theme", "value": theme, "url": live_server.url}])
        page.goto(f"{live_server.url}/dashboard/?range=7d")
        page.wait_for_function(DRAWN)
        seen[theme] = [pixel for _, pixel in page.evaluate(BAR_PIXELS, "cost-by-model")]

    def luminance(rgb: str) -> float:
        red, green, blue = (int(part) for part in rgb[4:-1].split(","))
        return 0.2126 * red + 0.7152 * green + 0.0722 * blue

    assert seen["light"] != seen["dark"]
    # The first five colours are each lighter on the dark surface than on the light one.
    assert all(
        luminance(dark) > luminance(light) for light, dark in zip(seen["light"][:5], seen["dark"][:5], strict=True)
    )


@pytest.fixture
def cheaper_and_fewer(db):
    """Today: 2 requests, cheaper and quicker; yesterday: 4."""
    now = timezone.now()
    for number, (hours_ago, cost_pico, latency_ms) in enumerate([(2, 10**9, 500.0)] * 2 + [(26, 10**9, 1000.0)] * 4):
        make_generation(
            f"look-{number}",
            body=False,
            cost_pico=cost_pico,
            latency_ms=latency_ms,
            occurred_at=now - timedelta(hours=hours_ago),
        )


# Per headline figure: the colour of its change and of its value, as painted.
FIGURE_COLOURS = """() => Object.fromEntries(Array.from(document.querySelectorAll('.figures .stat')).map((stat) => {
  const delta = stat.querySelector('.delta');
  const value = stat.querySelector('.value');
  return [stat.querySelector('.label').textContent.trim(), {
    delta: delta && getComputedStyle(delta).color,
    value: getComputedStyle(value).color,
    opacity: getComputedStyle(value).opacity,
  }];
}))"""


def test_change_arrows_are_green_for_good_news_grey_for_volume_and_thin_figures_greyed(
    viewer_page, live_server, cheaper_and_fewer
):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=24h")
    colours = page.evaluate(FIGURE_COLOURS)
    good = page.evaluate(
        "() => { const s = document.createElement('span'); s.style.color = 'var(--down)';"
        " document.body.append(s); const c = getComputedStyle(s).color; s.remove(); return c; }"
    )
    muted = page.evaluate("() => getComputedStyle(document.querySelector('.stat .label')).color")
    assert colours["Total cost"]["delta"] == good  # half the cost: good news
    assert colours["p50 latency"]["delta"] == good  # quicker
    assert colours["Requests"]["delta"] == muted  # fewer requests: neither
    assert good != muted
    # Two requests make no p95: its value is greyed, the p50's is not.
    assert colours["p95 latency"]["value"] == muted and float(colours["p95 latency"]["opacity"]) < 1
    assert colours["p50 latency"]["value"] != muted
    assert "too few for a p95" in page.locator(".figures .stat", has_text="p95 latency").inner_text()


def test_with_no_team_anywhere_the_team_card_says_how_to_label_keys_not_one_giant_bar(
    viewer_page,
    live_server,
    stored_generations,  # noqa: F811
):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    card = page.locator("#chart-cost-by-team")
    notice = card.locator(".chart-notice")
    assert notice.is_visible() and "label" in notice.inner_text()
    assert card.locator("canvas").count() == 0
    # A few lines of words where a 280 px plot would be.
    assert 20 < notice.bounding_box()["height"] < 150


def test_with_a_team_tag_but_no_team_label_the_team_card_links_to_cost_by_team_tag(
    viewer_page,
    live_server,
    stored_generations,  # noqa: F811
):
    # "feature" is on more calls, so the cost-by-tag chart would not show "team" by itself.
    generation_tags_add(
        tags={
            generation_id: {"feature": "chat", **({"team": ("search", "support")[n % 2]} if n % 3 == 0 else {})}
            for n, generation_id in enumerate(stored_generations)
        }
    )
    page = viewer_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    notice = page.locator("#chart-cost-by-team .chart-notice")
    assert "“team” tag" in notice.inner_text()
    notice.get_by_role("link", name="Cost by “team” tag").click()
    page.wait_for_url("**tag_key=team*")
    tag_card = page.locator("#chart-cost-by-tag")
    expect(tag_card.locator("select[name=tag_key]")).to_have_value("team")
    rows = tag_card.locator("table.data tbody tr th").all_text_contents()  # the table is folded
    assert {"search", "support"} <= {row.strip() for row in rows}
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_from_and_to_show_only_for_custom_dates_and_model_names_get_room(
    viewer_page,
    live_server,
    stored_generations,  # noqa: F811
):
    page = viewer_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    expect(page.locator("input[name=start]")).to_be_hidden()
    expect(page.locator("input[name=end]")).to_be_hidden()
    page.select_option("select[name=range]", "custom")
    expect(page.locator("input[name=start]")).to_be_visible()
    expect(page.locator("input[name=end]")).to_be_visible()
    # The model list is two columns wide: a long name ("anthropic/claude-3-7-sonnet-20250219") fits.
    assert page.locator("select[name=model]").bounding_box()["width"] >= 300
    assert page.locator("link[rel=icon]").count() == 1
