from generations.analytics.measures import MEASURE_NAMES
from generations.analytics.queries import TOTALS_FIELDS, Totals, sum_totals
from generations.analytics.rollups import ROLLUP_TARGETS
from generations.analytics.statements import DIMENSIONS


def test_every_rollup_table_has_a_column_per_measure_and_nothing_else():
    for table, _, _ in ROLLUP_TARGETS.values():
        columns = [field.name for field in table._meta.fields]
        assert [c for c in columns if c not in {"id", "bucket_start", *DIMENSIONS}] == list(MEASURE_NAMES)


def test_totals_have_a_field_per_measure_in_the_registry_order():
    assert TOTALS_FIELDS == MEASURE_NAMES
    summed = sum_totals([Totals(*range(len(MEASURE_NAMES))), Totals(*[10] * len(MEASURE_NAMES))])
    assert [getattr(summed, name) for name in MEASURE_NAMES] == [n + 10 for n in range(len(MEASURE_NAMES))]


def test_derived_figures_never_invent_a_cost_for_requests_of_unknown_cost():
    totals = Totals(requests=3, priced_requests=0, cost_pico=0, byok_requests=1)
    assert totals.cost is None
    assert totals.unknown_cost_requests == 3
    assert totals.byok_share == 1 / 3
