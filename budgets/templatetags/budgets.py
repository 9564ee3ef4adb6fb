from django import template

from generations.display import NOTHING, format_usd
from generations.money import from_pico

register = template.Library()


@register.filter
def usd(pico: int | None) -> str:
    """Pico-units as dollars; no amount at all (a day not forecast, say) is "—"."""
    return NOTHING if pico is None else format_usd(from_pico(pico))
