"""The cost check read from the rollups equals the same check computed row by row, independently,
here: price changes at instants that are not a quarter hour, generations around them, unknown tokens
and costs, BYOK, models outside the catalogue; and the bounded drill-down list walks them all."""

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from generations.analytics.filters import DashboardFilterForm
from generations.fastrouter.catalogue import Catalogue
from generations.models import Generation
from pricing import selectors
from pricing.selectors import cost_check, flagged_page, tolerance
from pricing.services import pricing_record
from tests.factories import make_generations

pytestmark = pytest.mark.django_db

START = datetime(2025, 11, 10, tzinfo=UTC)
# Not on a quarter hour: the spans either side read raw rows for the minutes around the change.
CHANGES = [datetime(2025, 11, 12, 7, 41, 13, 500_000, tzinfo=UTC), datetime(2025, 11, 14, 0, 0, 7, tzinfo=UTC)]
PRICES = {  # model: (prompt, completion, request) per period; pico-dollars per token / request
    "m/a": [(1_000_000, 4_000_000, 0), (2_000_000, 8_000_000, 0), (1_500_000, 6_000_000, 0)],
    "m/req": [(1_000_000, 1_000_000, 5_000_000_000)] * 3,
}
RANGE = {"range": "custom", "start": "2025-11-09", "end": "2025-11-17", "tz": "UTC"}


def entries(period: int) -> list[dict]:
    return [
        {
            "id": model,
            "pricing": {
                name: str(Decimal(value).scaleb(-12))
                for name, value in zip(("prompt", "completion", "request"), prices[period], strict=True)
                if value
            },
        }
        for model, prices in PRICES.items()
    ]


@pytest.fixture
def history():
    for period, seen_at in enumerate([START, *CHANGES]):
        pricing_record(catalogue=Catalogue.from_payload({"data": entries(period)}), seen_at=seen_at)


def generations(count: int, seed: int = 14) -> None:
    chance = random.Random(seed)
    moments = [change + timedelta(seconds=offset) for change in CHANGES for offset in (-90, -1, 0, 1, 30, 600)]
    rows = {}
    for number in range(count):
        at = moments[number] if number < len(moments) else START + timedelta(seconds=chance.randrange(6 * 86400))
        tokens = [chance.randrange(1, 5000), chance.randrange(1, 2000)]
        if chance.random() < 0.1:
            tokens[chance.randrange(2)] = None
        rows[f"gen-{number}"] = {
            "model": chance.choice(["m/a", "m/a", "m/req", "m/other"]),
            "occurred_at": at,
            "input_tokens": tokens[0],
            "output_tokens": tokens[1],
            "cost_pico": None if chance.random() < 0.1 else chance.randrange(0, 60_000_000_000),
            "is_byok": chance.choice([False, False, True, None]),
        }
    make_generations(rows)


def price_at(model: str, moment: datetime) -> tuple[int, int, int] | None:
    if model not in PRICES:
        return None
    return PRICES[model][sum(moment >= change for change in CHANGES)]


def by_hand() -> dict:
    """The check, row by row: {(byok, model): [checked, charged, expected]} and the unchecked counts."""
    sums: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    unchecked: Counter = Counter()
    for row in Generation.objects.all():
        byok = row.is_byok is True
        prices = price_at(row.model, row.occurred_at)
        if prices is None:
            unchecked[(byok, "not_in_catalogue")] += 1
        elif row.cost_pico is None:
            unchecked[(byok, "cost_unknown")] += 1
        elif row.input_tokens is None or row.output_tokens is None:
            unchecked[(byok, "tokens_unknown")] += 1
        else:
            prompt, completion, request = prices
            expected = row.input_tokens * prompt + row.output_tokens * completion + request
            into = sums[(byok, row.model)]
            into[0] += 1
            into[1] += row.cost_pico
            into[2] += expected
    return {"sums": dict(sums), "unchecked": unchecked}


def over_tolerance_by_hand() -> list[str]:
    limits = tolerance()
    found = []
    for row in Generation.objects.order_by("-occurred_at", "-id"):
        prices = price_at(row.model, row.occurred_at)
        if prices is None or None in (row.cost_pico, row.input_tokens, row.output_tokens):
            continue
        expected = row.input_tokens * prices[0] + row.output_tokens * prices[1] + prices[2]
        gap = abs(row.cost_pico - expected)
        if gap > limits.pico and gap * 100 > expected * limits.percent:
            found.append(row.generation_id)
    return found


def selection():
    form = DashboardFilterForm(RANGE, default_zone="UTC")
    assert form.is_valid(), form.errors
    return form.filters()


def test_the_cost_check_from_the_rollups_equals_the_check_row_by_row(history):
    generations(600)
    check = cost_check(selection())
    expected = by_hand()
    found = {
        (byok, gap.label): [gap.checked, gap.charged_pico, gap.expected_pico]
        for byok, gaps in ((False, check.models), (True, check.byok_models))
        for gap in gaps
    }
    assert found == expected["sums"]
    for byok, unchecked in ((False, check.unchecked), (True, check.byok_unchecked)):
        for reason in ("not_in_catalogue", "cost_unknown", "tokens_unknown"):
            assert getattr(unchecked, reason) == expected["unchecked"][(byok, reason)], (byok, reason)
    assert check.platform.checked + check.byok.checked + check.unchecked.total + check.byok_unchecked.total == 600


def test_the_drill_down_pages_walk_every_generation_over_the_tolerance_newest_first(history, monkeypatch):
    generations(300)
    monkeypatch.setattr(selectors, "FLAGGED_SHOWN", 7)
    monkeypatch.setattr(selectors, "FLAGGED_SCAN", 40)  # most pages end on the scan, not on the rows found
    walked, after, pages = [], None, 0
    while True:
        page = flagged_page(selection(), after)
        walked += [row.generation_id for row in page.rows]
        pages += 1
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert pages > 300 // 40
    assert walked == over_tolerance_by_hand()
    assert walked  # the random charges put many over the tolerance
    assert sorted(row.generation_id for row in selectors.flagged_rows(selection())) == sorted(walked)


def test_over_tolerance_page_links_each_generation_and_the_older_page(history, user_client, monkeypatch):
    generations(50)
    monkeypatch.setattr(selectors, "FLAGGED_SHOWN", 3)
    page = user_client.get("/cost-check/over-tolerance/", RANGE)
    assert page.status_code == 200
    text = page.content.decode()
    newest = over_tolerance_by_hand()[:3]
    for generation_id in newest:
        assert f'href="/generations/{generation_id}/"' in text
    assert 'rel="next"' in text


def test_over_tolerance_page_with_a_damaged_cursor_is_a_400(history, user_client):
    page = user_client.get("/cost-check/over-tolerance/", {**RANGE, "after": "not-a-cursor"})
    assert page.status_code == 400 and "damaged" in page.content.decode()
