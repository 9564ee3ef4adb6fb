"""The rows of a dashboard chart's table, built in Python.

The dashboard's twelve tables hold up to a few hundred rows and a few thousand cells; through
the template engine (or one format_html per cell) they cost more than the rollup queries behind
them. Every label, link and cell is escaped here.
"""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from generations.analytics.charts import Chart

register = template.Library()


@register.filter
def chart_rows(chart: Chart) -> SafeString:
    lines = []
    for row in chart.rows:
        label = escape(row.label)
        heading = f'<a href="{escape(row.link)}">{label}</a>' if row.link else label
        # Only here, not in the chart's CSV: a label column a script matches stays as it was.
        if row.partial:
            heading += ' <span class="muted">(partial)</span>'
        cells = "".join(
            f'<td class="num faint" title="{escape(cell.note)}">{escape(cell.text)}</td>'
            if cell.note
            else f'<td class="num">{escape(cell.text)}</td>'
            for cell in row.cells
        )
        lines.append(f'<tr><th scope="row">{heading}</th>{cells}</tr>')
    return mark_safe("\n".join(lines))  # noqa: S308 (every value is escaped above)
