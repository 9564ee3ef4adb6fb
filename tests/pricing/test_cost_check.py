"""Cost check and what-if: expected costs against hand-computed cases, price periods, exact sums."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from generations.analytics.filters import DashboardFilterForm
from generations.fastrouter.catalogue import Catalogue
from pricing.selectors import cost_check, what_if
from pricing.services import pricing_record
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

FIRST_SEEN = datetime(2025, 11, 10, tzinfo=UTC)
CHANGE = datetime(2025, 11, 15, 12, tzinfo=UTC)
BEFORE = datetime(2025, 11, 12, 9, tzinfo=UTC)
AFTER = datetime(2025, 11, 18, 9, tzinfo=UTC)
RANGE = {"range": "custom", "start": "2025-11-01", "end": "2025-11-30", "tz": "UTC"}


def price(model_id, prompt, completion, request=None):
    pricing = {"prompt": prompt, "completion": completion}
    if request is not None:
        pricing["request"] = request
    return {"id": model_id, "context_length": 100_000, "pricing": pricing}


@pytest.fixture
def catalogue():
    first = [
        price("m/a", "0.000001", "0.000004"),
        price("m/req", "1e-6", "0.000001", "0.005"),
        price("m/var", "-1", "-1"),
        price("m/cheap", "0.0000001", "0.0000002"),
    ]
    pricing_record(catalogue=Catalogue.from_payload({"data": first}), seen_at=FIRST_SEEN)
    changed = [price("m/a", "0.000002", "0.000008"), *first[1:]]
    pricing_record(catalogue=Catalogue.from_payload({"data": changed}), seen_at=CHANGE)


def usd(text):
    return int(Decimal(text).scaleb(12))


def gen(name, *, model="m/a", at=AFTER, cost="0.006", tokens=(1000, 500), **fields):
    return make_generation(
        name,
        model=model,
        occurred_at=at,
        cost_pico=None if cost is None else usd(cost),
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        body=False,
        **fields,
    )


def filters(**extra):
    form = DashboardFilterForm({**RANGE, **extra}, default_zone="UTC")
    assert form.is_valid(), form.errors
    return form.filters()


def test_each_side_of_a_price_change_is_priced_at_its_own_price(catalogue):
    gen("before", at=BEFORE, cost="0.003")  # 1000 × $1/M + 500 × $4/M
    gen("after", at=AFTER, cost="0.006")  # 1000 × $2/M + 500 × $8/M
    check = cost_check(filters())
    assert check.platform.expected == Decimal("0.009")
    assert check.platform.charged == Decimal("0.009")
    assert check.platform.difference == 0 and check.flagged.rows == []
    assert [(change.model, change.at) for change in check.price_changes] == [("m/a", CHANGE)]


def test_a_generation_before_the_first_sighting_gets_the_first_price(catalogue):
    gen("early", at=datetime(2025, 11, 2, tzinfo=UTC), cost="0.003")
    assert cost_check(filters()).platform.expected == Decimal("0.003")


def test_expected_cost_includes_the_per_request_price(catalogue):
    gen("sonar", model="m/req", tokens=(100, 100), cost="0.0052")
    check = cost_check(filters())
    # 100 × $0.000001 + 100 × $0.000001 + $0.005
    assert check.platform.expected == Decimal("0.0052") and check.platform.difference == 0


def test_gap_in_dollars_and_percent_and_flagged_generations(catalogue):
    gen("fair", at=BEFORE, cost="0.003")
    gen("overcharged", at=AFTER, cost="0.0075")  # expected 0.006: +0.0015, 25 %
    check = cost_check(filters())
    assert check.platform.charged == Decimal("0.0105")
    assert check.platform.expected == Decimal("0.009")
    assert check.platform.difference == Decimal("0.0015")
    assert check.platform.difference_percent == Decimal("16.67")
    assert [row.generation_id for row in check.flagged.rows] == ["overcharged"]
    assert check.flagged.rows[0].expected_pico == usd("0.006")
    assert check.flagged.next_cursor is None  # the whole range was looked at
    assert [gap.label for gap in check.models] == ["m/a"]


def test_a_gap_must_pass_both_the_percent_and_the_dollar_tolerance(catalogue):
    gen("small-percent", tokens=(100_000, 50_000), cost="0.62")  # expected 0.6: +3.3 %, $0.02
    gen("tiny-dollars", model="m/cheap", tokens=(100, 100), cost="0.00006")  # expected $0.00003: +100 %
    gen("both", tokens=(100_000, 50_000), cost="0.66")  # +10 %, $0.06
    assert [row.generation_id for row in cost_check(filters()).flagged.rows] == ["both"]


def test_generations_that_cannot_be_checked_are_counted_by_reason(catalogue):
    gen("checked")
    gen("not-in-catalogue", model="m/unknown")
    gen("variable-price", model="m/var")
    gen("tokens-unknown", tokens=(1000, None))
    gen("cost-unknown", cost=None)
    check = cost_check(filters())
    unchecked = check.unchecked
    assert (unchecked.not_in_catalogue, unchecked.price_unknown, unchecked.tokens_unknown, unchecked.cost_unknown) == (
        1,
        1,
        1,
        1,
    )
    assert check.platform.checked == 1


def test_byok_generations_are_checked_apart(catalogue):
    gen("platform", cost="0.006")
    gen("byok", cost="0", is_byok=True)
    check = cost_check(filters())
    assert (check.platform.checked, check.platform.charged) == (1, Decimal("0.006"))
    assert (check.byok.checked, check.byok.charged, check.byok.expected) == (1, Decimal(0), Decimal("0.006"))


def test_the_filters_narrow_the_check(catalogue):
    gen("a", cost="0.006")
    gen("b", model="m/req", tokens=(100, 100), cost="0.0052")
    assert [gap.label for gap in cost_check(filters(model="m/req")).models] == ["m/req"]


def test_what_if_sums_are_exact(catalogue):
    gen("one", at=BEFORE, tokens=(1000, 500), cost="0.003")
    gen("two", at=AFTER, tokens=(333, 777), cost="0.00688")
    gen("three", model="m/req", at=AFTER, tokens=(10, 1), cost="0.005011")
    result = what_if(filters(), "m/cheap")
    # m/cheap: $0.1/M in, $0.2/M out: (1333 × 0.1 + 1277 × 0.2) / 1M and (10 × 0.1 + 1 × 0.2) / 1M
    assert {row.model: row.repriced for row in result.rows} == {
        "m/a": Decimal("0.0003887"),
        "m/req": Decimal("0.0000012"),
    }
    assert result.total.repriced == Decimal("0.0003899")
    assert result.total.charged == Decimal("0.014891")
    assert result.total.saving == Decimal("0.0145011")


def test_what_if_on_a_variable_priced_model_has_no_figures(catalogue):
    gen("one")
    result = what_if(filters(), "m/var")
    assert result.target_price is None and result.rows == []
    assert "m/var" not in result.targets


def test_cheaper_alternatives_list_cheaper_models_first(catalogue):
    gen("one", tokens=(1000, 500), cost="0.006")
    alternatives = what_if(filters(), "").alternatives["m/a"]
    assert [option.model for option in alternatives] == ["m/cheap"]
    assert alternatives[0].repriced.repriced == Decimal("0.0002")
    assert alternatives[0].p50_latency_ms is None  # no m/cheap calls observed


# --------------------------------------------------------------------------- pages and CSVs


def read_csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_cost_check_page_shows_charged_against_expected(catalogue, user_client):
    gen("overcharged", cost="0.0075")
    page = user_client.get("/cost-check/", RANGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "$0.0075" in text and "$0.006" in text and "overcharged" in text


def test_cost_check_page_with_bad_filters_is_a_400(user_client):
    assert user_client.get("/cost-check/", {"range": "custom", "start": "2025-13-01"}).status_code == 400


def test_cost_check_models_csv_adds_up_exactly(catalogue, user_client):
    gen("a1", cost="0.0061")
    gen("a2", at=BEFORE, cost="0.0031")
    gen("r1", model="m/req", tokens=(7, 3), cost="0.00501")
    rows = read_csv(user_client.get("/cost-check/models.csv", RANGE))
    *models, total = rows[1:]
    for column in (2, 3, 4):
        assert sum(Decimal(row[column]) for row in models) == Decimal(total[column])
    assert total[0] == "All models" and Decimal(total[2]) == Decimal("0.01421")


def test_flagged_csv_lists_every_flagged_generation(catalogue, user_client):
    gen("overcharged", cost="0.0075")
    gen("fair", cost="0.006")
    rows = read_csv(user_client.get("/cost-check/flagged.csv", RANGE))
    assert [row[0] for row in rows[1:]] == ["overcharged"]


def test_what_if_page_and_csv(catalogue, user_client):
    gen("one", tokens=(1000, 500), cost="0.006")
    page = user_client.get("/what-if/", {**RANGE, "model_to": "m/cheap"})
    assert page.status_code == 200 and "token counts" in page.content.decode()
    rows = read_csv(user_client.get("/what-if/repriced.csv", {**RANGE, "model_to": "m/cheap"}))
    assert rows[-1][0] == "All models" and Decimal(rows[-1][5]) == Decimal("0.0002")
    alternatives = read_csv(user_client.get("/what-if/alternatives.csv", RANGE))
    assert alternatives[1][:2] == ["m/a", "m/cheap"]


def test_unknown_csv_table_is_a_404(user_client):
    assert user_client.get("/cost-check/other.csv").status_code == 404
