"""The dashboard: a declarative list of charts (`CHARTS`) over one selection's ingredients,
each read once and only when a chart needs it, plus the headline figures against the previous period.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.urls import reverse
from django.utils import timezone

from generations.analytics.charts import (
    KEY_TYPE_COLOURS,
    LATENCY,
    MIN_REQUESTS,
    NO_TEAM,
    NO_TEAMS_NOTICE,
    TEAM_TAG_NOTICE,
    THROUGHPUT,
    TIME_CHART_MEASURES,
    Chart,
    Links,
    Spread,
    TimeAxis,
    bucket_totals,
    by_cost,
    cost_breakdown,
    cost_over_time,
    percentile_chart,
    requests_over_time,
    tag_breakdown,
    time_axis,
    tokens_chart,
)
from generations.analytics.filters import DashboardFilters
from generations.analytics.histograms import BIN_PRECISION, percentile
from generations.analytics.queries import (
    COST_MEASURES,
    DIMENSIONS,
    FilterChoices,
    Sums,
    Totals,
    bin_counts_by,
    filter_choices,
    key_labels,
    merge_bins,
    rollup,
    series_by,
    source_of,
    sum_totals,
    tag_keys,
    tag_totals_by,
    totals_by,
    totals_less,
)
from generations.display import (
    NOTHING,
    format_count,
    format_credits,
    format_latency,
    format_same_bin,
    format_share,
    format_usd,
    key_name,
    latency_unit,
)
from generations.models import KeyLabel

# Which way a figure should move: cost and latency falling is good, volume (requests, tokens,
# the BYOK share) is neither good nor bad, so its arrows stay neutral.
LOWER_IS_BETTER, NEUTRAL = "down", ""


@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    previous: str
    change: float | None = None
    hint: str = ""
    better: str = NEUTRAL  # the direction that is good news: "down", "up", or neutral
    same_bin: str = ""  # both percentiles in one histogram bin: this text, not a false 0.0 %
    faint: str = ""  # why the value is too thin to trust (too few requests for a p95), greyed

    @property
    def change_text(self) -> str:
        if self.same_bin:
            return self.same_bin
        return "" if self.change is None else f"{abs(self.change):.1%}"

    @property
    def direction(self) -> str:
        if self.same_bin or self.change is None or abs(self.change) < 0.0005:
            return ""
        return "up" if self.change > 0 else "down"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "" if self.same_bin else "=")

    @property
    def meaning(self) -> str:
        """ "good", "bad" or "neutral": the colour of the change, by what the figure measures."""
        if not self.direction or self.better == NEUTRAL:
            return "neutral"
        return "good" if self.direction == self.better else "bad"


@dataclass(frozen=True)
class Dashboard:
    filters: DashboardFilters
    totals: Totals
    previous_totals: Totals
    figures: list[Figure]
    charts: list[Chart]
    choices: FilterChoices
    bucket_count: int = 0
    charts_by_slug: dict[str, Chart] = field(default_factory=dict)
    # The tag names the cost-by-tag chart offers (most tagged first) and the one it shows.
    tag_keys: list[str] = field(default_factory=list)
    tag_key: str = ""

    @property
    def is_empty(self) -> bool:
        return self.totals.requests == 0

    @property
    def tag_picker_params(self) -> list[tuple[str, str]]:
        """The selection as hidden inputs of the cost-by-tag chart's tag name picker (all but its own)."""
        return self.filters.param_pairs(tag_key="")

    @property
    def split_queries(self) -> dict[str, str]:
        return {"model": self.filters.querystring(split=""), "provider": self.filters.querystring(split="provider")}


def _change(current: float | Decimal | None, previous: float | Decimal | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return float((Decimal(str(current)) - Decimal(str(previous))) / Decimal(str(previous)))


def _figures(totals: Totals, previous: Totals, latency: dict[int, int], previous_latency: dict[int, int]) -> list:
    *cost_and_volume, byok_share = _compare(totals, previous)
    figures = [*cost_and_volume, *_latency_figures(totals, latency, previous_latency), byok_share]
    if previous.requests:
        return figures
    # Nothing to compare with: say so once instead of ten "unknown"s.
    return [replace(figure, previous="no data", change=None, same_bin="") for figure in figures]


def _compare(totals: Totals, previous: Totals) -> list:
    def figure(label: str, current: Any, before: Any, show: Callable[[Any], str], hint: str = "", **more) -> Figure:
        # With no generations at all a figure has no value (an average, a percentile, a share):
        # nothing to show, rather than an unknown value.
        value = NOTHING if current is None and not totals.requests else show(current)
        change = _change(current, before)
        return Figure(label=label, value=value, previous=show(before), change=change, hint=hint, **more)

    unknown = totals.unknown_cost_requests
    cost_hint = f"{unknown:,} generations of unknown cost not included" if unknown else ""
    cheaper = {"better": LOWER_IS_BETTER}
    return [
        figure("Total cost", totals.cost, previous.cost, format_usd, cost_hint, **cheaper),
        figure(
            "Credits used", totals.credits, previous.credits, format_credits, "FastRouter credits: 1 = $1", **cheaper
        ),
        figure("Requests", totals.requests, previous.requests, format_count),
        figure("Input tokens", totals.input_tokens, previous.input_tokens, format_count),
        figure("Output tokens", totals.output_tokens, previous.output_tokens, format_count),
        figure(
            "Avg cost / request",
            totals.average_cost,
            previous.average_cost,
            format_usd,
            "requests of known cost",
            **cheaper,
        ),
        figure(
            "Cost / 1K tokens",
            totals.cost_per_1k_tokens,
            previous.cost_per_1k_tokens,
            format_usd,
            "input + output",
            **cheaper,
        ),
        figure("BYOK share", totals.byok_share, previous.byok_share, format_share, "of requests"),
    ]


def _latency_figures(totals: Totals, latency: dict[int, int], previous_latency: dict[int, int]) -> list[Figure]:
    """p50 and p95 latency: one unit per card, the requests they are taken from, "same bin" when
    both periods land in one histogram bin, greyed when too few requests make a p95."""
    measured = sum(latency.values())
    figures = []
    for name, fraction in (("p50", 0.5), ("p95", 0.95)):
        current, before = percentile(latency, fraction), percentile(previous_latency, fraction)
        unit = latency_unit(current, before)
        enough = measured >= MIN_REQUESTS[name]
        figures.append(
            Figure(
                label=f"{name} latency",
                # No generations at all: no value; generations, none timed: an unknown one.
                value=NOTHING if current is None and not totals.requests else format_latency(current, unit),
                previous=format_latency(before, unit),
                change=_change(current, before),
                hint=f"of {format_count(measured)} request{'s' if measured != 1 else ''} measured" if measured else "",
                better=LOWER_IS_BETTER,
                same_bin=format_same_bin(BIN_PRECISION) if current is not None and current == before else "",
                faint="" if enough or not measured else f"too few for a {name} (about {MIN_REQUESTS[name]} needed)",
            )
        )
    return figures


class _Ingredients:
    """What the charts are made of for one selection, each read once and only when a chart needs
    it: a chart's CSV reads what that chart needs, not the whole page."""

    def __init__(self, filters: DashboardFilters, *, raw: bool) -> None:
        self.filters = filters
        self.source = source_of(filters, raw=raw)
        self.links = Links(filters)

    @cached_property
    def series(self) -> dict[tuple, Sums]:
        """Sums per (bucket start, value of the page's split): what the time charts stack. Grouped
        by the split alone, not by every dimension: a 30-day hourly page reads a third fewer rows
        and adds up fewer in Python."""
        filters = self.filters
        return series_by(self.source, filters.bucket, filters.zone, [filters.split], read=TIME_CHART_MEASURES)

    @cached_property
    def bucket_totals(self) -> list[Totals]:
        """The series summed per bucket of the time axis: both time charts show them."""
        return bucket_totals(self.time_axis, self.series)

    @cached_property
    def groups(self) -> dict[tuple, Totals]:
        """Totals per (model, provider, BYOK): one grouped read of the whole range."""
        return totals_by(self.source, DIMENSIONS)

    @cached_property
    def time_axis(self) -> TimeAxis:
        return time_axis(self.filters, self.links, now=timezone.now())

    @cached_property
    def key_groups(self) -> dict[tuple, Totals]:
        """Cost per API key (the other measures 0): the cost by key and by team charts show no
        more, and a 90-day range of per-key rows sums a third faster with a quarter of the columns."""
        return totals_by(self.source, ["api_key_hash"], read=COST_MEASURES)

    @cached_property
    def bins(self) -> dict[str, dict[tuple, dict[int, int]]]:
        return bin_counts_by(self.source, ["model", "provider"], ("latency", "throughput"))

    @cached_property
    def labels(self) -> dict[str, KeyLabel]:
        return key_labels()

    @cached_property
    def total(self) -> Totals:
        return sum_totals(self.groups.values())

    @cached_property
    def tag_keys(self) -> list[str]:
        return tag_keys()

    @cached_property
    def tag_key(self) -> str:
        """The chosen tag name, else the most tagged one; "" when nothing is tagged."""
        return self.filters.tag_key or next(iter(self.tag_keys), "")

    @cached_property
    def by_model(self) -> dict[object, Totals]:
        return rollup(self.groups, lambda g: g[0])

    @cached_property
    def by_provider(self) -> dict[object, Totals]:
        return rollup(self.groups, lambda g: g[1])

    def by(self, dimension: str) -> dict[object, Totals]:
        return self.by_model if dimension == "model" else self.by_provider

    def names_by_cost(self, dimension: str) -> list[str]:
        """The values of "model" or "provider", costliest first: every per-value chart's order."""
        return [str(name) for name, _ in by_cost(self.by(dimension))]


def _cost_by_key(parts: _Ingredients) -> Chart:
    labels = parts.labels
    return cost_breakdown(
        "cost-by-key",
        "Cost by API key",
        "API key",
        rollup(parts.key_groups, lambda g: g[0]),
        label=lambda k: key_name(k, labels),
        link=lambda k: parts.links(key=k),
    )


def _cost_by_team(parts: _Ingredients) -> Chart:
    labels = parts.labels
    by_team = rollup(parts.key_groups, lambda g: labels[g[0]].team if g[0] in labels and labels[g[0]].team else NO_TEAM)
    chart = cost_breakdown(
        "cost-by-team",
        "Cost by team",
        "Team",
        by_team,
        label=str,
        link=lambda k: parts.links(team="" if k == NO_TEAM else k),
    )
    if set(by_team) != {NO_TEAM}:
        return chart
    team_tag = next((name for name in parts.tag_keys if name.lower() == "team"), "")
    if not team_tag:
        return replace(chart, notice=NO_TEAMS_NOTICE)
    return replace(
        chart,
        notice=f"{NO_TEAMS_NOTICE} {TEAM_TAG_NOTICE.format(name=team_tag)}",
        notice_link=f"{reverse('dashboard')}?{parts.filters.querystring(tag_key=team_tag)}#chart-cost-by-tag",
        notice_link_text=f"Cost by “{team_tag}” tag",
    )


def _cost_by_tag(parts: _Ingredients) -> Chart | None:
    """Cost per value of one tag name, the rest "(untagged)": none when no generation has a tag."""
    key = parts.tag_key
    if not key:
        return None
    filtered = dict(parts.filters.tags)
    if key in filtered:  # every generation shown has that one value of the name (or none): no read
        tagged = {} if filtered[key] is None else {filtered[key]: parts.total}
    else:
        tagged = tag_totals_by(parts.source, key)
    return tag_breakdown(
        key,
        tagged,
        totals_less(parts.total, sum_totals(tagged.values())),
        link=lambda value: parts.links(tag=parts.filters.with_tag((key, value))),
    )


def _percentiles_by(spread: Spread, dimension: str) -> Callable[[_Ingredients], Chart]:
    """The percentile chart of `spread` (latency, throughput) by "model" or "provider"."""
    position = {"model": 0, "provider": 1}[dimension]

    def build(parts: _Ingredients) -> Chart:
        return percentile_chart(
            spread,
            dimension,
            merge_bins(parts.bins[spread.kind], lambda g: g[position]),
            names=parts.names_by_cost(dimension),
            link=lambda k: parts.links(**{dimension: k}),
        )

    return build


def _cost_by(dimension: str, kind: str = "bar") -> Callable[[_Ingredients], Chart]:
    def build(parts: _Ingredients) -> Chart:
        return cost_breakdown(
            f"cost-by-{dimension}",
            f"Cost by {dimension}",
            dimension.title(),
            parts.by(dimension),
            kind=kind,
            label=lambda k: k or "unknown",
            link=lambda k: parts.links(**{dimension: k}),
        )

    return build


def _byok_cost(parts: _Ingredients) -> Chart:
    return cost_breakdown(
        "byok-cost",
        "BYOK vs platform-key cost",
        "Key type",
        rollup(parts.groups, lambda g: {True: "BYOK", False: "Platform key"}.get(g[2], "Unknown")),
        kind="doughnut",
        label=str,
        link=lambda k: parts.links(byok={"BYOK": "yes", "Platform key": "no"}.get(str(k), "")),
        colours=lambda k: KEY_TYPE_COLOURS[str(k)],
    )


# The dashboard's charts in page order: slug → how to build it from the ingredients (None: not
# shown for this selection).
CHARTS: dict[str, Callable[[_Ingredients], Chart | None]] = {
    "cost-over-time": lambda parts: cost_over_time(
        parts.filters, parts.time_axis, parts.series, parts.bucket_totals, parts.groups
    ),
    "requests-over-time": lambda parts: requests_over_time(parts.time_axis, parts.bucket_totals),
    "cost-by-model": _cost_by("model"),
    "cost-by-provider": _cost_by("provider", kind="doughnut"),
    "cost-by-key": _cost_by_key,
    "cost-by-team": _cost_by_team,
    "cost-by-tag": _cost_by_tag,
    "latency-by-model": _percentiles_by(LATENCY, "model"),
    "latency-by-provider": _percentiles_by(LATENCY, "provider"),
    "throughput-by-model": _percentiles_by(THROUGHPUT, "model"),
    "throughput-by-provider": _percentiles_by(THROUGHPUT, "provider"),
    "tokens-by-model": lambda parts: tokens_chart(parts.by_model, parts.links),
    "byok-cost": _byok_cost,
}


def dashboard_chart(filters: DashboardFilters, slug: str) -> Chart | None:
    """One chart (for its CSV), reading only what it needs; None for an unknown slug."""
    build = CHARTS.get(slug)
    return build(_Ingredients(filters, raw=False)) if build else None


def dashboard(filters: DashboardFilters, *, raw: bool = False) -> Dashboard:
    """Everything the dashboard page renders, for one selection.

    From the rollups; `raw=True` computes the same from raw rows (the tests compare the two).
    """
    parts = _Ingredients(filters, raw=raw)
    charts = [chart for build in CHARTS.values() if (chart := build(parts)) is not None]
    previous_source = parts.source.shifted(filters.previous.start, filters.previous.end)
    previous = totals_by(previous_source, [])[()]
    previous_latency = bin_counts_by(previous_source, [], ("latency",))["latency"].get((), {})
    latency = parts.bins["latency"]
    totals = sum_totals(parts.groups.values())
    all_latency = merge_bins(latency, lambda g: ())[()] if latency else {}
    return Dashboard(
        filters=filters,
        totals=totals,
        previous_totals=previous,
        figures=_figures(totals, previous, all_latency, previous_latency),
        charts=charts,
        charts_by_slug={chart.slug: chart for chart in charts},
        choices=filter_choices(parts.labels),
        bucket_count=len(parts.time_axis.starts),
        tag_keys=parts.tag_keys,
        tag_key=parts.tag_key,
    )
