import contextlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from generations.admin import MAX_ID_PROBES, CappedCountPaginator, ColumnSearch
from generations.analytics.rollups import rollup_dimension_values
from generations.body_search import BodySearch, UnsearchableText
from generations.models import Generation, GenerationBody
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:generations_generation_changelist")


def test_admin_finds_records_by_model_name(staff_client):
    make_generation("gen-a", model="anthropic/claude-sonnet-4", provider="anthropic")
    make_generation("gen-b", model="openai/gpt-4o-mini")
    page = staff_client.get(CHANGELIST, {"q": "claude"}).content.decode()
    assert "gen-a" in page
    assert "gen-b" not in page


@pytest.mark.parametrize(
    ("query", "found"), [("gen-pre", True), ("sha256:abcd", True), ("/v1/embed", True), ("zzz", False)]
)
def test_admin_search_covers_id_key_and_endpoint(staff_client, query, found):
    make_generation("gen-prefix-1", api_key_hash="sha256:abcdef012345", endpoint="/v1/embeddings")
    page = staff_client.get(CHANGELIST, {"q": query}).content.decode()
    assert ("gen-prefix-1" in page) is found


@pytest.mark.parametrize("order", [{}, {"o": "5"}])
@pytest.mark.parametrize("common_from", [10_000, 1])
def test_admin_search_finds_words_in_the_bodies_too(staff_client, monkeypatch, order, common_from):
    monkeypatch.setattr("generations.body_search.FEW_MATCHES", common_from)
    GenerationBody.objects.filter(generation=make_generation("gen-body", body=False)).delete()
    GenerationBody.objects.create(
        generation=Generation.objects.get(generation_id="gen-body"),
        request={"messages": [{"role": "user", "content": "Where is my parcel?"}]},
    )
    make_generation("gen-parcel-model", model="acme/parcel-1")
    make_generation("gen-other")
    page = staff_client.get(CHANGELIST, {"q": "parcel", **order}).content.decode()
    assert "gen-body" in page
    assert "gen-parcel-model" in page
    assert "gen-other" not in page


@pytest.mark.parametrize(
    ("query", "can_match"),
    [
        ("claude", True),  # in a model
        ("ANTHROPIC", True),  # in a provider, any case
        ("/v1/emb", True),  # in an endpoint
        ("sha256:ABCD", True),  # starts a key hash
        ("GEN-PREF", True),  # starts an id, in other cases
        ("Gen-prefix-1", True),
        ("prefix", False),  # inside an id, not at its start
        ("parcel", False),  # only in a body
        ("claude parcel", False),  # every word must be somewhere
        ('"anthropic/claude"', True),  # a quoted word, as Django's admin reads it
        ('" parcel', False),  # a stray quote is an empty word, which every id starts with
        ('" claude', True),
    ],
)
def test_column_search_can_match_asks_the_rollups_and_the_id_index(query, can_match):
    make_generation("gen-prefix-1", model="anthropic/claude-sonnet-4", provider="anthropic")
    make_generation("gen-other", api_key_hash="sha256:abcdef012345", endpoint="/v1/embeddings")
    assert ColumnSearch.of(query).can_match() is can_match


def test_admin_body_search_skips_the_column_scan_when_no_column_can_match(staff_client, django_assert_max_num_queries):
    generation = make_generation("gen-body", body=False)
    GenerationBody.objects.create(generation=generation, request={"messages": [{"content": "Where is my parcel?"}]})
    make_generation("gen-other")
    with django_assert_max_num_queries(20) as captured:
        page = staff_client.get(CHANGELIST, {"q": "parcel"}).content.decode()
    assert "gen-body" in page
    assert "gen-other" not in page
    scans = [
        q["sql"] for q in captured.captured_queries if "generations_generation" in q["sql"] and "%parcel%" in q["sql"]
    ]
    assert scans == []


# Ids in several cases, one with a non-ASCII letter, one a prefix of another, and a model, key hash
# and endpoint that share words with some ids.
SEARCHED_IDS = {
    "chatcmpl-fr-00a1": {},
    "chatcmpl-fr-00A2": {},
    "CHATCMPL-FR-00b3": {},
    "Chatcmpl-fr-00b": {},
    "chatcmpl-gx-1": {"model": "acme/gx-large"},
    "gen-ıd-1": {},
    "gen-%_1": {},
    "run-7": {"api_key_hash": "sha256:run-key", "endpoint": "/v1/runs"},
}
SEARCHES = [
    "chatcmpl-fr-00a",
    "CHATCMPL-FR-00A",
    "chatcmpl",
    "Chatcmpl-fr-00b",
    "chatcmpl-fr-00b3",
    "chatcmpl-fr-00a1 chatcmpl",
    '"chatcmpl-fr"',
    "gen-",
    "GEN-I",
    "gen-ı",
    "gen-%",
    "gen-_",
    "ı",
    "gx",  # in an id and a model
    "run",  # starts an id and a key hash
    "nothing-like-it",
    "openai",  # in a model and a body
    "",
]


# `LIKE` on a column other than the id (PostgreSQL: UPPER("…"."model"::text) LIKE UPPER(…)).
OTHER_COLUMN_LIKE = re.compile(r'"(model|provider|endpoint|api_key_hash)"(::text\))? LIKE')


def _generation_ids(queryset) -> set[str]:
    return set(queryset.values_list("generation_id", flat=True))


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize("order", [{}, {"o": "5"}])
@pytest.mark.parametrize("ranges_up_to", [100_000, 1])
def test_admin_search_finds_what_the_search_over_every_column_finds(monkeypatch, search, order, ranges_up_to):
    monkeypatch.setattr("generations.admin.ID_RANGE_ROWS", ranges_up_to)
    for generation_id, fields in SEARCHED_IDS.items():
        make_generation(generation_id, **fields)
    generation_admin = admin.site._registry[Generation]
    request = RequestFactory().get(CHANGELIST, {"q": search, **order})
    rows = Generation.objects.all()
    everywhere, _ = admin.ModelAdmin.get_search_results(generation_admin, request, rows, search)
    with contextlib.suppress(UnsearchableText):
        everywhere |= BodySearch.parse(search).restrict(rows, in_time_order=not order)
    found, may_have_duplicates = generation_admin.get_search_results(request, rows, search)
    assert _generation_ids(found) == _generation_ids(everywhere)
    assert not may_have_duplicates


@pytest.mark.parametrize(
    ("search", "by_id"),
    [("chatcmpl-fr-00a", True), ("CHATCMPL-FR chatcmpl", True), ("gx", False), ("run", False), ("ı", False)],
)
def test_only_a_search_no_other_column_can_match_is_answered_by_the_id_index(search, by_id):
    for generation_id, fields in SEARCHED_IDS.items():
        make_generation(generation_id, **fields)
    assert (ColumnSearch.of(search).by_id() is not None) is by_id


def test_an_id_prefix_search_reads_the_id_index_not_every_column(staff_client, django_assert_max_num_queries):
    for generation_id in ["chatcmpl-fr-00a1", "chatcmpl-fr-00A2", "chatcmpl-fr-00b3"]:
        make_generation(generation_id)
    with django_assert_max_num_queries(30) as captured:
        page = staff_client.get(CHANGELIST, {"q": "chatcmpl-fr-00a"}).content.decode()
    assert "chatcmpl-fr-00a1" in page
    assert "chatcmpl-fr-00A2" in page
    assert "chatcmpl-fr-00b3" not in page
    on_generations = [q["sql"] for q in captured.captured_queries if "generations_generation" in q["sql"]]
    assert not [sql for sql in on_generations if "%chatcmpl-fr-00a%" in sql]  # no LIKE '%…%' over a column
    assert not [sql for sql in on_generations if OTHER_COLUMN_LIKE.search(sql)]
    page_query = next(sql for sql in on_generations if "ORDER BY" in sql and "chatcmpl" in sql)
    if connection.vendor == "sqlite":
        assert "\"generation_id\" >= 'chatcmpl-fr-00a'" in page_query  # the exact spelling's index range
        assert "\"generation_id\" >= 'chatcmpl-fr-00A'" in page_query


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL's planner chooses from its statistics")
def test_an_id_prefix_most_ids_share_walks_the_time_order_instead_of_the_id_ranges(
    staff_client, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr("generations.admin.ID_RANGE_ROWS", 2)
    for generation_id in ["chatcmpl-fr-00a1", "chatcmpl-fr-00A2", "chatcmpl-fr-00b3"]:
        make_generation(generation_id)
    with django_assert_max_num_queries(30) as captured:
        page = staff_client.get(CHANGELIST, {"q": "chatcmpl-fr-00"}).content.decode()
    assert all(generation_id in page for generation_id in ["chatcmpl-fr-00a1", "chatcmpl-fr-00A2", "chatcmpl-fr-00b3"])
    page_query = next(q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"] and "chatcmpl" in q["sql"])
    assert '"generation_id" >=' not in page_query
    assert not OTHER_COLUMN_LIKE.search(page_query)


def test_an_id_search_probes_the_index_a_bounded_number_of_times(django_assert_max_num_queries):
    make_generation("AbCdEfGhIjKlMnOpQrStUvWxYz-1")
    with django_assert_max_num_queries(MAX_ID_PROBES + 1):
        found = ColumnSearch.of("abcdefghijklmnopqrstuvwxyz-1").by_id()
    assert _generation_ids(Generation.objects.filter(found)) == {"AbCdEfGhIjKlMnOpQrStUvWxYz-1"}


@pytest.mark.parametrize("query", ['"', "NEAR(", "x" * 600, "*"])
def test_admin_search_syntax_is_only_text(staff_client, query):
    make_generation("gen-a")
    assert staff_client.get(CHANGELIST, {"q": query}).status_code == 200


def test_admin_filters_render(staff_client):
    make_generation("gen-a", provider="anthropic", is_byok=True)
    response = staff_client.get(CHANGELIST, {"provider": "anthropic", "is_byok__exact": "1"})
    assert response.status_code == 200
    assert b"gen-a" in response.content


def test_admin_change_page_shows_pretty_read_only_json(staff_client):
    generation = make_generation("gen-json")
    page = staff_client.get(reverse("admin:generations_generation_change", args=[generation.pk])).content.decode()
    assert '<pre class="admin-json">{\n  &quot;model&quot;: &quot;openai/gpt-4o-mini&quot;\n}</pre>' in page
    assert 'name="model"' not in page  # read-only


def test_admin_changelist_does_not_count_the_whole_table(staff_client, django_assert_max_num_queries):
    for n in range(3):
        make_generation(f"gen-{n}")
    with django_assert_max_num_queries(14) as captured:
        staff_client.get(CHANGELIST)
    assert sum("COUNT(*)" in q["sql"] and "WHERE" not in q["sql"] for q in captured.captured_queries) <= 1


def test_admin_needs_staff(user_client):
    response = user_client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_changelist_count_is_capped(db, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for n in range(5):
        make_generation(f"g-{n}", body=False, occurred_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n))
    assert CappedCountPaginator(Generation.objects.filter(model__startswith="openai"), 2).count == 3
    assert CappedCountPaginator(Generation.objects.filter(generation_id="g-1"), 2).count == 1


def test_a_capped_count_says_at_least(staff_client, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for n in range(5):
        make_generation(f"g-{n}", body=False, occurred_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n))
    capped = staff_client.get(CHANGELIST + "?q=g-").content.decode()
    assert "at least 3 generations" in capped
    exact = staff_client.get(CHANGELIST + "?q=g-1").content.decode()
    assert "1 generation\n" in exact
    assert "at least" not in exact


def test_admin_changelist_and_search_render(staff_client, db):
    make_generation("g-1")
    assert staff_client.get("/admin/generations/generation/").status_code == 200
    response = staff_client.get("/admin/generations/generation/?q=gpt-4o")
    assert b"g-1" in response.content


def test_the_time_filter_narrows_the_list_without_a_date_hierarchy(staff_client, db):
    make_generation("g-old", occurred_at=datetime(2025, 1, 31, 23, 30, tzinfo=UTC))
    make_generation("g-new", occurred_at=datetime(2025, 3, 2, 8, 0, tzinfo=UTC))
    page = staff_client.get(
        CHANGELIST, {"occurred_at__gte": "2025-03-01 00:00:00+00:00", "occurred_at__lt": "2025-03-03 00:00:00+00:00"}
    ).content.decode()
    assert "g-new" in page
    assert "g-old" not in page


def test_the_provider_filter_lists_the_providers_of_the_rollups(staff_client):
    make_generation("g-1", provider="anthropic")
    make_generation("g-2", provider="not-rolled-up", rollups=False)
    page = staff_client.get(CHANGELIST).content.decode()
    assert "?provider=anthropic" in page
    assert "?provider=not-rolled-up" not in page


def test_only_a_dimension_column_has_rollup_values():
    with pytest.raises(ValueError, match="cost_pico"):
        rollup_dimension_values(["cost_pico"])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the planner's estimate is PostgreSQL's")
def test_an_unfiltered_changelist_shows_the_planners_estimate(monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for n in range(5):
        make_generation(f"g-{n}", body=False, rollups=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE generations_generation")
    paginator = CappedCountPaginator(Generation.objects.all(), 2)
    assert (paginator.count, paginator.count_label) == (5, "about 5")


def test_admin_change_page_shows_dollars_and_rounded_figures_not_raw_values(staff_client):
    generation = make_generation(
        "gen-figures",
        cost_pico=2_054_400_000,
        usage_cost_pico=2_054_400_000,
        credits_used_pico=2_054_400_000,
        output_tokens_per_second=78.09640024405125,
        avg_response_time_minutes=0.021074999,
        latency_ms=1264.5,
    )
    page = staff_client.get(reverse("admin:generations_generation_change", args=[generation.pk])).content.decode()
    assert "$0.002054" in page
    assert "78.1 tok/s" in page
    assert "1,264 ms" in page or "1,265 ms" in page  # the latency
    assert "1,264 ms" in page.split("Average response time", 1)[1]  # FastRouter's 0.02107 minutes
    for raw in ("2054400000", "78.0964", "0.021074999", "Cost pico"):
        assert raw not in page, raw


def test_admin_pages_carry_the_apps_theme(staff_client):
    staff_client.cookies["theme"] = "dark"
    page = staff_client.get(CHANGELIST).content.decode()
    assert 'src="/static/js/admin_theme.js" data-theme="dark"' in page
    assert 'href="/static/css/admin.css"' in page
