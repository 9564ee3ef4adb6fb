"""The dashboard and the generation list in a real Chromium, on data stored the way the app stores
it (`generation_store`, which also keeps any rollups current), so these tests hold whether the
pages read raw rows or rollups: every canvas has pixels, every table adds up to the headline,
filters live in the URL and survive Back, drill-downs land on the matching list, and the list
sorts, pages and exports what it says."""

import csv
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from fastrouter_simulator.server import demo_ids, generation_payload
from generations.analytics.listing import EXPORT_HEADER
from generations.fastrouter.details import GenerationDetails
from generations.services import generation_store
from tests.browser.conftest import snapshot

pytestmark = pytest.mark.browser

GENERATIONS = 80
LIST_PAGE_SIZE = 50
MIN_PAINTED_PIXELS = 1500

DRAWN = "() => { const all = document.querySelectorAll('canvas[data-chart]');"
DRAWN += " return all.length > 0 && Array.from(all).every(c => window.Chart && Chart.getChart(c)); }"

# Per canvas: how many pixels are not transparent (Chart.js draws into a 2D context).
PAINTED = """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map(c => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return {chart: c.dataset.chart, painted: painted, area: c.width * c.height};
})"""

# Every chart's table, read from the DOM (inside closed <details>, so textContent, not innerText).
TABLES = """() => Array.from(document.querySelectorAll('section.chart-card')).map(s => ({
  slug: s.id.replace(/^chart-/, ''),
  columns: Array.from(s.querySelectorAll('table thead th')).map(th => th.textContent.trim()),
  rows: Array.from(s.querySelectorAll('table tbody tr')).map(tr =>
    Array.from(tr.querySelectorAll('th, td')).map(cell => cell.textContent.trim())),
}))"""


@pytest.fixture
def stored_generations(db):
    now = timezone.now()
    ids = demo_ids(GENERATIONS, seed="browser-dashboard")
    for generation_id in ids:
        details = GenerationDetails.from_payload(generation_payload(generation_id, now=now))
        generation_store(generation_id=generation_id, details=details)
    return ids


def _money(text: str) -> tuple[Decimal, Decimal]:
    """A shown dollar amount and half a unit of its last digit (its rounding error)."""
    number = text.replace("$", "").replace(",", "")
    places = len(number.partition(".")[2])
    return Decimal(number), Decimal(1).scaleb(-places) / 2


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def _headline(page, label: str) -> str:
    figure = page.locator(".figures .stat", has=page.locator(".label", has_text=re.compile(f"^{re.escape(label)}$")))
    return figure.locator(".value").inner_text().strip()


def _assert_every_chart_painted(page) -> None:
    page.wait_for_function(DRAWN)
    canvases = page.evaluate(PAINTED)
    # Every chart but one that says why it has no plot (no key with a team: how to label keys).
    assert len(canvases) == page.locator("section.chart-card:not(:has(.chart-notice))").count() >= 10
    blank = [c for c in canvases if c["painted"] < max(MIN_PAINTED_PIXELS, c["area"] // 100)]
    assert not blank, f"charts without (enough) pixels: {blank}"


def _column_sums(tables: list[dict], column: str) -> dict[str, list[str]]:
    """Per chart that has `column`: that column's cells."""
    sums = {}
    for table in tables:
        if column in table["columns"]:
            index = table["columns"].index(column)
            sums[table["slug"]] = [row[index] for row in table["rows"]]
    return sums


def _assert_tables_add_up_to_the_headline(page) -> None:
    tables = page.evaluate(TABLES)
    requests = _count(_headline(page, "Requests"))
    assert requests > 0
    request_columns = _column_sums(tables, "Requests")
    # By model, provider, key, team, key type; tokens by model; requests over time.
    assert len(request_columns) >= 7, request_columns.keys()
    for slug, cells in request_columns.items():
        assert sum(_count(cell) for cell in cells) == requests, slug
    for label in ("Input tokens", "Output tokens"):
        headline = _count(_headline(page, label))
        for slug, cells in _column_sums(tables, label).items():
            assert sum(_count(cell) for cell in cells) == headline, (slug, label)

    total, total_error = _money(_headline(page, "Total cost"))
    cost_columns = {**_column_sums(tables, "Cost"), **_column_sums(tables, "Total cost")}
    assert {"cost-over-time", "cost-by-model", "cost-by-provider", "cost-by-key", "byok-cost"} <= set(cost_columns)
    for slug, cells in cost_columns.items():
        shown = [_money(cell) for cell in cells if cell.startswith("$")]
        # Each shown figure is rounded: the sum may differ from the headline by their rounding errors.
        error = total_error + sum(half for _, half in shown)
        assert abs(sum(value for value, _ in shown) - total) <= error, (slug, shown, total)


def _query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_every_chart_is_painted_and_every_table_adds_up_to_the_headline(viewer_page, live_server, stored_generations):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    _assert_every_chart_painted(page)
    _assert_tables_add_up_to_the_headline(page)

    # The same again for one model (fewer rows, same arithmetic), chosen through the form.
    tables = {table["slug"]: table for table in page.evaluate(TABLES)}
    model_row = tables["cost-by-model"]["rows"][0]
    page.select_option("select[name=model]", model_row[0])
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"model="))
    expect(page.locator("select[name=model]")).to_have_value(model_row[0])
    assert _count(_headline(page, "Requests")) == _count(model_row[1])
    _assert_every_chart_painted(page)
    _assert_tables_add_up_to_the_headline(page)


def test_filters_go_into_the_url_and_back_restores_the_previous_view(viewer_page, live_server, stored_generations):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    _assert_every_chart_painted(page)
    month_requests = _headline(page, "Requests")
    by_model = next(table for table in page.evaluate(TABLES) if table["slug"] == "cost-by-model")
    model = max(by_model["rows"], key=lambda row: _count(row[1]))[0]  # the busiest: it has rows in 7 days too

    page.select_option("select[name=range]", "7d")
    page.select_option("select[name=model]", model)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"range=7d.*model=|model=.*range=7d"))
    assert _query(page)["range"] == ["7d"]
    assert _query(page)["model"] == [model]
    expect(page.locator("select[name=model]")).to_have_value(model)
    _assert_every_chart_painted(page)
    week_model_requests = _headline(page, "Requests")
    assert _count(week_model_requests) < _count(month_requests)
    snapshot(page, "dashboard-7d-one-model")

    page.go_back()
    page.wait_for_url(re.compile(r"/dashboard/\?range=30d$"))
    expect(page.locator("select[name=range]")).to_have_value("30d")
    expect(page.locator("select[name=model]")).to_have_value("")
    assert _headline(page, "Requests") == month_requests
    _assert_every_chart_painted(page)

    page.go_forward()
    page.wait_for_url(re.compile(r"range=7d"))
    expect(page.locator("select[name=model]")).to_have_value(model)
    assert _headline(page, "Requests") == week_model_requests
    _assert_every_chart_painted(page)


def test_a_table_row_drills_down_to_the_matching_generations(viewer_page, live_server, stored_generations):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    section = page.locator("#chart-cost-by-provider")
    section.locator("summary").click()
    row = section.locator("table tbody tr").first
    provider = row.locator("th").inner_text()
    requests = row.locator("td").first.inner_text()
    row.locator("th a").click()
    page.wait_for_url(re.compile(r"/generations/\?"))
    assert _query(page)["provider"] == [provider]
    assert _query(page)["range"] == ["30d"]
    expect(page.locator(".range-summary strong")).to_have_text(requests)
    providers = page.locator("table.generations tbody tr td:nth-child(4)").all_inner_texts()
    assert providers
    assert {text.replace("BYOK", "").strip() for text in providers} == {provider}


def test_reporting_zone_switch_rebuckets_and_can_be_saved(viewer_page, live_server, stored_generations):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=7d&bucket=day")
    expect(page.locator(".range-summary")).to_contain_text("UTC")
    page.fill("input[name=tz]", "Asia/Tokyo")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"tz=Asia%2FTokyo"))
    expect(page.locator(".range-summary")).to_contain_text("Asia/Tokyo")
    tables = {table["slug"]: table for table in page.evaluate(TABLES)}
    assert tables["cost-over-time"]["columns"][0] == "Day (Asia/Tokyo)"
    _assert_every_chart_painted(page)
    _assert_tables_add_up_to_the_headline(page)

    page.click("text=Make Asia/Tokyo my time zone")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator(".range-summary")).to_contain_text("Asia/Tokyo")
    expect(page.locator("input[name=tz]")).to_have_value("Asia/Tokyo")


def test_dark_theme_redraws_the_charts_and_logging_out_locks_the_pages(viewer_page, live_server, stored_generations):
    page = viewer_page
    page.goto(f"{live_server.url}/dashboard/?range=30d")
    _assert_every_chart_painted(page)
    page.click("form.theme-switch button[value=dark]")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(15, 18, 23)"
    _assert_every_chart_painted(page)
    snapshot(page, "dashboard-dark")

    page.click("text=Log out")
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text("Logged out")
    for path in ("/dashboard/?range=30d", "/generations/", "/import/"):
        page.goto(f"{live_server.url}{path}")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
        expect(page.locator("#id_username")).to_be_visible()


def test_generation_list_sorts_pages_by_keyset_and_exports_what_it_counts(
    viewer_page, live_server, stored_generations, tmp_path
):
    page = viewer_page
    page.goto(f"{live_server.url}/generations/?range=30d")
    total = _count(page.locator(".range-summary strong").inner_text())
    assert LIST_PAGE_SIZE < total <= GENERATIONS

    page.click("table.generations thead a:has-text('Cost')")
    page.wait_for_url(re.compile(r"sort=-cost(&|$)"))
    expect(page.locator("table.generations thead th[aria-sort=descending]")).to_contain_text("Cost")
    first_page = _list_rows(page)
    assert len(first_page) == LIST_PAGE_SIZE
    costs = [cost for _, cost in first_page]
    assert costs == sorted(costs, reverse=True)

    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r"after="))
    assert _query(page)["sort"] == ["-cost"]
    second_page = _list_rows(page)
    assert len(second_page) == total - LIST_PAGE_SIZE
    assert not {generation_id for generation_id, _ in first_page} & {generation_id for generation_id, _ in second_page}
    assert max(cost for _, cost in second_page) <= min(costs)
    expect(page.locator(".pager")).to_contain_text("End of the list.")

    page.click("text=First page")
    page.wait_for_load_state()
    with page.expect_download() as download_info:
        page.click("text=Export CSV")
    download = download_info.value
    assert download.suggested_filename == "generations.csv"
    saved = tmp_path / "generations.csv"
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == EXPORT_HEADER
    assert len(rows) - 1 == total
    exported = {row[0] for row in rows[1:]}
    assert {generation_id for generation_id, _ in first_page + second_page} <= exported


def _list_rows(page) -> list[tuple[str, Decimal]]:
    """(id as linked, cost) of each row on the page; an unknown cost sorts as -1."""
    rows = []
    for row in page.locator("table.generations tbody tr").all():
        link = row.locator("td").first.locator("a").get_attribute("href")
        generation_id = link.removeprefix("/generations/").removesuffix("/")
        cost = row.locator("td").nth(4).inner_text().strip()
        rows.append((generation_id, _money(cost)[0] if cost.startswith("$") else Decimal(-1)))
    return rows
