"""The rows of a dashboard chart's table, built in Python.

The dashboard's twelve tables hold up to a few hundred rows; through the template engine they
cost more than the rollup queries behind them. format_html escapes every label and cell.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from generations.analytics import Chart, Row

register = template.Library()


def _label(row: Row) -> SafeString:
    return format_html('<a href="{}">{}</a>', row.link, row.label) if row.link else format_html("{}", row.label)


@register.filter
def chart_rows(chart: Chart) -> SafeString:
    return format_html_join(
        "\n",
        '<tr><th scope="row">{}</th>{}</tr>',
        (
            (_label(row), format_html_join("", '<td class="num">{}</td>', ((cell.text,) for cell in row.cells)))
            for row in chart.rows
        ),
    )
