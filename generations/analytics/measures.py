"""The measures: every figure the analytics add up, each declared once.

A measure is a name and the SQL aggregate that computes it over raw generation rows. Everything
else is derived from this list, in this order:

* the rollup tables' columns (`models.RollupMeasures`, one BigInteger column per measure);
* the statements that fill the rollup tables from raw rows and read raw rows
  (`statements.py`: the `raw_sql` of each measure);
* the statements that read rollup rows (`SUM(column)`: every measure is additive, so summing
  rollup rows, and adding sums in Python, gives exactly the raw rows' aggregate);
* `queries.Totals`, whose fields are the measures (a figure that is not additive, such as an
  average or a share, is a property of Totals computed from these);
* `rollups_check`, which compares every rollup row with the raw aggregate.

Adding a measure is one line here, `manage.py makemigrations` (a new rollup column) and a
`manage.py rebuild_rollups` to fill it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str  # the rollup column and the Totals field
    raw_sql: str  # an aggregate over `generations_generation` rows; NULL for no rows is read as 0


MEASURES = (
    Measure("requests", "COUNT(*)"),
    # Requests of known cost: the rest are counted as unknown, never summed as $0.
    Measure("priced_requests", "COUNT(cost_pico)"),
    Measure("cost_pico", "SUM(cost_pico)"),
    Measure("credits_pico", "SUM(credits_used_pico)"),
    Measure("input_tokens", "SUM(input_tokens)"),
    Measure("output_tokens", "SUM(output_tokens)"),
    # Input + output tokens of the requests of known cost: the dashboard's "cost per 1K tokens".
    Measure(
        "priced_tokens",
        "SUM(CASE WHEN cost_pico IS NOT NULL THEN COALESCE(input_tokens, 0) + COALESCE(output_tokens, 0) END)",
    ),
    # Summed here rather than by grouping reads on the BYOK flag: a third of the rows to read.
    Measure("byok_requests", "COUNT(CASE WHEN is_byok THEN 1 END)"),
    # The cost check's "checked" requests: cost and both token counts known (pricing/usage.py
    # re-prices their tokens at the catalogue's price in force and compares with their charge).
    Measure(
        "checked_requests",
        "COUNT(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN 1 END)",
    ),
    Measure(
        "checked_input_tokens",
        "SUM(CASE WHEN cost_pico IS NOT NULL AND output_tokens IS NOT NULL THEN input_tokens END)",
    ),
    Measure(
        "checked_output_tokens",
        "SUM(CASE WHEN cost_pico IS NOT NULL AND input_tokens IS NOT NULL THEN output_tokens END)",
    ),
    Measure(
        "checked_cost_pico",
        "SUM(CASE WHEN input_tokens IS NOT NULL AND output_tokens IS NOT NULL THEN cost_pico END)",
    ),
)

MEASURE_NAMES = tuple(measure.name for measure in MEASURES)
