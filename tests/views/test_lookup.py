import re
import time

import pytest
import responses
from django.urls import reverse

from generations.fastrouter.client import FastRouterClient
from generations.fastrouter.rate_budget import BUDGET_MINUTE_SECONDS, RateBudget
from generations.models import Generation
from tests.factories import (
    FASTROUTER_URL,
    full_payload,
    let_an_unstorable_time_through,
    make_generation,
    minimal_payload,
)

pytestmark = pytest.mark.django_db


def test_lookup_page_shows_one_box(user_client):
    response = user_client.get(reverse("lookup"))
    assert response.status_code == 200
    assert b'name="generation_id"' in response.content
    assert b'hx-post="/"' in response.content
    assert b'action="/"' in response.content


def test_stored_id_renders_without_calling_fastrouter(user_client, http_mock):
    make_generation("gen-stored")
    response = user_client.post(reverse("lookup"), {"generation_id": "  gen-stored  "})
    assert response.status_code == 302
    assert response["Location"] == reverse("generation-detail", args=["gen-stored"])
    assert len(http_mock.calls) == 0


def test_unknown_id_is_fetched_once_and_kept(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-new"))
    first = user_client.post(reverse("lookup"), {"generation_id": "gen-new"})
    second = user_client.post(reverse("lookup"), {"generation_id": "gen-new"})
    assert first.status_code == second.status_code == 302
    assert len(http_mock.calls) == 1
    assert Generation.objects.filter(generation_id="gen-new").count() == 1


def test_minimal_twelve_field_answer_is_stored(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=minimal_payload("gen-minimal"))
    user_client.post(reverse("lookup"), {"generation_id": "gen-minimal"})
    generation = Generation.objects.get(generation_id="gen-minimal")
    assert generation.model == "openai/gpt-3.5-turbo"
    assert generation.cost_pico == 609_000_000
    assert generation.latency_ms == pytest.approx(0.03524546428333333 * 60_000)


def test_htmx_lookup_swaps_the_detail_in_place_and_pushes_its_url(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-htmx"))
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-htmx"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Push-Url"] == reverse("generation-detail", args=["gen-htmx"])
    assert b'id="lookup-result"' in response.content
    assert b"anthropic/claude-sonnet-4" in response.content
    assert b"<html" not in response.content


@pytest.mark.parametrize(
    ("status", "headers", "message"),
    [
        (404, {}, "FastRouter has no generation with this id, or it has expired"),
        (401, {}, "FASTROUTER_API_KEY"),
        (429, {"Retry-After": "120"}, "try again in"),
        (400, {}, "generation id"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_upstream_errors_are_friendly_messages(user_client, http_mock, status, headers, message, htmx):
    http_mock.add(responses.POST, FASTROUTER_URL, status=status, headers=headers, json={"error": {"message": "x"}})
    extra = {"HX-Request": "true"} if htmx else {}
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-missing"}, headers=extra)
    assert response.status_code == (200 if htmx else 502)
    assert message.lower() in response.content.decode().lower()
    assert not Generation.objects.exists()


def test_upstream_server_error_is_a_friendly_message(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, status=500, body="boom")
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-500"})
    assert response.status_code == 502
    assert b"FastRouter" in response.content
    assert b"Traceback" not in response.content


def test_no_key_configured_says_how_to_set_one(user_client, http_mock, settings):
    settings.FASTROUTER_API_KEY = ""
    page = user_client.get(reverse("lookup"))
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-x"})
    assert b"FASTROUTER_API_KEY" in page.content
    assert b"FASTROUTER_API_KEY" in response.content
    assert len(http_mock.calls) == 0


@pytest.mark.parametrize("bad_id", ["", "   ", "has space", "tab\there", "x" * 257, "nul\x00byte"])
def test_bad_ids_are_refused_before_sending(user_client, http_mock, bad_id):
    response = user_client.post(reverse("lookup"), {"generation_id": bad_id})
    assert response.status_code == 400
    assert b'class="error"' in response.content
    assert len(http_mock.calls) == 0


def test_lookup_needs_login(client):
    response = client.get(reverse("lookup"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --------------------------------------------------------------------------- the shared rate budget


@pytest.fixture
def sleeps(monkeypatch):
    """What the page's FastRouter client slept for (it sleeps for nothing here)."""
    slept: list[float] = []
    init = FastRouterClient.__init__
    monkeypatch.setattr(FastRouterClient, "__init__", lambda self, **options: init(self, **options, sleep=slept.append))
    return slept


def _budget(settings) -> RateBudget:
    return RateBudget(settings.FASTROUTER_MAX_RPM)


def test_429_with_retry_after_answers_at_once_naming_the_wait_and_every_process_waits(
    user_client, http_mock, settings, sleeps
):
    http_mock.add(responses.POST, FASTROUTER_URL, status=429, headers={"Retry-After": "25"}, json={})
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-limited"})
    assert response.status_code == 502
    assert "try again in 25 s" in response.content.decode()
    assert sleeps == []  # no Retry-After slept on while a web worker is held
    assert len(http_mock.calls) == 1
    # The pause is the shared budget's: the fetch workers and the next lookup wait too, without sending.
    assert _budget(settings).paused_until() == pytest.approx(time.time() + 25, abs=2)
    again = user_client.post(reverse("lookup"), {"generation_id": "gen-other"})
    assert re.search(r"rate budget is in use; try again in 2[45] s", again.content.decode())
    assert len(http_mock.calls) == 1


def test_lookup_answers_at_once_while_the_workers_use_the_budget(user_client, http_mock, settings, sleeps):
    settings.FASTROUTER_MAX_RPM = int(BUDGET_MINUTE_SECONDS)  # a slot a second
    budget = _budget(settings)
    for _ in range(4):
        budget.take()  # the fetch workers hold the next four seconds
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-busy"})
    assert re.search(r"The FastRouter rate budget is in use; try again in [34] s\.", response.content.decode())
    assert sleeps == []
    assert len(http_mock.calls) == 0


def test_lookup_waits_for_a_slot_a_moment_away(user_client, http_mock, settings, sleeps):
    settings.FASTROUTER_MAX_RPM = int(BUDGET_MINUTE_SECONDS)  # a slot a second
    _budget(settings).take()
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-soon"))
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-soon"})
    assert response.status_code == 302
    assert sleeps == [pytest.approx(1, abs=0.5)]


def test_every_attempt_takes_a_slot_of_the_budget(user_client, http_mock, settings, monkeypatch):
    take = RateBudget.take
    taken = []
    monkeypatch.setattr(RateBudget, "take", lambda self, **kwargs: taken.append(kwargs) or take(self, **kwargs))
    http_mock.add(responses.POST, FASTROUTER_URL, status=500, json={})
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-retried"))
    assert user_client.post(reverse("lookup"), {"generation_id": "gen-retried"}).status_code == 302
    assert len(http_mock.calls) == len(taken) == 2


def test_lookup_requests_end_within_the_interactive_deadline(user_client, http_mock, settings):
    settings.FASTROUTER_TIMEOUT = 10
    settings.FASTROUTER_INTERACTIVE_DEADLINE = 3
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-quick"))
    user_client.post(reverse("lookup"), {"generation_id": "gen-quick"})
    assert 0 < http_mock.calls[0].request.req_kwargs["timeout"] <= 3


@pytest.mark.parametrize(
    ("odd", "unknown"),
    [
        ({"query_time": "0001-01-01T00:00:00Z"}, "query_time"),
        ({"query_time": "9999-12-31T23:59:59-05:00"}, "query_time"),
        ({"output_token_size": 10**20, "usage": {"completion_tokens": -3}}, "output_tokens"),
        ({"credits_used": "1e400", "usage": {"cost": "NaN"}}, "cost_pico"),
    ],
    ids=["zero-time", "end-of-time", "huge-tokens", "huge-cost"],
)
def test_an_answer_with_out_of_range_values_is_stored_with_them_unknown(user_client, http_mock, odd, unknown):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-odd", **odd))
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-odd"}, follow=True)
    assert response.status_code == 200
    assert getattr(Generation.objects.get(generation_id="gen-odd"), unknown) is None


@pytest.mark.parametrize("htmx", [False, True])
def test_an_answer_the_database_refuses_is_a_clear_message(user_client, http_mock, monkeypatch, htmx):
    let_an_unstorable_time_through(monkeypatch)
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-odd"))
    extra = {"HX-Request": "true"} if htmx else {}
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-odd"}, headers=extra)
    assert response.status_code == (200 if htmx else 502)
    page = response.content.decode()
    assert "answer could not be stored (OverflowError)" in page
    assert "Traceback" not in page
    assert not Generation.objects.exists()


def _listed_ids(html: str, heading: str) -> list[str]:
    """The ids linked under one of the lookup home's lists, in page order."""
    section = html.split(f">{heading}</h2>", 1)[1].split("</section>", 1)[0]
    return re.findall(r'href="/generations/([^"]+)/"', section)


def test_lookup_home_lists_recently_viewed_and_recently_stored_ids_with_their_facts(user_client):
    for n in range(12):
        make_generation(f"gen-{n}", model=f"openai/model-{n}", cost_pico=n * 10**12)
    for n in (3, 5, 3, 7):  # gen-3 opened twice: listed once, at its latest place
        assert user_client.get(reverse("generation-detail", args=[f"gen-{n}"])).status_code == 200
    Generation.objects.filter(generation_id="gen-5").delete()  # no longer stored: not listed

    html = user_client.get(reverse("lookup")).content.decode()
    assert _listed_ids(html, "Recently viewed") == ["gen-7", "gen-3"]
    # Newest stored first, ten of them.
    assert _listed_ids(html, "Recently stored") == [f"gen-{n}" for n in (11, 10, 9, 8, 7, 6, 4, 3, 2, 1)]
    # Model, cost and time through the display formats.
    assert "openai/model-7</span> · $7.00 · <time" in html


def test_recently_viewed_keeps_the_last_ten(user_client):
    for n in range(13):
        make_generation(f"gen-{n}")
        user_client.get(reverse("generation-detail", args=[f"gen-{n}"]))
    html = user_client.get(reverse("lookup")).content.decode()
    assert _listed_ids(html, "Recently viewed") == [f"gen-{n}" for n in range(12, 2, -1)]


def test_an_htmx_lookup_counts_as_viewed(user_client):
    make_generation("gen-inline")
    user_client.post(reverse("lookup"), {"generation_id": "gen-inline"}, HTTP_HX_REQUEST="true")
    assert _listed_ids(user_client.get(reverse("lookup")).content.decode(), "Recently viewed") == ["gen-inline"]


def test_lookup_home_with_nothing_stored_says_where_ids_come_from(user_client):
    html = user_client.get(reverse("lookup")).content.decode()
    assert "Generations you open appear here." in html
    assert "Nothing is stored yet" in html


def test_lookup_home_query_count_does_not_grow_with_what_is_stored_or_viewed(user_client, django_assert_num_queries):
    make_generation("gen-first")
    user_client.get(reverse("generation-detail", args=["gen-first"]))
    with django_assert_num_queries(7) as few:  # session, user, zone, permissions…, and two reads
        user_client.get(reverse("lookup"))
    first_count = len(few)  # now: the next request clears the connection's query log
    for n in range(30):
        make_generation(f"gen-{n}")
        user_client.get(reverse("generation-detail", args=[f"gen-{n}"]))
    with django_assert_num_queries(first_count):
        html = user_client.get(reverse("lookup")).content.decode()
    assert len(_listed_ids(html, "Recently viewed")) == len(_listed_ids(html, "Recently stored")) == 10
