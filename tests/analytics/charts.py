"""The dashboard's charts by slug, in page order, as the tests expect them: restated here, not read
from `generations.analytics.charts`, so a chart that disappears or appears fails a test."""

DASHBOARD_CHARTS = [
    "cost-over-time",
    "requests-over-time",
    "cost-by-model",
    "cost-by-provider",
    "cost-by-key",
    "cost-by-team",
    "latency-by-model",
    "latency-by-provider",
    "throughput-by-model",
    "throughput-by-provider",
    "tokens-by-model",
    "byok-cost",
]
