"""The cost check and the what-if: catalogue prices against the stored generations' figures.

Every generation figure comes from `pricing/usage.py`; money is summed as integers (tokens, pico-dollar
prices) and made a `Decimal` once, so each table and its CSV add up exactly.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from itertools import pairwise

from django.conf import settings

from generations.analytics.filters import DashboardFilters, ListCursor
from generations.analytics.histograms import percentile
from generations.analytics.queries import exact
from generations.money import InUsd, from_pico
from pricing import usage
from pricing.models import CatalogueModel, CatalogueSync, ModelPrice
from pricing.usage import FlaggedGeneration, FlaggedPage, Period, Tolerance

# The drill-down list of generations over the tolerance: a page of at most this many, found among
# at most FLAGGED_SCAN of the newest checked generations after its cursor (bounded work at any
# size: ~200 ms at worst, when none of them is flagged); the Cost check page shows the first ones
# found among fewer, so it stays within its 300 ms.
FLAGGED_SHOWN = 25
FLAGGED_SCAN = 10_000
FLAGGED_SCAN_ON_CHECK = 2_000
TOP_MODELS = 5
ALTERNATIVES_PER_MODEL = 3


def tolerance() -> Tolerance:
    # Through str: the setting's decimal text, never a binary fraction of it.
    return Tolerance(
        percent=Decimal(str(settings.COST_CHECK_TOLERANCE_PERCENT)), usd=Decimal(str(settings.COST_CHECK_TOLERANCE_USD))
    )


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else None


@dataclass
class Gap:
    """Checked generations of one group: what FastRouter charged against the catalogue's price."""

    label: str
    checked: int = 0
    charged_pico: int = 0
    expected_pico: int = 0

    def add(self, other: "Gap") -> None:
        self.checked += other.checked
        self.charged_pico += other.charged_pico
        self.expected_pico += other.expected_pico

    charged = InUsd("charged_pico")
    expected = InUsd("expected_pico")

    @property
    def difference(self) -> Decimal:
        return from_pico(self.charged_pico - self.expected_pico)

    @property
    def difference_percent(self) -> Decimal | None:
        return percent_of(self.difference, self.expected)


@dataclass
class Unchecked:
    not_in_catalogue: int = 0
    price_unknown: int = 0  # the catalogue's prompt or completion price is absent or variable
    cost_unknown: int = 0
    tokens_unknown: int = 0

    @property
    def total(self) -> int:
        return self.not_in_catalogue + self.price_unknown + self.cost_unknown + self.tokens_unknown


@dataclass(frozen=True)
class PriceChange:
    model: str
    at: datetime
    before: ModelPrice
    after: ModelPrice


@dataclass
class CostCheck:
    filters: DashboardFilters
    tolerance: Tolerance
    platform: Gap
    byok: Gap
    models: list[Gap]  # platform-key generations per model, largest gap first
    byok_models: list[Gap]
    unchecked: Unchecked
    byok_unchecked: Unchecked
    flagged: FlaggedPage  # the newest generations over the tolerance: the first page of the drill-down
    price_changes: list[PriceChange]
    last_sync: CatalogueSync | None
    periods: dict[int, Period] = field(repr=False)


def price_histories(model_ids: list[str]) -> dict[str, list[ModelPrice]]:
    """Each model's price rows, oldest first (one query)."""
    rows = (
        ModelPrice.objects.filter(model__model_id__in=model_ids)
        .select_related("model")
        .order_by("model__model_id", "first_seen_at")
    )
    by_model: dict[str, list[ModelPrice]] = defaultdict(list)
    for row in rows:
        by_model[row.model.model_id].append(row)
    return by_model


def price_periods(histories: dict[str, list[ModelPrice]]) -> list[Period]:
    """Every price period of these price histories: each row from its first sighting to the next row's."""
    periods = []
    for model_id, history in histories.items():
        for position, row in enumerate(history):
            periods.append(
                Period(
                    index=len(periods),
                    model_id=model_id,
                    start=row.first_seen_at if position else None,
                    end=history[position + 1].first_seen_at if position + 1 < len(history) else None,
                    prompt_pico=None if row.prompt_variable else row.prompt_pico,
                    completion_pico=None if row.completion_variable else row.completion_pico,
                    request_pico=0 if row.request_variable or row.request_pico is None else row.request_pico,
                )
            )
    return periods


def expected_pico(period: Period, *, requests: int, input_tokens: int, output_tokens: int) -> int:
    assert period.checkable
    return input_tokens * period.prompt_pico + output_tokens * period.completion_pico + requests * period.request_pico


def _price_changes(histories: dict[str, list[ModelPrice]], start: datetime, end: datetime) -> list[PriceChange]:
    return [
        PriceChange(model_id, after.first_seen_at, before, after)
        for model_id, history in histories.items()
        for before, after in pairwise(history)
        if start <= after.first_seen_at < end
    ]


def _gaps(filters: DashboardFilters, periods: dict[int, Period]) -> tuple[dict, dict]:
    """({BYOK: {model: Gap}}, {BYOK: Unchecked}): the checked generations' sums (rollups) re-priced."""
    gaps: dict[bool, dict[str, Gap]] = {False: {}, True: {}}
    unchecked = {False: Unchecked(), True: Unchecked()}
    for row in usage.usage_by_period(filters, list(periods.values())):
        byok = row.is_byok is True
        skipped = unchecked[byok]
        period = periods.get(row.period)
        if period is None:
            skipped.not_in_catalogue += row.requests
            continue
        if not period.checkable:
            skipped.price_unknown += row.requests
            continue
        skipped.cost_unknown += row.cost_unknown
        skipped.tokens_unknown += row.tokens_unknown
        if not row.checked:
            continue
        gaps[byok].setdefault(row.model, Gap(row.model)).add(
            Gap(
                row.model,
                checked=row.checked,
                charged_pico=row.charged_pico,
                expected_pico=expected_pico(
                    period, requests=row.checked, input_tokens=row.input_tokens, output_tokens=row.output_tokens
                ),
            )
        )
    return gaps, unchecked


def cost_check(filters: DashboardFilters) -> CostCheck:
    limits = tolerance()
    histories = price_histories(usage.models_in(filters))
    periods = {period.index: period for period in price_periods(histories)}
    gaps, unchecked = _gaps(filters, periods)
    totals = {}
    for byok, by_model in gaps.items():
        total = Gap("All models")
        for gap in by_model.values():
            total.add(gap)
        totals[byok] = total
    return CostCheck(
        filters=filters,
        tolerance=limits,
        platform=totals[False],
        byok=totals[True],
        models=_largest_first(gaps[False]),
        byok_models=_largest_first(gaps[True]),
        unchecked=unchecked[False],
        byok_unchecked=unchecked[True],
        flagged=usage.flagged_page(
            filters, list(periods.values()), limits, after=None, limit=FLAGGED_SHOWN, scan=FLAGGED_SCAN_ON_CHECK
        ),
        price_changes=_price_changes(histories, filters.start, filters.end),
        last_sync=CatalogueSync.objects.first(),
        periods=periods,
    )


@dataclass(frozen=True)
class ModelRate:
    """A model's cost per 1K tokens as charged, against the catalogue's list price.

    FastRouter charges one amount per call, not an input and an output part, so the effective
    prices are the list prices scaled by what was charged over what they give for the same calls
    (the cost check's sums over the model's checked platform-key generations)."""

    model: str
    in_catalogue: bool  # with a token price in force now
    list_input_per_1k: Decimal | None
    list_output_per_1k: Decimal | None
    input_per_1k: Decimal | None  # None: no checked platform-key generation in the selection
    output_per_1k: Decimal | None
    difference_percent: Decimal | None  # charged against the list price (+: dearer than the list)
    far_percent: Decimal

    @classmethod
    def of(cls, model: str, price: Period | None, gap: Gap | None, far_percent: Decimal) -> "ModelRate":
        lists = [None if price is None else from_pico(pico * 1000) for pico in price_pair(price)]
        scaled = bool(gap and gap.expected_pico)
        charged = [exact(amount * gap.charged_pico / gap.expected_pico) if scaled else None for amount in lists]
        difference = gap.difference_percent if gap and price else None
        return cls(model, price is not None, *lists, *charged, difference, far_percent)

    @property
    def far(self) -> bool:
        return self.difference_percent is not None and abs(self.difference_percent) > self.far_percent


def model_rates(filters: DashboardFilters, models: list[str]) -> list[ModelRate]:
    """The dashboard's model table: each model's effective cost per 1K input and output tokens and
    its list price, in the order given (two queries: the price histories, the rollup sums); [] when
    none of them is in the catalogue."""
    histories = price_histories(models)
    if not histories:  # no catalogue (never synced) or none of these models in it: no table
        return []
    periods = {period.index: period for period in price_periods(histories)}
    gaps, _ = _gaps(filters, periods)
    now = {period.model_id: period for period in periods.values() if period.end is None and period.checkable}
    far = Decimal(str(settings.LIST_PRICE_FAR_PERCENT))
    return [ModelRate.of(model, now.get(model), gaps[False].get(model), far) for model in models]


def price_pair(price: Period | None) -> tuple[int | None, int | None]:
    """The prompt and completion prices per token (pico-dollars) of a price period, if any."""
    return (None, None) if price is None else (price.prompt_pico, price.completion_pico)


def _largest_first(gaps: dict[str, Gap]) -> list[Gap]:
    return sorted(gaps.values(), key=lambda gap: (-abs(gap.charged_pico - gap.expected_pico), gap.label))


def flagged_rows(filters: DashboardFilters) -> Iterator[FlaggedGeneration]:
    """Every generation over the tolerance (the flagged CSV)."""
    periods = price_periods(price_histories(usage.models_in(filters)))
    return usage.flagged_generations(filters, periods, tolerance())


def flagged_page(filters: DashboardFilters, after: ListCursor | None) -> FlaggedPage:
    """A page of the drill-down list: generations over the tolerance, newest first."""
    periods = price_periods(price_histories(usage.models_in(filters)))
    return usage.flagged_page(filters, periods, tolerance(), after=after, limit=FLAGGED_SHOWN, scan=FLAGGED_SCAN)


# --------------------------------------------------------------------------- what-if


def current_prices() -> dict[str, Period]:
    """Each catalogue model's price in force now, when its token prices are known."""
    latest: dict[str, Period] = {}
    for period in price_periods(price_histories(list(CatalogueModel.objects.values_list("model_id", flat=True)))):
        if period.end is None and period.checkable:
            latest[period.model_id] = period
    return latest


@dataclass
class Repriced:
    model: str
    requests: int
    input_tokens: int
    output_tokens: int
    charged_pico: int
    repriced_pico: int

    charged = InUsd("charged_pico")
    repriced = InUsd("repriced_pico")

    @property
    def saving(self) -> Decimal:
        return from_pico(self.charged_pico - self.repriced_pico)

    @property
    def saving_percent(self) -> Decimal | None:
        return percent_of(self.saving, self.charged)


@dataclass
class Alternative:
    model: str
    context_length: int | None
    repriced: Repriced
    p50_latency_ms: float | None
    p50_tokens_per_second: float | None


@dataclass
class WhatIf:
    filters: DashboardFilters
    target: str
    target_price: Period | None
    rows: list[Repriced]
    total: Repriced
    unknown_cost_requests: int
    targets: list[str]
    alternatives: dict[str, list[Alternative]]


def _repriced(model: str, totals, price: Period) -> Repriced:
    requests, inputs, outputs = totals.requests, totals.input_tokens, totals.output_tokens
    return Repriced(
        model=model,
        requests=requests,
        input_tokens=inputs,
        output_tokens=outputs,
        charged_pico=totals.cost_pico,
        repriced_pico=expected_pico(price, requests=requests, input_tokens=inputs, output_tokens=outputs),
    )


def what_if(filters: DashboardFilters, target: str) -> WhatIf:
    """The selection's token counts at `target`'s prices (its current catalogue price), and the
    cheaper catalogue alternatives of the top models."""
    prices = current_prices()
    by_model = usage.token_totals_by_model(filters)
    price = prices.get(target)
    rows = [_repriced(model, totals, price) for model, totals in sorted(by_model.items())] if price else []
    total = Repriced("All models", 0, 0, 0, 0, 0)
    for row in rows:
        for name in ("requests", "input_tokens", "output_tokens", "charged_pico", "repriced_pico"):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return WhatIf(
        filters=filters,
        target=target,
        target_price=price,
        rows=rows,
        total=total,
        unknown_cost_requests=sum(totals.unknown_cost_requests for totals in by_model.values()),
        targets=sorted(prices),
        alternatives=_alternatives(filters, by_model, prices),
    )


def _alternatives(filters: DashboardFilters, by_model: dict, prices: dict[str, Period]) -> dict[str, list[Alternative]]:
    contexts = dict(CatalogueModel.objects.values_list("model_id", "context_length"))
    # Observed speed of every model over the same range, whatever the model filter.
    bins = usage.observed_speed_bins(replace(filters, model=""))
    top = sorted(by_model.items(), key=lambda item: -item[1].cost_pico)[:TOP_MODELS]
    alternatives = {}
    for model, totals in top:
        needed = contexts.get(model) or 0
        options = [
            _repriced(candidate, totals, price)
            for candidate, price in prices.items()
            if candidate != model and (contexts.get(candidate) or 0) >= needed
        ]
        cheaper = sorted(
            (option for option in options if option.repriced_pico < totals.cost_pico), key=lambda o: o.repriced_pico
        )
        alternatives[model] = [
            Alternative(
                model=option.model,
                context_length=contexts.get(option.model),
                repriced=option,
                p50_latency_ms=_p50(bins.get("latency", {}).get((option.model,))),
                p50_tokens_per_second=_p50(bins.get("throughput", {}).get((option.model,))),
            )
            for option in cheaper[:ALTERNATIVES_PER_MODEL]
        ]
    return alternatives


def _p50(counts: dict[int, int] | None) -> float | None:
    return percentile(counts, 0.5) if counts else None
