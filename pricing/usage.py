"""The only module of `pricing` that reads generations: through the public selector layer
(`generations.analytics.queries`: `source_of`, `Source.rows()`, `totals_by`, `totals_by_span`,
`bin_counts_by`) and a bounded per-row read for the drill-down list.

The cost check's sums come from the rollups: the measures `checked_*` (generations/analytics/
measures.py) sum requests, tokens and charges over the rows whose cost and both token counts are
known, and `totals_by_span` reads them per model and BYOK flag over the range cut at every price
change, so each span lies in one price period; the expected cost is those token sums times the exact
prices, in Python. Only the test "is this one generation over the tolerance" needs each row: the
drill-down list scans a bounded window of the newest rows (`flagged_page`), the CSV all of them.
What-if and the alternatives need only token sums per model (`totals_by`).
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet

from generations.analytics.filters import DashboardFilters, ListCursor
from generations.analytics.queries import (
    FilterChoices,
    Source,
    Totals,
    bin_counts_by,
    filter_choices,
    key_labels,
    source_of,
    totals_by,
    totals_by_span,
)

NOT_IN_CATALOGUE = -1


@dataclass(frozen=True)
class Period:
    """One price period of a catalogue model, as the query needs it."""

    index: int
    model_id: str
    start: datetime | None  # None: from the beginning (the first price seen covers what came before)
    end: datetime | None  # None: still in force
    prompt_pico: int | None
    completion_pico: int | None
    request_pico: int  # an absent per-request price is no per-request charge

    @property
    def checkable(self) -> bool:
        return self.prompt_pico is not None and self.completion_pico is not None


@dataclass(frozen=True)
class Tolerance:
    percent: Decimal
    usd: Decimal

    @property
    def pico(self) -> int:
        return int(self.usd.scaleb(12))


@dataclass
class PeriodUsage:
    """Generations of one model, price period and BYOK flag, summed."""

    model: str
    period: int
    is_byok: bool | None
    requests: int = 0
    cost_unknown: int = 0
    tokens_unknown: int = 0  # cost known, a token count not
    checked: int = 0  # cost and both token counts known
    input_tokens: int = 0  # of the checked generations, as are the two below
    output_tokens: int = 0
    charged_pico: int = 0

    # The measures `add` reads: the others are not summed.
    MEASURES = (
        "requests",
        "priced_requests",
        "checked_requests",
        "checked_input_tokens",
        "checked_output_tokens",
        "checked_cost_pico",
    )

    def add(self, totals: Totals) -> None:
        self.requests += totals.requests
        self.cost_unknown += totals.requests - totals.priced_requests
        self.tokens_unknown += totals.priced_requests - totals.checked_requests
        self.checked += totals.checked_requests
        self.input_tokens += totals.checked_input_tokens
        self.output_tokens += totals.checked_output_tokens
        self.charged_pico += totals.checked_cost_pico


def source(filters: DashboardFilters) -> Source:
    return source_of(filters)


def models_in(filters: DashboardFilters) -> list[str]:
    """The models with generations in the selection (from the rollups)."""
    return sorted({model for (model,) in totals_by(source(filters), ["model"], read=["requests"])})


def _in_force(periods: Sequence[Period], moment: datetime) -> Period | None:
    return next(
        (p for p in periods if (p.start is None or p.start <= moment) and (p.end is None or moment < p.end)), None
    )


def usage_by_period(filters: DashboardFilters, periods: Sequence[Period]) -> list[PeriodUsage]:
    """The cost check's sums per model, price period and BYOK flag, from the rollups: the range is
    cut at every price change inside it, so each span lies in one price period of every model; the
    rollups sum each span's whole quarter hours, raw rows only the minutes around a change."""
    edges = [
        filters.start,
        *sorted({p.start for p in periods if p.start is not None and filters.start < p.start < filters.end}),
        filters.end,
    ]
    by_model: dict[str, list[Period]] = defaultdict(list)
    for period in periods:
        by_model[period.model_id].append(period)
    usage: dict[tuple, PeriodUsage] = {}
    for (span, model, is_byok), totals in totals_by_span(
        source(filters), edges, ["model", "is_byok"], read=PeriodUsage.MEASURES
    ).items():
        period = _in_force(by_model.get(model, ()), edges[span])
        index = NOT_IN_CATALOGUE if period is None else period.index
        usage.setdefault((model, index, is_byok), PeriodUsage(model, index, is_byok)).add(totals)
    return list(usage.values())


@dataclass(frozen=True)
class FlaggedGeneration:
    row_id: int
    generation_id: str
    occurred_at: datetime
    model: str
    is_byok: bool | None
    input_tokens: int
    output_tokens: int
    charged_pico: int
    expected_pico: int


ROW_COLUMNS = ("id", "generation_id", "occurred_at", "model", "is_byok", "input_tokens", "output_tokens", "cost_pico")


class GapTest:
    """Whether one generation is over the tolerance, at the price in force at its time: exact
    integers in Python, on rows read newest first (so a page stops as soon as it has its rows)."""

    def __init__(self, periods: Sequence[Period], tolerance: Tolerance) -> None:
        self.by_model: dict[str, list[Period]] = defaultdict(list)
        for period in periods:
            if period.checkable:
                self.by_model[period.model_id].append(period)
        self.tolerance = tolerance

    def flagged(self, row: tuple) -> FlaggedGeneration | None:
        row_id, generation_id, at, model, is_byok, input_tokens, output_tokens, cost = row
        period = _in_force(self.by_model.get(model, ()), at)
        if period is None:
            return None
        expected = input_tokens * period.prompt_pico + output_tokens * period.completion_pico + period.request_pico
        gap = abs(cost - expected)
        # Both: a gap of a few pico-dollars on a tiny call is rounding, 5 % of a big one is real.
        if gap <= self.tolerance.pico or gap * 100 <= expected * self.tolerance.percent:
            return None
        return FlaggedGeneration(row_id, generation_id, at, model, is_byok, input_tokens, output_tokens, cost, expected)


def _checked_newest_first(filters: DashboardFilters, after: ListCursor | None) -> QuerySet:
    """The selection's generations of known cost and tokens, newest first, after the cursor (older,
    or as old with a smaller id; the redundant bound lets the index scan start at the cursor)."""
    known = Q(cost_pico__isnull=False, input_tokens__isnull=False, output_tokens__isnull=False)
    rows = source(filters).rows().filter(known)
    if after is not None:
        at = after.value
        rows = rows.filter(Q(occurred_at__lte=at) & (Q(occurred_at__lt=at) | Q(occurred_at=at, id__lt=after.id)))
    return rows.order_by("-occurred_at", "-id").values_list(*ROW_COLUMNS)


def flagged_generations(
    filters: DashboardFilters, periods: Sequence[Period], tolerance: Tolerance
) -> Iterator[FlaggedGeneration]:
    """Every generation over the tolerance, newest first (the CSV: a read of the whole selection)."""
    test = GapTest(periods, tolerance)
    for row in _checked_newest_first(filters, None).iterator(chunk_size=2000):
        flagged = test.flagged(row)
        if flagged is not None:
            yield flagged


@dataclass(frozen=True)
class FlaggedPage:
    rows: list[FlaggedGeneration]
    # Where the next page starts (the last row found, or the oldest row looked at), None at the
    # range's start.
    next_cursor: ListCursor | None


def flagged_page(
    filters: DashboardFilters,
    periods: Sequence[Period],
    tolerance: Tolerance,
    *,
    after: ListCursor | None,
    limit: int,
    scan: int,
) -> FlaggedPage:
    """Up to `limit` generations over the tolerance, newest first, among the `scan` newest checked
    generations of the selection after the cursor: bounded work (an index range scan of at most
    `scan` rows, fewer when the page fills first), so the drill-down is as fast on 10M generations
    as on 10k."""
    test = GapTest(periods, tolerance)
    found: list[FlaggedGeneration] = []
    looked_at = 0
    last = None
    for row in _checked_newest_first(filters, after)[:scan].iterator(chunk_size=500):
        looked_at, last = looked_at + 1, row
        flagged = test.flagged(row)
        if flagged is not None:
            found.append(flagged)
            if len(found) == limit:
                return FlaggedPage(found, ListCursor(flagged.occurred_at, flagged.row_id))
    return FlaggedPage(found, ListCursor(last[2], last[0]) if looked_at == scan else None)


def token_totals_by_model(filters: DashboardFilters) -> dict[str, Totals]:
    """Requests, tokens and charges per model (the rollups, through `totals_by`)."""
    return {model: totals for (model,), totals in totals_by(source(filters), ["model"]).items()}


def observed_speed_bins(filters: DashboardFilters) -> dict[str, dict[tuple, dict[int, int]]]:
    """Latency and throughput histograms per model, for percentiles."""
    return bin_counts_by(source(filters), ["model"], ("latency", "throughput"))


def choices() -> FilterChoices:
    """The filter form's choices, as the dashboard offers them."""
    return filter_choices(key_labels())
