import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from generations.analytics import charts, listing, queries
from generations.analytics import dashboard as analytics
from generations.analytics.filters import DashboardFilterForm, GenerationListFilterForm, ListCursor
from generations.analytics.histograms import percentile
from generations.fastrouter.details import GenerationDetails
from generations.models import Generation, KeyLabel
from generations.money import from_pico
from generations.services import generation_store, generation_store_many, generation_tags_add
from tests.analytics.charts import DASHBOARD_CHARTS
from tests.factories import delete_generations, full_payload, make_generation

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def selection(form_class=DashboardFilterForm, zone="UTC", **data):
    form = form_class(data, default_zone=zone, now=NOW)
    assert form.is_valid(), form.errors
    return form.filters()


def make_mixed_rows():
    """Rows across models, providers, keys and key types; some of unknown cost."""
    rows = []
    specs = [
        ("openai/gpt-4o", "openai", "sha256:key-a", False, 1_234_567_890_123),
        ("openai/gpt-4o", "azure", "sha256:key-b", True, 7),
        ("anthropic/claude-sonnet-4", "anthropic", "sha256:key-a", False, 333_333_333_333),
        ("anthropic/claude-sonnet-4", "anthropic", "sha256:key-c", None, None),
        ("google/gemini-2.5-flash", "google", "sha256:key-b", False, 10**12),
        ("google/gemini-2.5-flash", "google", "sha256:key-c", True, None),
    ]
    for number, (model, provider, key, byok, cost) in enumerate(specs * 3):
        rows.append(
            make_generation(
                f"gen-{number}",
                body=False,
                model=model,
                provider=provider,
                api_key_hash=key,
                is_byok=byok,
                cost_pico=cost,
                credits_used_pico=cost,
                input_tokens=100 + number,
                output_tokens=10 * number,
                latency_ms=200.0 + 97 * number,
                output_tokens_per_second=5.0 + number,
                occurred_at=NOW - timedelta(hours=3 * number + 1),
            )
        )
    return rows


def test_totals_equal_a_decimal_sum_over_the_same_rows():
    rows = make_mixed_rows()
    board = analytics.dashboard(selection(range="7d"))
    known = [row for row in rows if row.cost_pico is not None]
    assert board.totals.cost == sum((from_pico(row.cost_pico) for row in known), Decimal(0))
    assert board.totals.requests == len(rows)
    assert board.totals.input_tokens == sum(row.input_tokens for row in rows)
    assert board.totals.output_tokens == sum(row.output_tokens for row in rows)
    assert board.totals.average_cost == (board.totals.cost / len(known)).quantize(Decimal("1e-12")).normalize()
    assert board.totals.byok_requests == sum(1 for row in rows if row.is_byok)


def test_every_chart_adds_up_to_the_headline_figures():
    make_mixed_rows()
    board = analytics.dashboard(selection(range="7d"))
    charts_with_totals = [chart for chart in board.charts if chart.total_requests is not None]
    # Every chart but the percentile ones (their figures are bins, not sums) adds up.
    assert {chart.slug for chart in charts_with_totals} >= {
        slug for slug in DASHBOARD_CHARTS if not slug.startswith(("latency-", "throughput-"))
    }
    for chart in charts_with_totals:
        assert chart.total_cost == board.totals.cost, chart.slug
        assert chart.total_requests == board.totals.requests, chart.slug
    by_model = board.charts_by_slug["cost-by-model"]
    assert sum(row.cells[1].value for row in by_model.rows) == board.totals.cost
    over_time = board.charts_by_slug["requests-over-time"]
    assert sum(row.cells[0].value for row in over_time.rows) == board.totals.requests
    assert board.figures[0].value == "$7.7037"


def test_unknown_cost_is_counted_separately_never_as_zero():
    make_generation("priced", cost_pico=2 * 10**12, occurred_at=NOW - timedelta(hours=1))
    make_generation("unpriced", cost_pico=None, occurred_at=NOW - timedelta(hours=2), model="x/unknown-cost")
    board = analytics.dashboard(selection(range="24h"))
    assert board.totals.unknown_cost_requests == 1
    assert board.totals.cost == Decimal(2)
    assert board.totals.average_cost == Decimal(2)
    assert "1 generations of unknown cost not included" in board.figures[0].hint
    unknown_row = next(row for row in board.charts_by_slug["cost-by-model"].rows if row.label == "x/unknown-cost")
    assert unknown_row.cells[1].text == "unknown"
    assert unknown_row.cells[2].value == 1


def test_a_range_of_only_unknown_cost_shows_unknown_not_zero():
    make_generation("unpriced", cost_pico=None, occurred_at=NOW - timedelta(hours=2))
    board = analytics.dashboard(selection(range="24h"))
    assert board.totals.cost is None
    assert board.figures[0].value == "unknown"


def test_empty_range_is_empty_with_zero_buckets():
    board = analytics.dashboard(selection(range="24h"))
    assert board.is_empty
    series = board.charts_by_slug["requests-over-time"]
    assert len(series.rows) in (24, 25)
    assert all(row.cells[0].value == 0 for row in series.rows)


def requests_per_bucket(board):
    return {row.label: row.cells[0].value for row in board.charts_by_slug["requests-over-time"].rows}


@pytest.mark.parametrize(
    ("zone", "start", "end", "moments", "expected"),
    [
        (
            # Spring forward: 30 March 2025 has 23 hours in Berlin.
            "Europe/Berlin",
            "2025-03-29",
            "2025-03-31",
            ["2025-03-29T22:59:59", "2025-03-29T23:00:00", "2025-03-30T21:59:59", "2025-03-30T22:00:00"],
            {"Sat 29 Mar 2025": 1, "Sun 30 Mar 2025": 2, "Mon 31 Mar 2025": 1},
        ),
        (
            # Fall back: 26 October 2025 has 25 hours in Berlin.
            "Europe/Berlin",
            "2025-10-25",
            "2025-10-27",
            ["2025-10-25T21:59:59", "2025-10-25T22:00:00", "2025-10-26T22:59:59", "2025-10-26T23:00:00"],
            {"Sat 25 Oct 2025": 1, "Sun 26 Oct 2025": 2, "Mon 27 Oct 2025": 1},
        ),
        (
            # Spring forward in Los Angeles: 9 March 2025 has 23 hours.
            "America/Los_Angeles",
            "2025-03-08",
            "2025-03-10",
            ["2025-03-09T07:59:59", "2025-03-09T08:00:00", "2025-03-10T06:59:59", "2025-03-10T07:00:00"],
            {"Sat 08 Mar 2025": 1, "Sun 09 Mar 2025": 2, "Mon 10 Mar 2025": 1},
        ),
        (
            # Fall back in Los Angeles: 2 November 2025 has 25 hours.
            "America/Los_Angeles",
            "2025-11-01",
            "2025-11-03",
            ["2025-11-02T06:59:59", "2025-11-02T07:00:00", "2025-11-03T07:59:59", "2025-11-03T08:00:00"],
            {"Sat 01 Nov 2025": 1, "Sun 02 Nov 2025": 2, "Mon 03 Nov 2025": 1},
        ),
    ],
)
def test_day_buckets_follow_local_midnights_across_dst(zone, start, end, moments, expected):
    for number, moment in enumerate(moments):
        make_generation(f"dst-{number}", body=False, occurred_at=datetime.fromisoformat(moment).replace(tzinfo=UTC))
    board = analytics.dashboard(selection(zone=zone, range="custom", start=start, end=end, bucket="day"))
    assert requests_per_bucket(board) == expected
    assert board.totals.requests == len(moments)


def test_week_buckets_start_on_monday_in_the_reporting_zone():
    # Sunday 23:30 in Berlin is still the week that started on Monday the 17th.
    make_generation("sunday-night", body=False, occurred_at=datetime(2025, 11, 23, 22, 30, tzinfo=UTC))
    make_generation("monday-morning", body=False, occurred_at=datetime(2025, 11, 23, 23, 30, tzinfo=UTC))
    board = analytics.dashboard(
        selection(zone="Europe/Berlin", range="custom", start="2025-11-17", end="2025-11-30", bucket="week")
    )
    assert requests_per_bucket(board) == {"Week of 17 Nov 2025": 1, "Week of 24 Nov 2025": 1}


def test_empty_buckets_appear_as_zeros_between_busy_ones():
    make_generation("first", body=False, occurred_at=datetime(2025, 11, 1, 12, tzinfo=UTC))
    make_generation("last", body=False, occurred_at=datetime(2025, 11, 4, 12, tzinfo=UTC))
    board = analytics.dashboard(selection(range="custom", start="2025-11-01", end="2025-11-04", bucket="day"))
    assert list(requests_per_bucket(board).values()) == [1, 0, 0, 1]


def test_month_buckets_cover_each_calendar_month():
    make_generation("jan", body=False, occurred_at=datetime(2025, 1, 31, 23, tzinfo=UTC))
    make_generation("feb", body=False, occurred_at=datetime(2025, 2, 1, 1, tzinfo=UTC))
    board = analytics.dashboard(selection(range="custom", start="2025-01-15", end="2025-03-02", bucket="month"))
    assert requests_per_bucket(board) == {"Jan 2025": 1, "Feb 2025": 1, "Mar 2025": 0}


def test_percentiles_come_from_histogram_bins():
    rows = make_mixed_rows()
    board = analytics.dashboard(selection(range="7d"))
    latency_rows = {row.label: row for row in board.charts_by_slug["latency-by-model"].rows}
    gpt = [row for row in rows if row.model == "openai/gpt-4o"]
    counts: dict[int, int] = {}
    for row in gpt:
        counts[row.latency_bin] = counts.get(row.latency_bin, 0) + 1
    assert latency_rows["openai/gpt-4o"].cells[1].value == round(percentile(counts, 0.5), 3)
    exact_median = sorted(row.latency_ms for row in gpt)[len(gpt) // 2 - 1]
    assert abs(latency_rows["openai/gpt-4o"].cells[1].value - exact_median) / exact_median < 0.04


@pytest.mark.parametrize(
    ("data", "expected_ids"),
    [
        ({"model": "openai/gpt-4o"}, {"gen-0", "gen-1"}),
        ({"provider": "azure"}, {"gen-1"}),
        ({"key": "sha256:key-c"}, {"gen-3", "gen-5"}),
        ({"byok": "yes"}, {"gen-1", "gen-5"}),
        ({"byok": "no"}, {"gen-0", "gen-2", "gen-4"}),
        ({"team": "Search"}, {"gen-1", "gen-4"}),
    ],
)
def test_filters_narrow_every_figure(data, expected_ids):
    make_mixed_rows()
    delete_generations(Generation.objects.filter(generation_id__regex=r"^gen-([6-9]|1\d)$"))
    KeyLabel.objects.create(api_key_hash="sha256:key-b", name="Search backend", team="Search")
    board = analytics.dashboard(selection(range="7d", **data))
    assert board.totals.requests == len(expected_ids)
    page = listing.generation_page(selection(GenerationListFilterForm, range="7d", **data))
    assert {row.generation_id for row in page.rows} == expected_ids


def test_key_labels_name_keys_and_group_them_by_team():
    make_mixed_rows()
    KeyLabel.objects.create(api_key_hash="sha256:key-a", name="Support bot", team="Support")
    KeyLabel.objects.create(api_key_hash="sha256:key-b", name="Docs bot", team="Support")
    board = analytics.dashboard(selection(range="7d"))
    assert {row.label for row in board.charts_by_slug["cost-by-key"].rows} == {
        "Support bot",
        "Docs bot",
        "sha256:key-c",
    }
    teams = {row.label: row.cells[0].value for row in board.charts_by_slug["cost-by-team"].rows}
    assert teams == {"Support": 12, charts.NO_TEAM: 6}
    assert [choice.label for choice in board.choices.keys] == ["Docs bot", "sha256:key-c", "Support bot"]
    assert board.choices.teams == ["Support"]


def test_cost_by_team_says_how_to_label_keys_when_no_key_has_a_team():
    make_mixed_rows()
    KeyLabel.objects.create(api_key_hash="sha256:key-a", name="Support bot")  # a name, no team
    chart = analytics.dashboard(selection(range="7d")).charts_by_slug["cost-by-team"]
    assert chart.notice == charts.NO_TEAMS_NOTICE
    assert [row.label for row in chart.rows] == [charts.NO_TEAM]  # the table still adds up
    KeyLabel.objects.filter(api_key_hash="sha256:key-a").update(team="Support")
    assert analytics.dashboard(selection(range="7d")).charts_by_slug["cost-by-team"].notice == ""


def test_cost_by_team_points_to_cost_by_tag_when_generations_carry_a_team_tag_but_keys_have_none():
    make_mixed_rows()
    generation_tags_add(tags={"gen-0": {"Team": "search"}, "gen-1": {"feature": "chat"}})
    chart = analytics.dashboard(selection(range="7d", model="openai/gpt-4o")).charts_by_slug["cost-by-team"]
    assert chart.notice.startswith(charts.NO_TEAMS_NOTICE)
    assert "“Team” tag" in chart.notice
    # The link keeps the page's selection and picks the tag's own name in the cost-by-tag chart.
    assert (
        chart.notice_link
        == f"{reverse('dashboard')}?range=7d&model=openai%2Fgpt-4o&tz=UTC&tag_key=Team#chart-cost-by-tag"
    )
    # Once a key has a team, the chart itself says it: no notice, no link.
    KeyLabel.objects.create(api_key_hash="sha256:key-a", name="Support bot", team="Support")
    chart = analytics.dashboard(selection(range="7d")).charts_by_slug["cost-by-team"]
    assert (chart.notice, chart.notice_link) == ("", "")


def test_cost_by_team_offers_no_tag_link_when_no_generation_has_a_team_tag():
    make_mixed_rows()
    generation_tags_add(tags={"gen-0": {"teammate": "ann"}})
    chart = analytics.dashboard(selection(range="7d")).charts_by_slug["cost-by-team"]
    assert (chart.notice, chart.notice_link) == (charts.NO_TEAMS_NOTICE, "")


def _colours_by_name(chart_data: dict) -> dict[str, str]:
    """A chart's colour per name: one per bar or slice, or one per dataset of a stacked chart."""
    first = chart_data["datasets"][0]["backgroundColor"]
    if isinstance(first, list):
        return dict(zip(chart_data["labels"], first, strict=True))
    return {dataset["label"]: dataset["backgroundColor"] for dataset in chart_data["datasets"]}


@pytest.mark.parametrize("split", ["model", "provider"])
def test_colours_follow_the_cost_rank_and_a_name_keeps_its_colour_across_charts(split):
    make_mixed_rows()
    board = analytics.dashboard(selection(range="7d", split=split))
    breakdown = _colours_by_name(board.charts_by_slug[f"cost-by-{split}"].data)
    stacked = _colours_by_name(board.charts_by_slug["cost-over-time"].data)
    assert stacked == breakdown
    # The costliest first: the palette's colours in order, never the same twice on a chart.
    costliest = [row.label for row in board.charts_by_slug[f"cost-by-{split}"].rows]
    assert [breakdown[name] for name in costliest] == [f"var(--series-{n})" for n in range(1, len(costliest) + 1)]
    for chart in board.charts:
        colours = list(_colours_by_name(chart.data).values())
        assert len(set(colours)) == len(colours), chart.slug


def test_past_the_palette_and_other_share_the_grey_of_the_rest():
    names = [f"model-{n}" for n in range(charts.SERIES_COLOURS + 2)]
    palette = charts.Palette([*names, charts.OTHER])
    colours = [palette(name) for name in names]
    assert len(set(colours[: charts.SERIES_COLOURS])) == charts.SERIES_COLOURS
    assert colours[charts.SERIES_COLOURS :] == [charts.REST_COLOUR] * 2
    assert palette(charts.OTHER) == palette("never-ranked") == charts.REST_COLOUR


def test_previous_period_deltas():
    make_generation("now", body=False, cost_pico=3 * 10**12, occurred_at=NOW - timedelta(hours=1))
    make_generation("before", body=False, cost_pico=2 * 10**12, occurred_at=NOW - timedelta(hours=30))
    board = analytics.dashboard(selection(range="24h"))
    cost = board.figures[0]
    assert (cost.value, cost.previous, cost.direction, cost.change_text) == ("$3.00", "$2.00", "up", "50.0%")


def make_timed(prefix, count, latency_ms, *, hours_ago=1, model="openai/gpt-4o", cost_pico=10**9):
    for number in range(count):
        make_generation(
            f"{prefix}-{number}",
            body=False,
            model=model,
            provider=model.split("/")[0],
            latency_ms=latency_ms,
            cost_pico=cost_pico,
            occurred_at=NOW - timedelta(hours=hours_ago, minutes=number),
        )


def test_thin_percentiles_are_greyed_in_the_table_and_left_out_of_the_chart():
    make_timed("many", 100, 800.0, model="a/many")
    make_timed("some", 30, 900.0, model="b/some")
    make_timed("few", 5, 1000.0, model="c/few")
    chart = analytics.dashboard(selection(range="24h")).charts_by_slug["latency-by-model"]
    notes = {row.label: [bool(cell.note) for cell in row.cells[1:]] for row in chart.rows}
    # p50, p95, p99: a p95 needs about 20 requests, a p99 about 100.
    assert notes == {"a/many": [False, False, False], "b/some": [False, False, True], "c/few": [False, True, True]}
    assert "Only 5 requests measured: too few for a p95" in chart.rows[2].cells[2].note
    plotted = {dataset["label"]: dataset["data"] for dataset in chart.data["datasets"]}
    assert [value is None for value in plotted["p95"]] == [False, False, True]
    assert [value is None for value in plotted["p99"]] == [False, True, True]
    assert chart.data["requests"] == [100, 30, 5]


def test_a_latency_chart_has_one_unit_for_its_axis_and_every_column():
    make_timed("quick", 3, 450.0, model="a/quick")
    make_timed("slow", 3, 29_000.0, model="b/slow")
    chart = analytics.dashboard(selection(range="24h")).charts_by_slug["latency-by-model"]
    assert chart.columns[2:] == ["p50 (s)", "p95 (s)", "p99 (s)"]
    assert all(cell.text.endswith(" s") for row in chart.rows for cell in row.cells[1:])
    assert chart.data["unit"] == "s"
    assert max(chart.data["datasets"][0]["data"]) < 40  # seconds, as the axis says
    assert chart.csv_columns[2:] == ["p50 (ms)", "p95 (ms)", "p99 (ms)"]


def test_a_latency_card_reads_in_one_unit_and_counts_its_requests():
    make_timed("now", 3, 18_300.0)
    make_timed("before", 3, 6_217.0, hours_ago=30)
    figures = {figure.label: figure for figure in analytics.dashboard(selection(range="24h")).figures}
    p50 = figures["p50 latency"]
    assert p50.value.endswith(" s") and p50.previous.endswith(" s"), (p50.value, p50.previous)
    assert p50.hint == "of 3 requests measured"
    assert (p50.direction, p50.meaning) == ("up", "bad")  # slower
    # Three requests make no p95: shown, greyed, with why.
    assert figures["p95 latency"].faint == "too few for a p95 (about 20 needed)"
    assert not p50.faint


def test_both_periods_in_one_latency_bin_read_same_bin_not_zero():
    make_timed("now", 3, 1000.0)
    make_timed("before", 3, 1010.0, hours_ago=30)
    p50 = analytics.dashboard(selection(range="24h")).figures[7]
    assert p50.label == "p50 latency"
    assert (p50.change_text, p50.direction, p50.arrow, p50.meaning) == ("same bin (±4 %)", "", "", "neutral")


def test_change_arrows_are_coloured_by_meaning_not_direction():
    make_timed("now", 2, 500.0, cost_pico=10**9)
    make_timed("before", 4, 1000.0, hours_ago=30, cost_pico=10**9)
    figures = {figure.label: figure for figure in analytics.dashboard(selection(range="24h")).figures}
    meanings = {label: (figure.direction, figure.meaning) for label, figure in figures.items()}
    assert meanings["Total cost"] == ("down", "good")
    assert meanings["p50 latency"] == ("down", "good")
    assert meanings["Requests"] == ("down", "neutral")
    assert meanings["Output tokens"][1] == "neutral"
    assert meanings["Avg cost / request"] == ("", "neutral")  # unchanged


def walk_pages(filters, size):
    seen, cursor = [], None
    while True:
        page = listing.generation_page(filters, cursor, size=size)
        seen.extend(row.generation_id for row in page.rows)
        if not page.next_cursor:
            return seen
        cursor = ListCursor.decode(page.next_cursor, sort=page.sort)


@pytest.mark.parametrize("sort", ["-occurred_at", "occurred_at", "-cost", "cost", "model", "-latency"])
def test_keyset_pagination_returns_every_row_once_despite_ties(sort):
    tie = NOW - timedelta(hours=2)
    for number in range(23):
        make_generation(
            f"row-{number:02d}",
            body=False,
            occurred_at=tie if number % 3 else tie - timedelta(minutes=number),
            cost_pico=None if number % 4 == 0 else 5 * 10**9 * (number % 3),
            latency_ms=None if number % 5 == 0 else 100.0 * (number % 2),
        )
    filters = selection(GenerationListFilterForm, range="24h", sort=sort)
    seen = walk_pages(filters, size=4)
    assert sorted(seen) == sorted(f"row-{n:02d}" for n in range(23))
    assert len(seen) == len(set(seen))


def test_default_order_is_newest_first():
    for number in range(3):
        make_generation(f"g{number}", body=False, occurred_at=NOW - timedelta(hours=number + 1))
    assert walk_pages(selection(GenerationListFilterForm, range="24h"), size=2) == ["g0", "g1", "g2"]


def test_id_prefix_search():
    make_generation("chatcmpl-abc", body=False, occurred_at=NOW - timedelta(hours=1))
    make_generation("chatcmpl-abd", body=False, occurred_at=NOW - timedelta(hours=1))
    make_generation("other-abc", body=False, occurred_at=NOW - timedelta(hours=1))
    page = listing.generation_page(selection(GenerationListFilterForm, range="24h", q="chatcmpl-ab"))
    assert {row.generation_id for row in page.rows} == {"chatcmpl-abc", "chatcmpl-abd"}
    assert page.totals.requests == 2


def test_export_rows_hold_exact_money_and_both_times():
    make_generation(
        "exported",
        body=False,
        cost_pico=1_234_567,
        occurred_at=datetime(2025, 11, 20, 9, 0, tzinfo=UTC),
        api_key_hash="sha256:key-a",
    )
    KeyLabel.objects.create(api_key_hash="sha256:key-a", name="Support bot", team="Support")
    filters = selection(GenerationListFilterForm, zone="Europe/Berlin", range="24h")
    [row] = list(listing.generation_export_rows(filters))
    record = dict(zip(listing.EXPORT_HEADER, row, strict=True))
    assert record["cost_usd"] == Decimal("0.000001234567")
    assert record["occurred_at_utc"] == "2025-11-20T09:00:00+00:00"
    assert record["occurred_at_local"] == "2025-11-20T10:00:00+01:00"
    assert (record["api_key_name"], record["team"]) == ("Support bot", "Support")


# ---- rollups and raw rows give the same dashboard -------------------------------------------------

HISTORY_START = datetime(2025, 10, 20, 7, 13, tzinfo=UTC)  # Berlin leaves DST on 26 Oct, Los Angeles on 2 Nov
HISTORY_NOW = datetime(2025, 11, 5, 16, 41, 9, tzinfo=UTC)


def random_details(rng: random.Random, generation_id: str) -> GenerationDetails:
    model, provider = rng.choice(
        [("openai/gpt-4o", "openai"), ("openai/gpt-4o", "azure"), ("anthropic/claude-sonnet-4", "anthropic")]
    )
    moment = HISTORY_START + timedelta(seconds=rng.randrange(0, int((HISTORY_NOW - HISTORY_START).total_seconds())))
    cost = None if rng.random() < 0.1 else round(rng.uniform(0.00001, 0.05), 9)
    usage = {"prompt_tokens": rng.randrange(1, 5000), "completion_tokens": rng.randrange(1, 2000), "cost": cost}
    payload = full_payload(
        generation_id,
        model=model,
        provider_name=provider,
        api_key=rng.choice(["sha256:key-a", "sha256:key-b", "sha256:key-c"]),
        endpoint=rng.choice(["/v1/chat/completions", "/v1/embeddings"]),
        is_byok=rng.choice([True, False, None]),
        credits_used=cost,
        usage=usage,
        query_time=moment.isoformat().replace("+00:00", "Z"),
        timing={"duration_ms": int(rng.lognormvariate(7, 1)) + 1},
    )
    return GenerationDetails.from_payload(payload)


@pytest.fixture
def random_history():
    """Random generations stored through the services, refreshed (some move model or time), some deleted."""
    rng = random.Random(11)
    ids = [f"gen-{n}" for n in range(400)]
    generation_store_many(items=[(gid, random_details(rng, gid)) for gid in ids])
    for gid in rng.sample(ids, 25):
        generation_store(generation_id=gid, details=random_details(rng, gid))
    generation_store_many(items=[(gid, random_details(rng, gid)) for gid in rng.sample(ids, 40)])
    delete_generations(Generation.objects.filter(generation_id__in=rng.sample(ids, 30)))
    KeyLabel.objects.create(api_key_hash="sha256:key-b", name="Search backend", team="Search")
    KeyLabel.objects.create(api_key_hash="sha256:key-c", name="Docs bot", team="Search")


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
@pytest.mark.parametrize(
    "data",
    [
        {"range": "30d"},
        {"range": "7d", "bucket": "hour"},
        {"range": "24h"},
        {"range": "custom", "start": "2025-10-24", "end": "2025-11-03"},  # both DST switches, local midnights
        {"range": "custom", "start": "2025-10-21", "end": "2025-11-04", "bucket": "week"},
        {"range": "30d", "model": "openai/gpt-4o"},
        {"range": "30d", "key": "sha256:key-a", "bucket": "hour"},
        {"range": "30d", "team": "Search", "provider": "azure"},
        {"range": "30d", "team": "Search", "key": "sha256:key-a"},
        {"range": "30d", "endpoint": "/v1/embeddings", "byok": "no"},
        {"range": "30d", "byok": "yes", "split": "provider"},
    ],
)
def test_every_figure_and_chart_is_identical_from_rollups_and_raw_rows(random_history, zone, data):
    form = DashboardFilterForm(data, default_zone=zone, now=HISTORY_NOW)
    assert form.is_valid(), form.errors
    filters = form.filters()
    from_rollups, from_rows = analytics.dashboard(filters), analytics.dashboard(filters, raw=True)
    key_outside_team = data.get("team") == "Search" and data.get("key") == "sha256:key-a"
    assert (from_rows.totals.requests == 0) == key_outside_team
    assert from_rollups.totals == from_rows.totals
    assert from_rollups.previous_totals == from_rows.previous_totals
    assert from_rollups.figures == from_rows.figures
    for slug, chart in from_rows.charts_by_slug.items():
        assert from_rollups.charts_by_slug[slug] == chart, slug
    assert from_rollups == from_rows
    listed = GenerationListFilterForm(data, default_zone=zone, now=HISTORY_NOW)
    assert listed.is_valid(), listed.errors
    page = listing.generation_page(listed.filters())
    assert page.totals == listing.generation_page(listed.filters(), raw=True).totals == from_rows.totals


def test_an_id_prefix_search_totals_raw_rows(random_history):
    form = GenerationListFilterForm({"range": "30d", "q": "gen-1"}, default_zone="UTC", now=HISTORY_NOW)
    assert form.is_valid(), form.errors
    expected = Generation.objects.filter(generation_id__startswith="gen-1", occurred_at__gte=form.filters().start)
    assert listing.generation_page(form.filters()).totals.requests == expected.count()


def test_filter_choices_come_from_the_rollups(random_history, django_assert_num_queries):
    # The rollup version (largest id) for the cache key, then four DISTINCTs; later calls only the first.
    with django_assert_num_queries(5) as captured:
        choices = queries.filter_choices({})
    assert not any("generations_generation" in query["sql"] for query in captured.captured_queries)
    assert choices.models == ["anthropic/claude-sonnet-4", "openai/gpt-4o"]
    assert choices.providers == ["anthropic", "azure", "openai"]
    assert {choice.value for choice in choices.keys} == {"sha256:key-a", "sha256:key-b", "sha256:key-c"}
    with django_assert_num_queries(1):
        assert queries.filter_choices({}) == choices
    delete_generations(Generation.objects.filter(model="anthropic/claude-sonnet-4"))
    assert queries.filter_choices({}).models == ["openai/gpt-4o"]


def test_only_the_bucket_containing_now_is_partial():
    filters = selection(range="7d", bucket="day")
    links = charts.Links(filters)
    running = charts.time_axis(filters, links, now=NOW - timedelta(minutes=1))
    assert running.partial == len(running.starts) - 1
    assert [row.partial for row in running.rows([[] for _ in running.starts])] == [False] * (
        len(running.starts) - 1
    ) + [True]
    assert charts.time_axis(filters, links, now=filters.start).partial == 0
    assert charts.time_axis(filters, links, now=filters.end).partial is None


def test_credits_say_their_unit_and_read_with_the_digits_of_the_cost():
    for number in range(2):
        make_generation(
            f"credits-{number}",
            body=False,
            cost_pico=222_834_000_000,
            credits_used_pico=222_834_000_000,
            occurred_at=NOW - timedelta(hours=1, minutes=number),
        )
    figures = {figure.label: figure for figure in analytics.dashboard(selection(range="24h")).figures}
    assert figures["Credits used"].hint == "FastRouter credits: 1 = $1"
    assert figures["Total cost"].value == "$0.4457"
    assert figures["Credits used"].value == "0.4457"
