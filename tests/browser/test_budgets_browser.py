"""The Budgets page and a budget's own page in a real Chromium: the chart has pixels, the table
beside it holds the numbers drawn and the page's figures, anomalies are listed, and neither page
is wider than a 390 px phone (issue 12: a budget's table made its page 515 px wide). Measured
layout (issue 17): a card's heading sits at the card's padding, not under a blank strip, and a
budget's day-by-day table takes the chart's full width, not half of it under the chart."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from budgets.models import Budget
from budgets.selectors import budget_status, chart_rows
from budgets.templatetags.budgets import usd
from generations.models import KeyLabel
from generations.money import from_pico
from tests.browser.conftest import snapshot
from tests.factories import make_generation

pytestmark = pytest.mark.browser

USD = 10**12
MIN_PAINTED_PIXELS = 1500
MIN_COLOURED_PIXELS = 500
SPIKY_KEY = "sha256:5p1k3d0000000000000000"
WIDTHS = [("light", 1440), ("dark", 1440), ("light", 390), ("dark", 390)]

CHART_DRAWN = (
    "() => { const c = document.querySelector('canvas[data-budget-chart]'); return window.Chart && Chart.getChart(c); }"
)

# How many pixels of the budget's canvas are not transparent, how many of those are in colour (not
# black or grey: the theme's colours resolved), and what its datasets hold.
CANVAS = """() => {
  const c = document.querySelector('canvas[data-budget-chart]');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0, coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    painted++;
    if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured++;
  }
  const chart = Chart.getChart(c);
  return {painted: painted, coloured: coloured, area: c.width * c.height, labels: chart.data.labels,
          drawn: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data]))};
}"""

ROWS = """(selector) => Array.from(document.querySelectorAll(selector + ' tbody tr')).map(tr =>
  Array.from(tr.querySelectorAll('td')).map(td => td.textContent.trim().replace(/\\s+/g, ' ')))"""

OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"

# Each card's box, its padding and border, the box of its first heading and of its table.
CARDS = """() => Array.from(document.querySelectorAll('main section.card')).map(card => {
  const style = getComputedStyle(card);
  const box = element => { if (!element) return null; const r = element.getBoundingClientRect();
    return {top: r.top, left: r.left, width: r.width}; };
  const heading = card.querySelector('h1, h2');
  return {id: card.id || card.getAttribute('aria-labelledby') || (heading ? heading.textContent : ''),
          box: box(card), heading: box(heading), table: box(card.querySelector('table')),
          paddingTop: parseFloat(style.paddingTop), borderTop: parseFloat(style.borderTopWidth),
          inner: card.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)};
})"""


@pytest.fixture
def budget(db) -> Budget:
    """$2 a day for 15 days and $12 today (UTC) on a model and a labelled key: an anomaly on the
    Budgets page, and a month's budget of $40."""
    KeyLabel.objects.create(api_key_hash=SPIKY_KEY, name="Batch bot", team="research")
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for days_ago in range(1, 16):
        make_generation(
            f"gen-{days_ago}",
            body=False,
            model="acme/spiky",
            api_key_hash=SPIKY_KEY,
            cost_pico=2 * USD,
            credits_used_pico=2 * USD,
            occurred_at=today - timedelta(days=days_ago) + timedelta(hours=10),
        )
    make_generation(
        "gen-today",
        body=False,
        model="acme/spiky",
        api_key_hash=SPIKY_KEY,
        cost_pico=12 * USD,
        credits_used_pico=12 * USD,
        occurred_at=today,
    )
    return Budget.objects.create(name="All spend this month", amount_pico=40 * USD, period="month", zone="UTC")


def _open(page, url: str, scheme: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    page.goto(url)


def _assert_fits(page, width: int, name: str) -> None:
    """No sideways scroll: the document is no wider than the viewport. And a screenshot to look at."""
    assert page.evaluate(OVERFLOW) <= 0, f"the page is wider than {width} px"
    snapshot(page, name)


def _cards(page) -> dict[str, dict]:
    return {card["id"]: card for card in page.evaluate(CARDS)}


def _assert_headings_open_their_cards(cards: dict[str, dict]) -> None:
    """Each card's heading starts where its padding ends: no blank strip above it."""
    for name, card in cards.items():
        assert card["heading"], f"the card {name!r} has no heading"
        gap = card["heading"]["top"] - card["box"]["top"] - card["borderTop"] - card["paddingTop"]
        assert abs(gap) <= 1, f"{name}: {gap:.0f} px between the card's padding and its heading"


def _within_rounding(drawn: float | None, shown: str) -> bool:
    """Whether a number drawn is the amount a cell shows, to the cell's last digit."""
    if drawn is None or shown == "—":
        return drawn is None and shown == "—"
    number = shown.replace("$", "").replace(",", "")
    half_unit = Decimal(1).scaleb(-len(number.partition(".")[2])) / 2
    return abs(Decimal(str(drawn)) - Decimal(number)) <= half_unit


@pytest.mark.parametrize(("scheme", "width"), WIDTHS)
def test_a_budgets_chart_is_painted_its_table_holds_the_figures_and_the_page_fits(
    viewer_page, live_server, budget, scheme, width
):
    _open(viewer_page, f"{live_server.url}/budgets/{budget.pk}/", scheme, width)
    viewer_page.wait_for_function(CHART_DRAWN)
    canvas = viewer_page.evaluate(CANVAS)
    assert canvas["painted"] >= max(MIN_PAINTED_PIXELS, canvas["area"] // 100), canvas["painted"]
    assert canvas["coloured"] >= MIN_COLOURED_PIXELS, "the lines are drawn without the theme's colours"

    # The table holds the page's figures (spend, day by day: the forecast moves with the clock)
    # and the numbers drawn, to the last digit it shows.
    rows = chart_rows(budget_status(budget, now=timezone.now()))
    table = viewer_page.evaluate(ROWS, "#budget-table")
    assert len(table) == len(rows) == len(canvas["labels"])
    for (day, spent, cumulative, forecast, band), row in zip(table, rows, strict=True):
        assert (spent, cumulative) == (usd(row.spent), usd(row.actual)), day
        assert (forecast == "—") == (row.forecast is None) and (band == "—") == (row.low is None), day
    columns = {"Spent (cumulative)": 2, "Forecast": 3}
    for name, column in columns.items():
        mismatched = [
            (cells[0], drawn, cells[column])
            for drawn, cells in zip(canvas["drawn"][name], table, strict=True)
            if not _within_rounding(drawn, cells[column])
        ]
        assert not mismatched, (name, mismatched)
    for low, high, cells in zip(canvas["drawn"]["Forecast low"], canvas["drawn"]["Forecast band"], table, strict=True):
        shown = cells[4].split(" – ") if cells[4] != "—" else ["—", "—"]
        assert _within_rounding(low, shown[0]) and _within_rounding(high, shown[1]), cells
    assert set(canvas["drawn"]["Budget"]) == {40}
    spent_figure = viewer_page.locator(".figures .stat", has_text="Spent").locator(".value").inner_text()
    assert spent_figure == usd(max(row.actual for row in rows if row.actual is not None))

    cards = _cards(viewer_page)
    _assert_headings_open_their_cards(cards)
    chart_card, table_card = cards["budget-chart-title"], cards["budget-table-title"]
    assert table_card["box"]["top"] > chart_card["box"]["top"], "the table is not under the chart"
    assert abs(table_card["box"]["width"] - chart_card["box"]["width"]) <= 1, (
        "the table's card is not as wide as the chart's"
    )
    assert abs(table_card["table"]["width"] - table_card["inner"]) <= 1, "the table does not fill its card"
    _assert_fits(viewer_page, width, f"budget-detail-{scheme}-{width}")


@pytest.mark.parametrize(("scheme", "width"), WIDTHS)
def test_the_budgets_page_shows_each_budgets_figures_and_anomalies_and_fits(
    viewer_page, live_server, budget, scheme, width
):
    _open(viewer_page, f"{live_server.url}/budgets/", scheme, width)
    status = budget_status(budget, now=timezone.now())
    outlook = status.forecast
    [cells] = viewer_page.evaluate(ROWS, "table.budgets")
    assert cells[0] == "All spend this month"
    assert cells[3:5] == [usd(outlook.spent_pico), f"{outlook.percent} % of $40.00"]
    # The forecast moves with the clock between the page and this check: the same to a cent.
    assert abs(Decimal(cells[5].strip("$").replace(",", "")) - from_pico(outlook.forecast_pico)) < Decimal("0.01")
    assert cells[7] == outlook.status

    anomalies = viewer_page.evaluate(ROWS, "#anomaly-table")
    today = datetime.now(UTC).strftime("%a %-d %b %Y")
    assert [row[:5] for row in anomalies] == [
        [today, "key Batch bot", "$12.00", "$2.00", "6.0×"],
        [today, "model acme/spiky", "$12.00", "$2.00", "6.0×"],
    ]
    _assert_headings_open_their_cards(_cards(viewer_page))
    link = viewer_page.locator("#anomaly-table a", has_text="Its generations").last
    expect(link).to_be_visible()
    _assert_fits(viewer_page, width, f"budget-list-{scheme}-{width}")
    link.click()
    viewer_page.wait_for_load_state()
    assert "model=acme%2Fspiky" in viewer_page.url
    expect(viewer_page.locator("table.generations tbody tr")).to_have_count(1)
