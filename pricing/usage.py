"""The only module of `pricing` that reads generations: through the public selector layer
(`generations.analytics.queries`: `source_of`, `Source.rows()`, `totals_by`, `bin_counts_by`) and one
grouped query of its own.

Why a query of its own for the cost check: the rollups sum input and output tokens over every row,
but a cost check needs them over the rows whose tokens and cost are all known, per price period, and
the per-generation gap test needs each row's tokens times the price in force at its time. So one
grouped query by model, price period and BYOK flag does it in the database: the price period is a
CASE over (model, time range), the expected cost of a row is computed in SQL only to count and list
the rows over the tolerance; the totals are sums of integers, multiplied by exact prices in Python.
What-if and the alternatives need only token sums per model, which the rollups have (`totals_by`).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Abs, Cast

from generations.analytics.filters import DashboardFilters
from generations.analytics.queries import (
    FilterChoices,
    Source,
    Totals,
    bin_counts_by,
    filter_choices,
    key_labels,
    source_of,
    totals_by,
)

NOT_IN_CATALOGUE = -1
# Tokens times a price can pass 64 bits for absurd stored counts: numeric on PostgreSQL (exact,
# never "bigint out of range"); on SQLite the cast keeps integers (a float only past 9.2 × 10¹⁸).
_WIDE = DecimalField(max_digits=38, decimal_places=0)


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
    """The grouped query's row: generations of one model, price period and BYOK flag."""

    model: str
    period: int
    is_byok: bool | None
    requests: int
    cost_unknown: int
    tokens_unknown: int
    checked: int
    input_tokens: int
    output_tokens: int
    charged_pico: int
    flagged: int


def source(filters: DashboardFilters) -> Source:
    return source_of(filters)


def models_in(filters: DashboardFilters) -> list[str]:
    """The models with generations in the selection (from the rollups)."""
    return sorted({model for (model,) in totals_by(source(filters), ["model"])})


def _in_period(period: Period) -> Q:
    condition = Q(model=period.model_id)
    if period.start is not None:
        condition &= Q(occurred_at__gte=period.start)
    if period.end is not None:
        condition &= Q(occurred_at__lt=period.end)
    return condition


def _known() -> Q:
    return Q(cost_pico__isnull=False, input_tokens__isnull=False, output_tokens__isnull=False)


def _with_expected(rows: QuerySet, periods: Sequence[Period]) -> QuerySet:
    """Rows annotated with `period` (NOT_IN_CATALOGUE when none), `expected_pico` (for checkable
    periods) and `gap_pico` = |charged − expected|."""
    period = Case(*(When(_in_period(p), then=Value(p.index)) for p in periods), default=Value(NOT_IN_CATALOGUE))
    expected = Case(
        *(
            When(
                _in_period(p),
                then=Cast("input_tokens", _WIDE) * p.prompt_pico
                + Cast("output_tokens", _WIDE) * p.completion_pico
                + p.request_pico,
            )
            for p in periods
            if p.checkable
        ),
        default=None,
        output_field=_WIDE,
    )
    return rows.annotate(period=period, expected_pico=expected).annotate(
        gap_pico=Abs(F("cost_pico") - F("expected_pico"))
    )


def _over(tolerance: Tolerance) -> Q:
    # Both: a gap of a few pico-dollars on a tiny call is rounding, 5 % of a big one is real.
    return _known() & Q(gap_pico__gt=tolerance.pico) & Q(gap_pico__gt=F("expected_pico") * tolerance.percent / 100)


SUM_PREFIX = "sum_"  # keeps aggregate names apart from the columns they sum


def _measures(tolerance: Tolerance) -> dict:
    known = _known()
    return {
        "requests": Count("id"),
        "cost_unknown": Count("id", filter=Q(cost_pico__isnull=True)),
        "tokens_unknown": Count(
            "id", filter=Q(cost_pico__isnull=False) & (Q(input_tokens__isnull=True) | Q(output_tokens__isnull=True))
        ),
        "checked": Count("id", filter=known),
        "input_tokens": Sum("input_tokens", filter=known),
        "output_tokens": Sum("output_tokens", filter=known),
        "charged_pico": Sum("cost_pico", filter=known),
        "flagged": Count("id", filter=_over(tolerance)),
    }


def usage_by_period(filters: DashboardFilters, periods: Sequence[Period], tolerance: Tolerance) -> list[PeriodUsage]:
    """The one grouped query of the cost check."""
    rows = (
        _with_expected(source(filters).rows(), periods)
        .values("model", "period", "is_byok")
        .annotate(**{SUM_PREFIX + name: measure for name, measure in _measures(tolerance).items()})
        .order_by()
    )
    # PostgreSQL sums bigints as numeric: back to int. An empty sum is NULL.
    return [
        PeriodUsage(
            model=row["model"],
            period=row["period"],
            is_byok=row["is_byok"],
            **{name: int(row[SUM_PREFIX + name] or 0) for name in _measures(tolerance)},
        )
        for row in rows
    ]


@dataclass(frozen=True)
class FlaggedGeneration:
    generation_id: str
    occurred_at: datetime
    model: str
    is_byok: bool | None
    input_tokens: int
    output_tokens: int
    charged_pico: int
    expected_pico: int


def flagged_generations(
    filters: DashboardFilters, periods: Sequence[Period], tolerance: Tolerance, *, limit: int | None
) -> Iterator[FlaggedGeneration]:
    """The generations over the tolerance, largest gap first."""
    rows = (
        _with_expected(source(filters).rows(), periods)
        .filter(_over(tolerance))
        .order_by("-gap_pico", "-id")
        .values_list(
            "generation_id",
            "occurred_at",
            "model",
            "is_byok",
            "input_tokens",
            "output_tokens",
            "cost_pico",
            "expected_pico",
        )
    )
    for row in rows[:limit] if limit is not None else rows.iterator(chunk_size=2000):
        *head, expected = row
        yield FlaggedGeneration(*head, expected_pico=int(expected))


def token_totals_by_model(filters: DashboardFilters) -> dict[str, Totals]:
    """Requests, tokens and charges per model (the rollups, through `totals_by`)."""
    return {model: totals for (model,), totals in totals_by(source(filters), ["model"]).items()}


def observed_speed_bins(filters: DashboardFilters) -> dict[str, dict[tuple, dict[int, int]]]:
    """Latency and throughput histograms per model, for percentiles."""
    return bin_counts_by(source(filters), ["model"], ("latency", "throughput"))


def choices() -> FilterChoices:
    """The filter form's choices, as the dashboard offers them."""
    return filter_choices(key_labels())
