"""Template filters over `generations.display`, the one place every figure is formatted.

Money arrives in pico-units, as stored; every other value as stored too.
"""

from datetime import timedelta

from django import template

from generations import display
from generations.money import from_pico

register = template.Library()


@register.filter
def usd(pico: int | None) -> str:
    return display.format_usd(from_pico(pico))


@register.filter
def credits(pico: int | None) -> str:
    return display.format_credits(from_pico(pico))


@register.filter
def latency(milliseconds: float | None) -> str:
    return display.format_latency(milliseconds)


@register.filter
def throughput(tokens_per_second: float | None) -> str:
    return display.format_throughput(tokens_per_second)


@register.filter
def fastrouter_minutes(minutes: float | None) -> str:
    return display.format_fastrouter_minutes(minutes)


@register.filter
def significant(value: float | None) -> str:
    return display.format_significant(value)


@register.filter
def count(value: int | None) -> str:
    return display.format_count(value)


@register.filter
def short_hash(key_hash: str) -> str:
    return display.short_hash(key_hash)


@register.filter
def wait(value: timedelta) -> str:
    return display.format_wait(value)


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key, "")


@register.filter
def elapsed(seconds: float | None) -> str:
    """A time to store; none at all when nothing was stored."""
    return display.NOTHING if seconds is None else display.format_elapsed(seconds)
