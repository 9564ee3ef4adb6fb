"""Human units for the numbers FastRouter reports."""

from datetime import timedelta

from django import template

from generations.money import format_usd, from_pico

register = template.Library()


@register.filter
def usd(pico: int | None) -> str:
    return format_usd(from_pico(pico))


@register.filter
def credits(pico: int | None) -> str:
    amount = from_pico(pico)
    return "unknown" if amount is None else f"{amount:f}"


@register.filter
def duration(milliseconds: float | None) -> str:
    if milliseconds is None:
        return "unknown"
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    return f"{milliseconds / 1000:.2f} s"


@register.filter
def tokens_per_second(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.1f} tok/s"


@register.filter
def significant(value: float | None) -> str:
    """FastRouter's own float figures, to four significant digits (1.587, 3.29e-08)."""
    return "unknown" if value is None else f"{value:.4g}"


@register.filter
def count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


@register.filter
def short_hash(value: str) -> str:
    """`sha256:4f1c2b9e0d7a…` — enough to tell keys apart, short enough to read."""
    if len(value) <= 16:
        return value
    return f"{value[:14]}…{value[-4:]}"


@register.filter
def filesize(characters: int) -> str:
    if characters < 1024:
        return f"{characters} B"
    if characters < 1024 * 1024:
        return f"{characters / 1024:.0f} KB"
    return f"{characters / 1024 / 1024:.1f} MB"


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key, "")


@register.filter
def timedelta_words(value: timedelta) -> str:
    """`15 minutes`, `1 hour 30 minutes`: a wait as a person says it."""
    minutes = round(value.total_seconds() / 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} hour{'s' if hours != 1 else ''}"] if hours else []
    if minutes or not parts:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


@register.filter
def elapsed(seconds: float | None) -> str:
    """`850 ms`, `12 s`, `4.5 min`, `2.1 h`, `3.2 days`: a wait of any length, short."""
    if seconds is None:
        return "–"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.0f} s"
