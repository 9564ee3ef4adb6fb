"""Fixed log-spaced histogram bins for latency and throughput.

Every stored generation records the bin of its latency and of its throughput, so
percentiles come from `GROUP BY bin` counts (on raw rows or rollups alike) instead of
sorting millions of values. With a bin ratio of 1.08, reporting a bin's geometric middle
is within 3.9 % of any value in it.
"""

import math

BIN_RATIO = 1.08
_LOG_RATIO = math.log(BIN_RATIO)


def bin_index(value: float | None) -> int | None:
    if value is None or not value > 0 or math.isinf(value):
        return None
    return math.floor(math.log(value) / _LOG_RATIO)


def bin_value(index: int) -> float:
    """The geometric middle of a bin."""
    return BIN_RATIO ** (index + 0.5)


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """The value at `fraction` (0–1) of a histogram given as {bin index: count}."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bin_value(index)
    return bin_value(max(counts))
