"""The dashboard and the list on a 390 × 844 phone, measured: a compact nav, the filters folded
behind a summary (a <details>: no JS needed), the first figure on the first screen, plots tall
enough to read with every legend entry shown, names along an axis not clipped, nothing sideways."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import snapshot
from tests.browser.test_dashboard_flows import DRAWN, stored_generations  # noqa: F401
from tests.browser.test_layout_browser import PHONE, _assert_fits, listed  # noqa: F401

pytestmark = pytest.mark.browser

# Per drawn chart: its box, its plot area, the legend entries drawn against the datasets, and
# whether the widest name along its category axis fits the room the axis has.
CHART_LAYOUT = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((canvas) => {
  const chart = Chart.getChart(canvas);
  const names = chart.options.indexAxis === 'y' ? chart.scales.y : chart.scales.x;
  const legend = chart.legend;
  const entries = legend.options.display ? legend.legendItems.length : 0;
  return {
    chart: canvas.dataset.chart,
    box: canvas.parentElement.getBoundingClientRect().height,
    plot: chart.chartArea.bottom - chart.chartArea.top,
    entries: entries,
    drawn: legend.options.display ? legend.legendHitBoxes.filter((box) => box.top + box.height <= legend.bottom + 1).length : 0,
    horizontal: chart.options.indexAxis === 'y',
    widest: names && names._labelSizes ? names._labelSizes.widest.width : 0,
    room: names ? names.width : 0,
    left: names ? names.left : 0,
  };
})"""


def _assert_no_sideways_page(page) -> None:
    # A chart's wide table may scroll inside its own box; the page itself never does.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.fixture
def phone_page(viewer_page):
    viewer_page.set_viewport_size(PHONE)
    return viewer_page


def test_on_a_phone_the_first_figure_is_on_the_first_screen_and_the_filters_fold(
    phone_page,
    live_server,
    stored_generations,  # noqa: F811
):
    page = phone_page
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    nav = page.locator("header.topbar").bounding_box()
    assert nav["height"] <= 110, nav  # not a quarter of the screen (211 px)
    summary = page.locator("details.filter-details > summary")
    expect(summary).to_be_visible()
    assert summary.inner_text().startswith("Last 7 days · all models ·")
    assert "Edit" in summary.inner_text()
    expect(page.locator("select[name=range]")).to_be_hidden()
    first_figure = page.locator(".figures .stat").first.bounding_box()
    assert first_figure["y"] + first_figure["height"] < PHONE["height"], first_figure
    _assert_no_sideways_page(page)
    snapshot(page, "dashboard-phone-first-screen")
    # Tapping the summary opens the form, without any script of ours.
    summary.click()
    expect(page.locator("select[name=range]")).to_be_visible()
    page.select_option("select[name=range]", "30d")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/dashboard/?range=30d*")
    expect(page.locator("details.filter-details > summary")).to_contain_text("Last 30 days")


def test_on_a_phone_plots_keep_their_height_legends_and_whole_names(
    phone_page,
    live_server,
    stored_generations,  # noqa: F811
):
    page = phone_page
    page.goto(f"{live_server.url}/dashboard/?range=7d")
    page.wait_for_function(DRAWN)
    charts = page.evaluate(CHART_LAYOUT)
    assert len(charts) >= 10
    for chart in charts:
        assert chart["box"] >= 260, chart
        assert chart["plot"] >= 150, chart
        # Every series in the legend, none pushed out of it.
        assert chart["drawn"] == chart["entries"], chart
        assert chart["left"] >= 0 and chart["widest"] <= chart["room"] + 1, chart
    stacked = next(chart for chart in charts if chart["chart"] == "chart-data-cost-over-time")
    assert stacked["plot"] >= 200 and stacked["entries"] >= 5, stacked
    assert any(chart["horizontal"] for chart in charts)
    _assert_no_sideways_page(page)
    page.locator("#chart-cost-by-model").scroll_into_view_if_needed()
    snapshot(page, "dashboard-phone-cost-by-model")


def test_on_a_wide_screen_the_filters_stay_open_without_their_summary(viewer_page, live_server):
    page = viewer_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("select[name=range]")).to_be_visible()
    expect(page.locator("details.filter-details > summary")).to_be_hidden()


def test_on_a_phone_the_list_folds_its_filters_and_each_row_shows_its_figures(
    phone_page,
    live_server,
    listed,  # noqa: F811
):
    page = phone_page
    page.goto(f"{live_server.url}/generations/")
    expect(page.locator("select[name=range]")).to_be_hidden()
    first_row = page.locator("table.generations tbody tr").first
    assert first_row.bounding_box()["y"] < PHONE["height"]
    shown = [
        label
        for label in first_row.locator("td[data-label]").evaluate_all(
            "cells => cells.filter(c => c.getBoundingClientRect().height > 0).map(c => c.dataset.label)"
        )
    ]
    assert {"Time", "Model", "Provider", "Cost", "Latency"} <= set(shown), shown
    _assert_fits(page)
    snapshot(page, "generation-list-phone-first-screen")
