"""The generation list's `?text=`: a search in the prompts and responses, combined with every filter."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from generations.models import GenerationBody
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def with_body(generation_id: str, prompt: str, *, answer: str = "Done.", **fields: object):
    generation = make_generation(generation_id, body=False, **fields)
    GenerationBody.objects.create(
        generation=generation,
        request={"messages": [{"role": "user", "content": prompt}]},
        response={"choices": [{"message": {"role": "assistant", "content": answer}}]},
    )
    return generation


def listed(html: str) -> list[str]:
    return re.findall(r'href="/generations/([^/"]+)/"', html)


@pytest.fixture
def bodies():
    now = timezone.now()
    with_body("gen-refund-gpt", "Please refund order 17", model="openai/gpt-4o", occurred_at=now - timedelta(hours=1))
    with_body("gen-refund-claude", "A refund, please", model="anthropic/claude", occurred_at=now - timedelta(hours=2))
    with_body("gen-refund-old", "refund from long ago", model="openai/gpt-4o", occurred_at=now - timedelta(days=20))
    with_body("gen-other", "Translate this", answer="No refunds here", occurred_at=now - timedelta(hours=3))


def test_text_finds_the_generations_whose_bodies_contain_it(viewer_client, bodies):
    html = viewer_client.get("/generations/?text=refund").content.decode()
    assert listed(html) == ["gen-refund-gpt", "gen-refund-claude"]  # newest first, last 7 days
    assert "2</strong> generations" in html  # the totals count the matches only


def test_text_combines_with_the_other_filters(viewer_client, bodies):
    html = viewer_client.get("/generations/?text=refund&model=openai/gpt-4o&range=30d").content.decode()
    assert listed(html) == ["gen-refund-gpt", "gen-refund-old"]
    html = viewer_client.get("/generations/?text=refund&q=gen-refund-c").content.decode()
    assert listed(html) == ["gen-refund-claude"]
    html = viewer_client.get("/generations/?text=refund&sort=model").content.decode()
    assert listed(html) == ["gen-refund-claude", "gen-refund-gpt"]


def test_each_result_shows_its_highlighted_snippet(viewer_client, bodies):
    html = viewer_client.get("/generations/?text=%22refund+order%22").content.decode()
    assert listed(html) == ["gen-refund-gpt"]
    # SQLite marks the phrase, PostgreSQL each of its words.
    assert re.search(r'<p class="snippet">[^<]*<mark>refund( order</mark>|</mark> <mark>order</mark>)', html)


def test_a_hostile_body_is_shown_escaped(viewer_client):
    with_body("gen-x", '<script>alert("x")</script><img src=x onerror=alert(1)> capybara', occurred_at=timezone.now())
    html = viewer_client.get("/generations/?text=capybara").content.decode()
    assert "<mark>capybara</mark>" in html
    assert "<script>alert" not in html
    assert "<img src=x" not in html


def test_pages_of_a_text_search_walk_every_match_once(viewer_client):
    now = timezone.now()
    for n in range(30):
        with_body(f"gen-{n:02d}", "marmot", occurred_at=now - timedelta(minutes=n))
        with_body(f"gen-skip-{n:02d}", "beaver", occurred_at=now - timedelta(minutes=n))
    seen, url = [], "/generations/?text=marmot&per_page=25"
    while url:
        html = viewer_client.get(url).content.decode()
        seen += listed(html)
        match = re.search(r'href="(\?[^"]*after=[^"]*)" rel="next"', html)
        url = "/generations/" + match.group(1).replace("&amp;", "&") if match else ""
    assert seen == [f"gen-{n:02d}" for n in range(30)]


def test_the_text_is_kept_in_sort_links_and_the_export(viewer_client, bodies):
    html = viewer_client.get("/generations/?text=refund").content.decode()
    sort_link = re.search(r'<a href="(\?[^"]*sort=-cost[^"]*)"', html).group(1)
    assert "text=refund" in sort_link
    response = viewer_client.get("/generations/export.csv?text=refund&range=30d")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(row[0] for row in rows[1:]) == ["gen-refund-claude", "gen-refund-gpt", "gen-refund-old"]


@pytest.mark.parametrize(
    "text",
    ['"', '"refund', "refund*", "NEAR(refund", "-refund", "refund OR", "a:b", "()", "'", "%", "\\", "\U0001f600"],
)
def test_query_syntax_is_never_a_server_error(viewer_client, bodies, text):
    response = viewer_client.get("/generations/", {"text": text})
    assert response.status_code in (200, 400)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x\0y", "Null characters are not allowed"),
        ("refund " * 2000, "at most 500 characters"),
        ("*** ---", "at least one word of letters or digits"),
    ],
)
def test_unsearchable_text_is_a_clear_400(viewer_client, text, message):
    response = viewer_client.get("/generations/", {"text": text})
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("sort", ["-occurred_at", "occurred_at", "-cost", "model"])
def test_a_common_search_lists_the_same_rows_as_a_rare_one(viewer_client, monkeypatch, bodies, sort):
    url = f"/generations/?text=refund&range=30d&sort={sort}"
    rare = viewer_client.get(url).content.decode()
    # Every search with 2 matches or more is common.
    monkeypatch.setattr("generations.body_search.FEW_MATCHES", 2)
    monkeypatch.setattr("generations.analytics.listing.FEW_MATCHES", 2)
    common = viewer_client.get(url).content.decode()
    assert listed(common) == listed(rare)
    assert len(listed(common)) == 3
    assert "at least 2</strong>" not in common
    assert "The text is in at least 2 stored generations: too many to total here" in common
    assert "3</strong> generations" in rare


def test_a_common_search_in_another_order_finds_rows_stored_out_of_time_order(viewer_client, monkeypatch, bodies):
    monkeypatch.setattr("generations.body_search.FEW_MATCHES", 2)
    monkeypatch.setattr("generations.analytics.listing.FEW_MATCHES", 2)
    # Stored last (the largest id) but older than the range's newest rows: the ids read from the
    # index are bounded by the rows of the range, not by their times.
    with_body(
        "gen-refund-late", "refund, stored late", cost_pico=10**15, occurred_at=timezone.now() - timedelta(days=5)
    )
    html = viewer_client.get("/generations/?text=refund&sort=-cost").content.decode()
    assert listed(html)[0] == "gen-refund-late"
    assert sorted(listed(html)) == ["gen-refund-claude", "gen-refund-gpt", "gen-refund-late"]


def test_a_common_search_in_a_range_with_no_rows_lists_nothing(viewer_client, monkeypatch, bodies):
    monkeypatch.setattr("generations.body_search.FEW_MATCHES", 2)
    monkeypatch.setattr("generations.analytics.listing.FEW_MATCHES", 2)
    response = viewer_client.get("/generations/?text=refund&model=nobody/none&sort=-cost")
    assert response.status_code == 200
    assert listed(response.content.decode()) == []
