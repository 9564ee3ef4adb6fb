"""The dashboard's cost per 1K tokens against the catalogue's list price."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from generations.analytics.filters import DashboardFilterForm
from generations.fastrouter.catalogue import Catalogue
from pricing.models import CatalogueModel
from pricing.selectors import model_rates
from pricing.services import pricing_record
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    entries = [
        {"id": "m/dear", "pricing": {"prompt": "0.000001", "completion": "0.000004"}},
        {"id": "m/fair", "pricing": {"prompt": "0.000002", "completion": "0.000002"}},
    ]
    pricing_record(catalogue=Catalogue.from_payload({"data": entries}), seen_at=timezone.now() - timedelta(days=60))


def gen(name, model, cost_pico, **fields):
    make_generation(
        name,
        body=False,
        model=model,
        input_tokens=1000,
        output_tokens=500,
        cost_pico=cost_pico,
        occurred_at=timezone.now() - timedelta(hours=2),
        **fields,
    )


def week():
    form = DashboardFilterForm({"range": "7d"}, default_zone="UTC")
    assert form.is_valid()
    return form.filters()


def test_effective_prices_are_the_list_prices_scaled_by_what_was_charged(catalogue):
    gen("dear", "m/dear", 3_750_000_000)  # list: 1000 × $1/M + 500 × $4/M = $0.003; charged +25 %
    gen("fair", "m/fair", 3_090_000_000)  # list: $0.003; charged +3 %
    gen("byok", "m/fair", 0, is_byok=True)  # BYOK: not a token price, left out
    dear, fair, unknown = model_rates(week(), ["m/dear", "m/fair", "m/unknown"])
    assert (dear.list_input_per_1k, dear.list_output_per_1k) == (Decimal("0.001"), Decimal("0.004"))
    assert (dear.input_per_1k, dear.output_per_1k) == (Decimal("0.00125"), Decimal("0.005"))
    assert dear.difference_percent == Decimal("25.00") and dear.far
    assert (fair.input_per_1k, fair.difference_percent, fair.far) == (Decimal("0.00206"), Decimal("3.00"), False)
    assert (unknown.in_catalogue, unknown.input_per_1k, unknown.far) == (False, None, False)


def test_no_table_without_a_catalogue():
    gen("one", "m/dear", 3_000_000_000)
    assert model_rates(week(), ["m/dear"]) == []


def test_dashboard_marks_a_model_far_from_its_list_price_in_words(catalogue, user_client):
    gen("dear", "m/dear", 3_750_000_000)
    gen("fair", "m/fair", 3_090_000_000)
    html = user_client.get("/dashboard/").content.decode()
    assert "Cost per 1K tokens against the list price" in html
    assert "Far from the list: +25.0 %" in html
    assert "Near (+3.0 %)" in html
    assert "$0.00125" in html and "$0.005" in html


def test_the_prices_cost_the_dashboard_one_query_and_one_more_with_a_catalogue(catalogue, user_client):
    gen("dear", "m/dear", 3_750_000_000)
    user_client.get("/dashboard/")  # the session's zone and the filter choices' cache settle
    with CaptureQueriesContext(connection) as with_catalogue:
        user_client.get("/dashboard/")
    CatalogueModel.objects.all().delete()
    with CaptureQueriesContext(connection) as without:
        user_client.get("/dashboard/")
    # Both read the price histories; with a catalogue, the cost check's rollup sums too.
    assert sum("pricing_modelprice" in query["sql"] for query in without.captured_queries) == 1
    assert len(with_catalogue.captured_queries) == len(without.captured_queries) + 1
