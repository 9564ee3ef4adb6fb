from django import template

from generations.money import format_usd, from_pico

register = template.Library()


@register.filter
def usd(pico: int | None) -> str:
    """Pico-units as dollars ("—" for none)."""
    return "—" if pico is None else format_usd(from_pico(pico))
