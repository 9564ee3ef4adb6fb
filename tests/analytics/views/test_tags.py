"""Tag filters and the cost-by-tag chart on the pages: the dashboard, the list, its CSV and the read
API agree exactly; bad tags are 400s with words; the query count stays bounded."""

import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from generations.analytics import dashboard as dashboards
from generations.analytics.filters import DashboardFilterForm
from generations.services import generation_tags_add
from monitoring.tokens import read_token_create
from tests.analytics.views.test_dashboard import LATER_DASHBOARD_QUERIES, chart_data
from tests.factories import make_generations

pytestmark = pytest.mark.django_db
FEATURES = ["search", "chat", "summarise"]


@pytest.fixture
def tagged():
    """30 generations over the last 5 days, 20 of them tagged, one of unknown cost."""
    now = timezone.now()
    make_generations(
        {
            f"gen-{n}": {
                "model": ["openai/gpt-4o", "google/gemini"][n % 2],
                "cost_pico": None if n == 7 else 10**9 * (n + 1),
                "input_tokens": 10 * n,
                "output_tokens": n,
                "occurred_at": now - timedelta(hours=4 * n + 1),
            }
            for n in range(30)
        }
    )
    generation_tags_add(
        tags={f"gen-{n}": {"feature": FEATURES[n % 3], **({"user": "42"} if n % 4 == 0 else {})} for n in range(20)}
    )


def _dashboard(query: str):
    form = DashboardFilterForm(query_dict(query), default_zone="UTC")
    assert form.is_valid(), form.errors
    return dashboards.dashboard(form.filters())


def query_dict(query: str):
    from django.http import QueryDict

    return QueryDict(query)


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("query", ["tag=feature:search", "tag=feature:chat&tag=user:42", "tag=!feature", "range=24h"])
def test_dashboard_list_csv_and_api_agree_exactly_with_a_tag_filter(user_client, client, tagged, query):
    board = _dashboard(query)
    assert board == _dashboard(query) and board.totals == dashboards.dashboard(board.filters, raw=True).totals
    listing = user_client.get(f"/generations/?{query}")
    assert listing.context["page"].totals == board.totals
    rows = _csv(user_client.get(f"/generations/export.csv?{query}"))[1:]
    assert len(rows) == board.totals.requests
    assert sum(Decimal(row[10]) for row in rows if row[10]) == board.totals.cost
    _, raw = read_token_create(name="notebook")
    summary = client.get(f"/api/v1/summary?{query}", headers={"Authorization": f"Bearer {raw}"}).json()
    assert summary["totals"]["requests"] == board.totals.requests
    assert Decimal(summary["totals"]["cost_usd"]) == board.totals.cost


def test_cost_by_tag_adds_up_to_the_dashboard_total_with_the_untagged_rest(tagged):
    for query in ("", "tag_key=user", "model=google/gemini", "tag=user:42", "range=24h"):
        board = _dashboard(query)
        chart = board.charts_by_slug["cost-by-tag"]
        assert (chart.total_requests, chart.total_cost) == (board.totals.requests, board.totals.cost), query
    rows = {row.label: row.cells[0].value for row in _dashboard("").charts_by_slug["cost-by-tag"].rows}
    assert rows == {"search": 7, "chat": 7, "summarise": 6, "(untagged)": 10}
    users = {row.label: row.cells[0].value for row in _dashboard("tag_key=user").charts_by_slug["cost-by-tag"].rows}
    assert users == {"42": 5, "(untagged)": 25}
    # Filtered by the chart's own tag name: the one value (or none) is all there is, read from the totals.
    for query, expected in (("tag=feature:chat", {"chat": 7}), ("tag=!feature", {"(untagged)": 10})):
        chart = _dashboard(query).charts_by_slug["cost-by-tag"]
        assert {row.label: row.cells[0].value for row in chart.rows} == expected


def test_the_most_tagged_name_is_shown_and_each_bar_drills_to_the_list_with_its_tag(user_client, tagged):
    response = user_client.get("/dashboard/?model=openai/gpt-4o")
    html = response.content.decode()
    assert "Cost by tag: feature" in html and '<select name="tag_key">' in html
    data = chart_data(response, "cost-by-tag")
    links = dict(zip(data["labels"], data["links"], strict=True))
    drill = parse_qs(urlsplit(links["search"]).query)
    assert drill == {"range": ["7d"], "tz": ["UTC"], "model": ["openai/gpt-4o"], "tag": ["feature:search"]}
    assert parse_qs(urlsplit(links["(untagged)"]).query)["tag"] == ["!feature"]
    drilled = user_client.get(links["search"])
    assert drilled.status_code == 200
    assert {row.generation_id for row in drilled.context["page"].rows} == {"gen-0", "gen-6", "gen-12", "gen-18"}


def test_the_cost_by_tag_csv_has_cost_requests_and_tokens_per_value(user_client, tagged):
    rows = _csv(user_client.get("/dashboard/table/cost-by-tag.csv?tag_key=feature"))
    assert rows[0] == [
        "feature", "Requests", "Cost", "Unknown-cost requests", "Avg cost / request", "Share of cost",
        "Input tokens", "Output tokens",
    ]  # fmt: skip
    by_value = {row[0]: row for row in rows[1:]}
    assert by_value["chat"][1] == "7" and by_value["chat"][6] == str(sum(10 * n for n in range(1, 20, 3)))
    assert sum(int(row[1]) for row in rows[1:]) == 30


def test_no_tag_no_chart(user_client):
    make_generations({"gen-1": {}})
    response = user_client.get("/dashboard/")
    assert response.status_code == 200
    assert "cost-by-tag" not in response.content.decode()
    assert user_client.get("/dashboard/table/cost-by-tag.csv").status_code == 404


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/generations/", "/generations/export.csv", "/dashboard/table/cost-by-tag.csv"]
)
def test_a_bad_tag_filter_is_a_400_that_says_why(user_client, tagged, path):
    response = user_client.get(f"{path}?tag=feature")
    assert response.status_code == 400
    assert "has no value: write a tag filter as name:value" in response.content.decode()


def test_the_read_api_refuses_a_bad_tag_filter_with_words(client, tagged):
    _, raw = read_token_create(name="notebook")
    response = client.get("/api/v1/summary?tag=a:1&tag=a:2", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 400
    assert response.json()["errors"] == ["Tag: One filter per tag name: a is given more than once."]


def test_tag_pages_read_a_bounded_number_of_queries(user_client, tagged, django_assert_max_num_queries):
    user_client.get("/dashboard/")
    # The cost-by-tag chart: the tag names (cached under the tag rollups' largest id) and its sums.
    with django_assert_max_num_queries(LATER_DASHBOARD_QUERIES + 2):
        user_client.get("/dashboard/?range=30d&tz=Europe/Berlin")
    # A tag filter reads raw rows: one statement per figure, however many rows.
    with django_assert_max_num_queries(LATER_DASHBOARD_QUERIES + 2):
        user_client.get("/dashboard/?range=30d&tag=feature:search&tag=user:42")
