"""GET /metrics: the stored figures in Prometheus's text format, through prometheus_client.

A custom collector reads everything afresh on each scrape (nothing is kept between scrapes):
totals since the first stored generation from the rollups (`figures.py`), the fetch queue, the
worker, and budgets.

Money: prometheus_client writes every value through `float()` (and Prometheus stores float64), so a
cost is handed over as the float nearest the exact Decimal sum. Its text is that exact sum whenever
it has at most 15 significant digits (up to $999,999,999.999999 to the micro-dollar); beyond that it
is within one part in 10¹⁵ of it. The exact figure is the read API's (/api/v1/summary).
"""

from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from generations.display import key_name
from generations.money import from_pico
from monitoring.figures import BIN_RATIO, Totals, all_time_bins, all_time_totals, key_labels, sum_totals
from monitoring.selectors import budget_figures, queue_health

OTHER = "other"
SPEND_LABELS = ["model", "provider", "key", "key_name", "team", "byok"]
HISTOGRAM_LABELS = ["model", "provider"]
# kind (as the analytics layer names it) → metric name, help, unit scale of the bin edges
HISTOGRAMS = {
    "latency": ("fastrouter_latency_seconds", "Generation latency (from the fixed log bins).", 1 / 1000),
    "throughput": ("fastrouter_output_tokens_per_second", "Output tokens per second (from the fixed log bins).", 1),
}


def _usd(pico: int) -> float:
    return float(from_pico(pico))  # the nearest float to the exact sum: see the module's docstring


def _labelled_keys(groups: dict[tuple, Totals], cap: int) -> set[str]:
    """The `cap` keys with the highest cost (then requests), which keep a label of their own."""
    per_key: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (_model, _provider, key, _byok), totals in groups.items():
        per_key[key][0] += totals.cost_pico
        per_key[key][1] += totals.requests
    ranked = sorted(per_key, key=lambda key: (-per_key[key][0], -per_key[key][1], key))
    return set(ranked[:cap])


def _spend_rows() -> dict[tuple, Totals]:
    """Totals per label set, keys beyond METRICS_MAX_KEYS summed under key="other"."""
    groups = all_time_totals(["model", "provider", "api_key_hash", "is_byok"])
    labelled = _labelled_keys(groups, settings.METRICS_MAX_KEYS)
    labels = key_labels()
    rows: dict[tuple, list[Totals]] = defaultdict(list)
    for (model, provider, key, byok), totals in groups.items():
        label = labels.get(key)
        team = label.team if label else ""
        if key in labelled:
            names = (model, provider, key, key_name(key, labels), team)
        else:
            names = (model, provider, OTHER, OTHER, team)
        rows[(*names, "true" if byok else "false")].append(totals)
    return {names: sum_totals(parts) for names, parts in rows.items()}


class FastRouterCollector(Collector):
    def collect(self) -> Iterator:
        yield from self._spend()
        yield from self._histograms()
        yield from self._queue()
        yield from self._budgets()

    def _spend(self) -> Iterator:
        families = {
            "cost": CounterMetricFamily(
                "fastrouter_cost_usd", "Cost in USD of generations of known cost.", labels=SPEND_LABELS
            ),
            "requests": CounterMetricFamily("fastrouter_requests", "Stored generations.", labels=SPEND_LABELS),
            "unpriced": CounterMetricFamily(
                "fastrouter_unpriced_requests", "Stored generations of unknown cost.", labels=SPEND_LABELS
            ),
            "input": CounterMetricFamily("fastrouter_input_tokens", "Input (prompt) tokens.", labels=SPEND_LABELS),
            "output": CounterMetricFamily(
                "fastrouter_output_tokens", "Output (completion) tokens.", labels=SPEND_LABELS
            ),
        }
        for names, totals in sorted(_spend_rows().items()):
            families["cost"].add_metric(names, _usd(totals.cost_pico))
            families["requests"].add_metric(names, totals.requests)
            families["unpriced"].add_metric(names, totals.unknown_cost_requests)
            families["input"].add_metric(names, totals.input_tokens)
            families["output"].add_metric(names, totals.output_tokens)
        yield from families.values()

    def _histograms(self) -> Iterator:
        bins = all_time_bins(HISTOGRAM_LABELS, tuple(HISTOGRAMS))
        for kind, (name, help_text, scale) in HISTOGRAMS.items():
            family = HistogramMetricFamily(name, help_text, labels=HISTOGRAM_LABELS)
            groups = bins.get(kind, {})
            # One set of `le` edges for every series, so `sum by (le)` across models is a histogram too.
            indexes = sorted({index for counts in groups.values() for index in counts})
            for group, counts in sorted(groups.items()):
                cumulative, buckets = 0, []
                for index in indexes:
                    cumulative += counts.get(index, 0)
                    # Bin i holds [ratio**i, ratio**(i+1)): its upper edge is the bucket's `le`.
                    buckets.append((repr(BIN_RATIO ** (index + 1) * scale), cumulative))
                buckets.append(("+Inf", cumulative))
                # No _sum: the bins keep counts, not the values, and a made-up sum would mislead.
                family.add_metric(list(group), buckets, sum_value=None)
            yield family

    def _queue(self) -> Iterator:
        health = queue_health(now=timezone.now())
        ids = GaugeMetricFamily("fastrouter_queue_ids", "Ids in the fetch queue by state.", labels=["state"])
        for state, count in health.ids_by_state.items():
            ids.add_metric([state], count)
        yield ids
        yield GaugeMetricFamily(
            "fastrouter_queue_oldest_queued_age_seconds",
            "Age of the oldest queued id (0 when none is queued).",
            value=health.oldest_queued_age_seconds or 0,
        )
        paused = GaugeMetricFamily(
            "fastrouter_worker_paused",
            "1 when fetching is paused for that reason: FastRouter rejected the key (401), a 429's "
            "Retry-After, or no fetch worker has reported.",
            labels=["reason"],
        )
        paused.add_metric(["auth_failed"], int(health.auth_failed))
        paused.add_metric(["rate_limited"], int(health.rate_limited_seconds > 0))
        paused.add_metric(["no_worker_seen"], int(not health.worker_seen))
        yield paused
        yield GaugeMetricFamily(
            "fastrouter_rate_limited_seconds_remaining",
            "Seconds the shared FastRouter request budget stays paused by a 429.",
            value=health.rate_limited_seconds,
        )

    def _budgets(self) -> Iterator:
        families = {
            "amount": GaugeMetricFamily("fastrouter_budget_amount_usd", "Budget amount per period.", labels=["budget"]),
            "spent": GaugeMetricFamily(
                "fastrouter_budget_spent_usd", "Spent in the current period.", labels=["budget"]
            ),
            "forecast": GaugeMetricFamily(
                "fastrouter_budget_forecast_usd", "Forecast spend at the end of the period.", labels=["budget"]
            ),
        }
        for budget in budget_figures(now=timezone.now()):
            families["amount"].add_metric([budget.name], _usd(budget.amount_pico))
            families["spent"].add_metric([budget.name], _usd(budget.spent_pico))
            families["forecast"].add_metric([budget.name], _usd(budget.forecast_pico))
        yield from families.values()


def metrics_text() -> bytes:
    """One scrape: a fresh registry holding only our collector (no process metrics of this worker)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FastRouterCollector())
    return generate_latest(registry)
