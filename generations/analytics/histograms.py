"""Fixed log-spaced histogram bins for latency and throughput.

Every stored generation records the bin of its latency and of its throughput, so
percentiles come from `GROUP BY bin` counts (on raw rows or rollups alike) instead of
sorting millions of values. With a bin ratio of 1.08, reporting a bin's geometric middle
is within 3.9 % of any value in it.
"""

import math
from collections.abc import Iterable

BIN_RATIO = 1.08
_LOG_RATIO = math.log(BIN_RATIO)
# How far a bin's middle may be from a value in it (3.9 %): two figures in one bin differ by less
# than twice this, and no change can be told between them.
BIN_PRECISION = math.sqrt(BIN_RATIO) - 1


def bin_index(value: float | None) -> int | None:
    if value is None or not value > 0 or math.isinf(value):
        return None
    return math.floor(math.log(value) / _LOG_RATIO)


def bin_value(index: int) -> float:
    """The geometric middle of a bin."""
    return BIN_RATIO ** (index + 0.5)


def percentiles(counts: dict[int, int], fractions: Iterable[float]) -> list[float | None]:
    """The values at each of `fractions` (0–1) of a histogram given as {bin index: count}: one sort."""
    total = sum(counts.values())
    if total == 0:
        return [None for _ in fractions]
    ordered = sorted(counts.items())
    values = []
    for fraction in fractions:
        rank = max(1, math.ceil(fraction * total))
        seen = 0
        for index, count in ordered:
            seen += count
            if seen >= rank:  # reached: rank ≤ total
                values.append(bin_value(index))
                break
    return values


def percentile(counts: dict[int, int], fraction: float) -> float | None:
    """The value at `fraction` (0–1) of a histogram given as {bin index: count}."""
    return percentiles(counts, (fraction,))[0]


# ---- packed histograms (one rollup row per histogram) ----------------------------------
# The count of bin `low + i` is bits [COUNT_BITS·i, COUNT_BITS·(i + 1)) of one integer, so adding
# two packed histograms with the same `low` adds every bin in one big-integer addition. 48 bits
# hold 2.8 × 10¹⁴ generations per bin: no sum of real counts can carry into the next bin.
COUNT_BITS = 48
_COUNT_MASK = (1 << COUNT_BITS) - 1


def pack(counts: dict[int, int]) -> tuple[int, bytes]:
    """{bin: count} (non-empty, counts ≥ 0) → (lowest bin, the packed counts as little-endian bytes)."""
    low = min(counts)
    packed = 0
    for index, count in counts.items():
        packed |= count << (COUNT_BITS * (index - low))
    return low, _to_bytes(packed)


def _to_bytes(packed: int) -> bytes:
    return packed.to_bytes((packed.bit_length() + 7) // 8 or 1, "little")


class PackedSum:
    """The sum of packed histograms whose lowest bins differ."""

    def __init__(self) -> None:
        self.low: int | None = None
        self.total = 0

    def add(self, low: int, counts: bytes) -> None:
        value = int.from_bytes(counts, "little")
        if self.low is None:
            self.low, self.total = low, value
        elif low >= self.low:
            self.total += value << (COUNT_BITS * (low - self.low))
        else:
            self.total = (self.total << (COUNT_BITS * (self.low - low))) + value
            self.low = low

    def packed(self) -> tuple[int, bytes]:
        """(lowest bin, packed counts as little-endian bytes), as `pack` gives them."""
        return self.low, _to_bytes(self.total)

    def counts(self) -> dict[int, int]:
        """{bin: count} of the bins with a count."""
        result = {}
        index, packed = self.low, self.total
        while packed:
            if count := packed & _COUNT_MASK:
                result[index] = count
            packed >>= COUNT_BITS
            index += 1
        return result


def unpack(low: int, counts: bytes) -> dict[int, int]:
    total = PackedSum()
    total.add(low, counts)
    return total.counts()
