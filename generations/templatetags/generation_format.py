"""Template filters over `generations.display`, the one place every figure is formatted.

Money arrives in pico-units, as stored; every other value as stored too.
"""

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


# Filters that are a display format as it is, under the name templates use.
register.filter("latency", display.format_latency)
register.filter("throughput", display.format_throughput)
register.filter("fastrouter_minutes", display.format_fastrouter_minutes)
register.filter("significant", display.format_significant)
register.filter("count", display.format_count)
register.filter("short_hash", display.short_hash)
register.filter("wait", display.format_wait)
register.filter("body_html", display.body_html, is_safe=True)


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key, "")


@register.filter
def elapsed(seconds: float | None) -> str:
    """A time to store; none at all when nothing was stored."""
    return display.NOTHING if seconds is None else display.format_elapsed(seconds)
