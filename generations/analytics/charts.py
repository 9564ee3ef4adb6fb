"""Charts as data: each `Chart` carries its table rows (the page's table and its CSV) and its
Chart.js payload, built from `queries` results; colours and drill-down links live here.
"""

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.urls import reverse

from generations.analytics.filters import DashboardFilters
from generations.analytics.histograms import percentiles
from generations.analytics.periods import next_month
from generations.analytics.queries import (
    Sums,
    Totals,
    rollup,
    sum_totals,
    sums_by,
    sums_cost,
)
from generations.analytics.rollups import (
    bucket_edges,
)
from generations.display import (
    NOTHING,
    format_count,
    format_latency,
    format_share,
    format_throughput,
    format_usd,
    latency_unit,
)

# A stacked time chart with more series than this is unreadable; the rest become "Other".
MAX_SERIES = 8


OTHER = "Other"
# Every measure the time charts show (cost, requests, unknown-cost requests, output tokens): what
# their series reads, a third of the columns of thousands of hourly rows.
TIME_CHART_MEASURES = ("requests", "priced_requests", "cost_pico", "output_tokens")


NO_TEAM = "(no team)"


NO_TEAMS_NOTICE = (
    "No API key has a team yet, so every cost would be one “(no team)” bar. Teams come from key "
    "labels: staff give a key hash a name and a team in the admin (Key labels); the keys' costs then "
    "add up per team here, and the Team filter offers them."
)


# Said under NO_TEAMS_NOTICE when generations carry a tag named "team": the cost-by-tag chart
# already adds their cost up per team, so the page points there instead of leaving one bar.
TEAM_TAG_NOTICE = "Your generations carry a “{name}” tag, though: Cost by tag adds up their cost per team."


PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


# Every chart colour is a custom property of static/css/app.css, a light-dark() pair that
# dashboard.js resolves in the page's theme: the palette is written once, for both themes.
# --series-1 … --series-18: Tableau 10 (its grey kept for "the rest"), then Tableau 20's light partners.
SERIES_COLOURS = 18
REST_COLOUR = "var(--series-rest)"

# Percentiles are ordered, so one hue from light to dark, not three unrelated colours.
PERCENTILE_COLOURS = {"p50": "var(--p50)", "p95": "var(--p95)", "p99": "var(--p99)"}


TOKEN_COLOURS = {"Input tokens": "var(--series-1)", "Output tokens": "var(--series-2)"}


KEY_TYPE_COLOURS = {"BYOK": "var(--series-7)", "Platform key": "var(--series-1)", "Unknown": REST_COLOUR}


def _bucket_dates(start: datetime, bucket: str) -> tuple[date, date]:
    """The local dates a bucket (its local start) covers (inclusive), for drill-down links."""
    day = start.date()
    if bucket == "week":
        return day, day + timedelta(days=6)
    if bucket == "month":
        return day, next_month(day) - timedelta(days=1)
    return day, day


def _bucket_label(start: datetime, bucket: str) -> str:
    """`start` is local."""
    if bucket == "hour":
        return start.strftime("%a %d %b %H:00")
    if bucket == "day":
        return start.strftime("%a %d %b %Y")
    if bucket == "week":
        return f"Week of {start:%d %b %Y}"
    return start.strftime("%b %Y")


def _bucket_labels(starts: list[datetime], bucket: str) -> list[str]:
    """`starts` are local; an hour shown twice (a fall-back night: "02:00 CEST", then "02:00 CET";
    Chatham's and Lord Howe's changes off the hour too) is told apart by its zone's abbreviation."""
    labels = [_bucket_label(start, bucket) for start in starts]
    shown = Counter(labels)
    return [
        f"{label} {start:%Z}" if bucket == "hour" and shown[label] > 1 else label
        for label, start in zip(labels, starts, strict=True)
    ]


class Palette:
    """Colours by rank within the view: the costliest name gets the first colour, the next the
    second, and so on. Every chart of a page ranks a dimension's names the same way (`by_cost` over
    the same totals), so a model keeps its colour from chart to chart. "Other" and the names past
    the palette share the grey of "the rest"."""

    def __init__(self, ranked: Iterable[object]) -> None:
        self._colours: dict[object, str] = {}
        for name in ranked:
            if name != OTHER and name not in self._colours and len(self._colours) < SERIES_COLOURS:
                self._colours[name] = f"var(--series-{len(self._colours) + 1})"

    def __call__(self, name: object) -> str:
        return self._colours.get(name, REST_COLOUR)


def _money_number(amount: Decimal | None) -> float:
    # Chart.js draws floats; every table and CSV shows the exact Decimal.
    return float(amount) if amount is not None else 0.0


@dataclass(slots=True)
class Cell:
    text: str
    value: object = None
    numeric: bool = True
    # Why the figure is shown greyed (too few requests for it), as the cell's tooltip.
    note: str = ""


@dataclass(slots=True)
class Row:
    label: str
    cells: list[Cell]
    link: str = ""
    title: str = ""
    # The bucket still running ("now" is inside it): its figures will grow, so it is no real drop.
    partial: bool = False


@dataclass(frozen=True)
class Chart:
    slug: str
    title: str
    columns: list[str]
    rows: list[Row]
    data: dict
    description: str = ""
    total_cost: Decimal | None = None
    total_requests: int | None = None
    # The CSV's header when it differs from the page's (a page's unit follows the figures).
    csv_columns: list[str] | None = None
    # Shown instead of the plot when the plot would say nothing (every cost in one "(no team)" bar).
    notice: str = ""
    # A page link after the notice (a grouping that says more), with its words.
    notice_link: str = ""
    notice_link_text: str = ""

    @property
    def json_id(self) -> str:
        return f"chart-data-{self.slug}"


class Links:
    """Drill-down URLs: the generation list with the page's filters plus one more."""

    def __init__(self, filters: DashboardFilters) -> None:
        self.filters = filters
        self.base = reverse("generation-list")
        self._made: dict[tuple, str] = {}  # a model's link appears in four charts

    def __call__(self, **overrides: object) -> str:
        key = tuple(sorted(overrides.items()))
        if key not in self._made:
            self._made[key] = f"{self.base}?{self.filters.querystring(**overrides)}"
        return self._made[key]


def by_cost(groups: dict[object, Totals]) -> list[tuple[object, Totals]]:
    return sorted(groups.items(), key=lambda item: (-item[1].cost_pico, -item[1].requests, str(item[0])))


def _cost_cells(totals: Totals, grand: Totals) -> list[Cell]:
    share = totals.cost_pico / grand.cost_pico if grand.cost_pico else None
    return [
        Cell(format_count(totals.requests), totals.requests),
        Cell(format_usd(totals.cost), totals.cost),
        Cell(format_count(totals.unknown_cost_requests), totals.unknown_cost_requests),
        Cell(format_usd(totals.average_cost), totals.average_cost),
        # No cost to share out (none known, or all of it $0): nothing to show.
        Cell(NOTHING if share is None else format_share(share), None if share is None else round(share, 6)),
    ]


COST_COLUMNS = ["Requests", "Cost", "Unknown-cost requests", "Avg cost / request", "Share of cost"]


def cost_breakdown(
    slug: str,
    title: str,
    heading: str,
    groups: dict[object, Totals],
    *,
    label: Callable[[object], str],
    link: Callable[[object], str],
    kind: str = "bar",
    colours: Callable[[object], str] | None = None,
) -> Chart:
    ordered = by_cost(groups)
    grand = sum_totals(groups.values())
    names = [label(key) for key, _ in ordered]
    links = [link(key) for key, _ in ordered]
    colour_of = colours or Palette(key for key, _ in ordered)
    return Chart(
        slug=slug,
        title=title,
        columns=[heading, *COST_COLUMNS],
        rows=[
            Row(label=name, link=url, cells=_cost_cells(totals, grand))
            for name, url, (_, totals) in zip(names, links, ordered, strict=True)
        ],
        data={
            "type": kind,
            "money": True,
            "horizontal": kind == "bar",
            "labels": names,
            "links": links,
            "datasets": [
                {
                    "label": "Cost (USD)",
                    "data": [_money_number(totals.cost) for _, totals in ordered],
                    "backgroundColor": [colour_of(key) for key, _ in ordered],
                }
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )


UNTAGGED = "(untagged)"


def tag_breakdown(
    tag_key: str, tagged: dict[str, Totals], untagged: Totals, *, link: Callable[[str | None], str]
) -> Chart:
    """Cost, requests and tokens per value of the tag `tag_key`, the generations without it as
    "(untagged)" (key None: a value may be any text), so the rows add up to the selection's total."""
    groups: dict[object, Totals] = {**tagged, **({None: untagged} if untagged.requests else {})}
    # The breakdown's rows in its order (by cost); "(untagged)" is grey, like "Other".
    ordered = by_cost(groups)
    palette = Palette(value for value, _ in ordered if value is not None)
    chart = cost_breakdown(
        "cost-by-tag",
        f"Cost by tag: {tag_key}",
        tag_key,
        groups,
        label=lambda value: UNTAGGED if value is None else str(value),
        link=link,
        colours=lambda value: REST_COLOUR if value is None else palette(value),
    )
    # Each row with its tokens added.
    rows = [
        Row(
            label=row.label,
            link=row.link,
            cells=[
                *row.cells,
                Cell(format_count(totals.input_tokens), totals.input_tokens),
                Cell(format_count(totals.output_tokens), totals.output_tokens),
            ],
        )
        for row, (_, totals) in zip(chart.rows, ordered, strict=True)
    ]
    return replace(chart, columns=[*chart.columns, "Input tokens", "Output tokens"], rows=rows)


@dataclass(frozen=True)
class Spread:
    """A per-request figure charted as percentiles per model and per provider, from its histograms."""

    kind: str  # the histogram kind (queries.bin_counts_by)
    description: str

    @property
    def plain_unit(self) -> str:
        """The unit of the stored values, the CSV's."""
        return "ms" if self.kind == "latency" else "tok/s"

    def unit(self, values: Iterable[float | None]) -> str:
        """One unit for a whole chart, its axis and its table: the largest value decides."""
        return latency_unit(*values) if self.kind == "latency" else "tok/s"

    def show(self, value: float | None, unit: str) -> str:
        return format_latency(value, unit) if self.kind == "latency" else format_throughput(value)

    def plotted(self, value: float, unit: str) -> float:
        """The number Chart.js draws, in `unit`."""
        return round(value / 1000, 4) if unit == "s" else round(value, 3)


LATENCY = Spread(
    "latency",
    "p50 / p95 / p99 from 8 % histogram bins (each within 4 % of the exact value); a p95 needs about "
    "20 requests and a p99 about 100: below that they are greyed in the table and left out of the chart.",
)
THROUGHPUT = Spread(
    "throughput",
    "Output tokens per second of latency (derived by us, higher is better); p95 and p99 of too few "
    "requests are greyed in the table and left out of the chart.",
)

# Below these counts a percentile is one of the few slowest requests, not a tail: a p99 of 30
# requests is their maximum. Shown greyed, with why, and left out of the chart.
MIN_REQUESTS = {"p50": 1, "p95": 20, "p99": 100}


def _percentile_cell(spread: Spread, percentile: str, value: float | None, requests: int, unit: str) -> Cell:
    cell = Cell(spread.show(value, unit), None if value is None else round(value, 3))
    if requests < MIN_REQUESTS[percentile]:
        cell.note = (
            f"Only {requests:,} request{'s' if requests != 1 else ''} measured: too few for a {percentile} "
            f"(about {MIN_REQUESTS[percentile]} needed)"
        )
    return cell


def percentile_chart(
    spread: Spread,
    dimension: str,
    bins: dict[object, dict[int, int]],
    *,
    names: list[str],
    link: Callable[[str], str],
) -> Chart:
    """p50 / p95 / p99 of `spread` per value of `dimension` ("model" or "provider"), in `names` order."""
    keys = [name for name in names if bins.get(name)]
    values = {name: dict(zip(PERCENTILES, percentiles(bins[name], PERCENTILES.values()), strict=True)) for name in keys}
    requests = {name: sum(bins[name].values()) for name in keys}
    unit = spread.unit(value for row in values.values() for value in row.values())
    return Chart(
        slug=f"{spread.kind}-by-{dimension}",
        title=f"{spread.kind.title()} by {dimension}",
        description=spread.description,
        # The CSV keeps its units (ms, tok/s) whatever the page shows.
        columns=[dimension.title(), "Requests measured", *(f"{p} ({unit})" for p in PERCENTILES)],
        csv_columns=[dimension.title(), "Requests measured", *(f"{p} ({spread.plain_unit})" for p in PERCENTILES)],
        rows=[
            Row(
                label=name,
                link=link(name),
                cells=[
                    Cell(format_count(requests[name]), requests[name]),
                    *(_percentile_cell(spread, p, values[name][p], requests[name], unit) for p in PERCENTILES),
                ],
            )
            for name in keys
        ],
        data={
            "type": "bar",
            "unit": unit,
            "rotate_labels": True,
            "labels": keys,
            "links": [link(name) for name in keys],
            "requests": [requests[name] for name in keys],
            "datasets": [
                {
                    "label": p,
                    # Too few requests for this percentile: no bar (Chart.js skips a null).
                    "data": [
                        spread.plotted(values[name][p], unit) if requests[name] >= MIN_REQUESTS[p] else None
                        for name in keys
                    ],
                    "backgroundColor": PERCENTILE_COLOURS[p],
                }
                for p in PERCENTILES
            ],
        },
    )


@dataclass(frozen=True)
class TimeAxis:
    """The buckets of a time chart: UTC starts (so empty buckets show as zeros), their labels in
    the viewer's zone, and each bucket's drill-down link."""

    heading: str
    starts: list[datetime]
    labels: list[str]
    links: list[str]
    partial: int | None  # the index of the bucket containing "now", if the range reaches it

    def rows(self, cells: list[list[Cell]]) -> list[Row]:
        """One table row per bucket, the running one marked partial."""
        return [
            Row(label=label, link=url, cells=bucket_cells, partial=index == self.partial)
            for index, (label, url, bucket_cells) in enumerate(zip(self.labels, self.links, cells, strict=True))
        ]


def time_axis(filters: DashboardFilters, links: Links, *, now: datetime) -> TimeAxis:
    edges = bucket_edges(filters.start, filters.end, filters.tzinfo, filters.bucket)
    starts = edges[:-1]
    running = [index for index, (start, end) in enumerate(itertools.pairwise(edges)) if start <= now < end]
    local_starts = [start.astimezone(filters.tzinfo) for start in starts]
    bucket_links = []
    for local in local_starts:
        first, last = _bucket_dates(local, filters.bucket)
        bucket_links.append(links(range="custom", start=first.isoformat(), end=last.isoformat()))
    return TimeAxis(
        heading=f"{filters.bucket.title()} ({filters.zone})",
        starts=starts,
        labels=_bucket_labels(local_starts, filters.bucket),
        links=bucket_links,
        partial=running[0] if running else None,
    )


def bucket_totals(axis: TimeAxis, series: dict[tuple, Sums]) -> list[Totals]:
    """Per bucket of the axis, the series summed over its splits."""
    per_bucket = sums_by(series, lambda group: group[0])
    return [Totals(*per_bucket.get(start, ())) for start in axis.starts]


def _shown_series(groups: dict[tuple, Totals], position: int) -> list[str]:
    """The `MAX_SERIES` costliest values of the split, then "Other" when there are more."""
    per_split = rollup(groups, lambda group: group[position])
    top = [name for name, _ in by_cost(per_split)[:MAX_SERIES]]
    return top + ([OTHER] if len(per_split) > len(top) else [])


def cost_over_time(
    filters: DashboardFilters,
    axis: TimeAxis,
    series: dict[tuple, Sums],
    totals: list[Totals],
    groups: dict[tuple, Totals],
) -> Chart:
    """`series` per (bucket, value of the split), `totals` per bucket (`bucket_totals`); `groups`
    per (model, provider, BYOK) over the range."""
    shown = _shown_series(groups, 0 if filters.split == "model" else 1)
    in_top = set(shown) - {OTHER}
    stacked = sums_by(series, lambda group: (group[0], group[1] if group[1] in in_top else OTHER))
    # Per shown series, its sums and cost in each bucket (None: no generations there), each cost
    # computed once for the table and the chart: thousands of cells on an hourly page.
    stacks = [[stacked.get((start, name)) for start in axis.starts] for name in shown]
    costs = [[None if sums is None else sums_cost(sums) for sums in stack] for stack in stacks]
    # `shown` is in the order of the cost-by-model (or -provider) chart: the same colours there.
    colour = Palette(shown)
    grand = sum_totals(totals)
    split_label = filters.split.title()
    return Chart(
        slug="cost-over-time",
        title=f"Cost over time by {filters.split}",
        description=f"Stacked by {filters.split}; the {MAX_SERIES} costliest are shown, the rest as “{OTHER}”.",
        columns=[axis.heading, "Total cost", *(f"{split_label}: {name}" for name in shown)],
        rows=axis.rows(
            [
                # A bucket without generations reads "—" in every cell, as its series' cells do.
                [Cell(format_usd(bucket.cost) if bucket.requests else NOTHING, bucket.cost), *stacked_cells]
                for bucket, *stacked_cells in zip(
                    totals,
                    *(map(_stacked_cost_cell, stack, cost) for stack, cost in zip(stacks, costs, strict=True)),
                    strict=True,
                )
            ]
        ),
        data={
            "type": "bar",
            "money": True,
            "stacked": True,
            "labels": axis.labels,
            "links": axis.links,
            "partial": axis.partial,
            "datasets": [
                {
                    "label": name,
                    "data": [_money_number(amount) for amount in cost],
                    "backgroundColor": colour(name),
                }
                for name, cost in zip(shown, costs, strict=True)
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )


def _stacked_cost_cell(sums: Sums | None, cost: Decimal | None) -> Cell:
    """A series' cost in one bucket; nothing at all when it has no generations there."""
    return Cell(NOTHING if sums is None else format_usd(cost), cost)


def requests_over_time(axis: TimeAxis, totals: list[Totals]) -> Chart:
    """`totals` per bucket of the axis (`bucket_totals`)."""
    grand = sum_totals(totals)
    return Chart(
        slug="requests-over-time",
        title="Requests over time",
        columns=[axis.heading, "Requests", "Unknown-cost requests", "Output tokens"],
        rows=axis.rows(
            [
                [
                    Cell(format_count(bucket.requests), bucket.requests),
                    Cell(format_count(bucket.unknown_cost_requests), bucket.unknown_cost_requests),
                    Cell(format_count(bucket.output_tokens), bucket.output_tokens),
                ]
                for bucket in totals
            ]
        ),
        data={
            "type": "line",
            "counts": True,
            "labels": axis.labels,
            "links": axis.links,
            "partial": axis.partial,
            "datasets": [
                {
                    "label": "Requests",
                    "data": [bucket.requests for bucket in totals],
                    "backgroundColor": "var(--series-1)",
                }
            ],
        },
        total_cost=grand.cost,
        total_requests=grand.requests,
    )


def tokens_chart(by_model: dict[object, Totals], links: Links) -> Chart:
    ordered = sorted(by_model.items(), key=lambda item: -(item[1].input_tokens + item[1].output_tokens))
    names = [str(name) or "unknown" for name, _ in ordered]
    urls = [links(model=name) for name, _ in ordered]
    return Chart(
        slug="tokens-by-model",
        title="Input and output tokens by model",
        columns=["Model", "Requests", "Input tokens", "Output tokens"],
        rows=[
            Row(
                label=name,
                link=url,
                cells=[
                    Cell(format_count(t.requests), t.requests),
                    Cell(format_count(t.input_tokens), t.input_tokens),
                    Cell(format_count(t.output_tokens), t.output_tokens),
                ],
            )
            for name, url, (_, t) in zip(names, urls, ordered, strict=True)
        ],
        data={
            "type": "bar",
            "counts": True,
            "stacked": True,
            "horizontal": True,
            "labels": names,
            "links": urls,
            "datasets": [
                {
                    "label": label,
                    "data": [getattr(t, attr) for _, t in ordered],
                    "backgroundColor": TOKEN_COLOURS[label],
                }
                for label, attr in (("Input tokens", "input_tokens"), ("Output tokens", "output_tokens"))
            ],
        },
        total_requests=sum_totals(by_model.values()).requests,
        total_cost=sum_totals(by_model.values()).cost,
    )
