"""How every figure reads on a page, in a chart's table, in the admin: one function per kind.

Two markers, one rule:

* `UNKNOWN` ("unknown") is a value that exists but is not known: the cost of a generation
  FastRouter gave no price for, a latency it did not report. Every formatter shows `None` so.
* `NOTHING` ("—") is no value at all: a table cell for a group with no generations in that
  bucket, an empty body. Callers write it themselves where there is nothing to format.

Chart payloads carry plain numbers (Chart.js formats its own ticks); CSV files carry exact
numbers, never these texts.
"""

import re
from datetime import timedelta
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from generations.models import KeyLabel

UNKNOWN = "unknown"
NOTHING = "—"
# Below this a latency reads in milliseconds ("2,514 ms"), from it in seconds ("12.3 s").
LATENCY_SECONDS_FROM_MS = 10_000


def _money_digits(amount: Decimal) -> str:
    """The magnitude with enough digits that a sub-cent amount never shows as 0.00."""
    if amount == 0:
        return "0.00"
    magnitude = abs(amount)
    if magnitude >= 100:
        places = 2
    elif magnitude >= 1:
        places = 4
    else:
        # Four significant digits below one: 0.004731, 0.0000912.
        places = min(12, max(4, -magnitude.adjusted() + 3))
    text = f"{magnitude:,.{places}f}"
    if places > 2:
        text = text.rstrip("0")
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.ljust(2, '0')}"
    return text


def format_usd(amount: Decimal | None) -> str:
    """Dollars: `$1,234.50`, `$2.5000`, `$0.004731`, `-$0.10`."""
    if amount is None:
        return UNKNOWN
    return f"-${_money_digits(amount)}" if amount < 0 else f"${_money_digits(amount)}"


def format_credits(amount: Decimal | None) -> str:
    """FastRouter credits (dollar-denominated), with the digits of `format_usd` and no sign."""
    if amount is None:
        return UNKNOWN
    return f"-{_money_digits(amount)}" if amount < 0 else _money_digits(amount)


def format_count(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def latency_unit(*milliseconds: float | None) -> str:
    """The one unit ("ms" or "s") for latencies shown side by side (a column, a card): the largest decides."""
    largest = max((value for value in milliseconds if value is not None), default=0)
    return "s" if largest >= LATENCY_SECONDS_FROM_MS else "ms"


def format_latency(milliseconds: float | None, unit: str | None = None) -> str:
    """`2,514 ms`, `12.3 s`; in `unit` when given, so figures side by side share one (`0.45 s`)."""
    if milliseconds is None:
        return UNKNOWN
    if (unit or latency_unit(milliseconds)) == "ms":
        return f"{milliseconds:,.0f} ms"
    seconds = milliseconds / 1000
    return f"{seconds:,.1f} s" if seconds >= 1 else f"{seconds:.2g} s"


def format_fastrouter_minutes(minutes: float | None) -> str:
    """FastRouter's average response time, sent in minutes ("0.02107"), read as a latency ("1,264 ms")."""
    return UNKNOWN if minutes is None else format_latency(minutes * 60_000)


def format_same_bin(precision: float) -> str:
    """Two percentiles in the same histogram bin: no change can be told, rather than a false 0.0 %."""
    return f"same bin (±{precision:.0%})".replace("%", " %")


def format_throughput(tokens_per_second: float | None) -> str:
    return UNKNOWN if tokens_per_second is None else f"{tokens_per_second:,.1f} tok/s"


def format_share(fraction: float | None) -> str:
    return UNKNOWN if fraction is None else f"{fraction:.1%}"


def format_signed_percent(percent: Decimal | None) -> str:
    """A difference in percent with its sign: `+23.4 %`, `-8.0 %`, `0.0 %`."""
    if percent is None:
        return UNKNOWN
    return f"{percent:+.1f} %" if percent else "0.0 %"


def format_significant(value: float | None) -> str:
    """FastRouter's own float figures, to four significant digits (1.587, 3.29e-08)."""
    return UNKNOWN if value is None else f"{value:.4g}"


def format_wait(wait: timedelta) -> str:
    """`15 minutes`, `1 hour 30 minutes`: a wait as a person says it."""
    minutes = round(wait.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not parts:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def format_elapsed(seconds: float) -> str:
    """`850 ms`, `12 s`, `4.5 min`, `2.1 h`, `3.2 days`: a wait of any length, short."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.0f} s"


def short_hash(key_hash: str) -> str:
    """`sha256:4f1c2b9e0d7a…1f2e`: enough to tell keys apart, short enough to read."""
    if len(key_hash) <= 16:
        return key_hash
    return f"{key_hash[:14]}…{key_hash[-4:]}"


def key_name(key_hash: str, labels: dict[str, KeyLabel]) -> str:
    """An API key as people know it: its label's name, else its shortened hash."""
    label = labels.get(key_hash)
    if label:
        return label.name
    return short_hash(key_hash) if key_hash else "unknown key"


# A body's text wraps at its spaces; a run of more than this many other characters (base64 data, a
# long URL) gets a break opportunity (<wbr>) after every this many. The browser then never needs
# an emergency break: ordinary words stay whole (no word-break: break-all), and Chromium never
# searches a 20,000-character run for a break point, which made overflow-wrap: anywhere take ~10 s
# to paint one (static/css/app.css, pre.json).
BODY_BREAK_EVERY = 24
_LONG_RUN = re.compile(rf"\S{{{BODY_BREAK_EVERY + 1},}}")


def body_html(text: str) -> SafeString:
    """`text` escaped for a <pre>, with a <wbr> every BODY_BREAK_EVERY characters of each long run."""
    parts: list[str] = []
    position = 0
    for run in _LONG_RUN.finditer(text):
        parts.append(escape(text[position : run.start()]))
        chunks = (run.group()[i : i + BODY_BREAK_EVERY] for i in range(0, len(run.group()), BODY_BREAK_EVERY))
        parts.append("<wbr>".join(escape(chunk) for chunk in chunks))
        position = run.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text was escaped above
