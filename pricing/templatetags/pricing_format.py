"""Money as the pricing pages show it: exact Decimals, never floats."""

from decimal import Decimal

from django import template

from generations.display import NOTHING, format_signed_percent, format_usd
from generations.money import from_pico

register = template.Library()


@register.filter
def dollars(amount: Decimal | None) -> str:
    return format_usd(amount)


@register.filter
def per_million(price: Decimal | None) -> str:
    """A per-token price as dollars per million tokens, the way price lists show it."""
    return NOTHING if price is None else format_usd(price * 1_000_000)


@register.simple_tag
def querystring_of(filters, **overrides) -> str:
    """The filters' query string with some values replaced (a model row's link to its generations)."""
    return filters.querystring(**overrides)


@register.filter
def pico_per_million(price_pico: int | None) -> str:
    return NOTHING if price_pico is None else format_usd(from_pico(price_pico * 1_000_000))


@register.filter
def signed_percent(percent: Decimal | None) -> str:
    return format_signed_percent(percent)
