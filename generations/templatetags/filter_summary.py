"""The filter form's one-line summary ("Last 7 days · all models · UTC"), shown in place of the
form on phones, where the form folds away behind it."""

from django import template

from generations.analytics.filters import RANGE_CHOICES, DashboardFilters

register = template.Library()

RANGE_LABELS = dict(RANGE_CHOICES)
KEY_TYPES = {True: "BYOK", False: "platform keys"}


def _range(filters: DashboardFilters) -> str:
    if filters.range == "custom" and filters.start_date and filters.end_date:
        return f"{filters.start_date:%-d %b %Y} – {filters.end_date:%-d %b %Y}"
    return RANGE_LABELS.get(filters.range, filters.range)


@register.filter
def filter_summary(filters: DashboardFilters | str | None) -> str:
    """What the selection is, in words; only the filters that narrow it, besides range and model."""
    if not isinstance(filters, DashboardFilters):  # refused input: no selection to describe ("" or None)
        return "Filters"
    parts = [_range(filters), filters.model or "all models"]
    parts += [value for value in (filters.provider, filters.team, filters.endpoint) if value]
    if filters.key:
        parts.append("one API key")
    if filters.byok is not None:
        parts.append(KEY_TYPES[filters.byok])
    for name, shown in (("q", "id starts “{}”"), ("text", "text “{}”")):
        if value := getattr(filters, name, ""):
            parts.append(shown.format(value))
    parts.append(filters.zone)
    return " · ".join(parts)
