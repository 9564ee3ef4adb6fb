import pytest
import responses
from django.urls import reverse

from generations.models import Generation, GenerationBody, KeyLabel
from generations.selectors import BODY_DISPLAY_LIMIT
from tests.factories import FASTROUTER_URL, full_payload, let_an_unstorable_time_through, make_generation

pytestmark = pytest.mark.django_db


@pytest.fixture
def fetched(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("chatcmpl-fr-1"))
    user_client.post(reverse("lookup"), {"generation_id": "chatcmpl-fr-1"})
    return Generation.objects.get(generation_id="chatcmpl-fr-1")


def test_detail_shows_every_field_in_human_units(user_client, fetched):
    page = user_client.get(reverse("generation-detail", args=["chatcmpl-fr-1"])).content.decode()
    assert "$0.004731" in page
    assert "0.004731" in page  # credits
    assert "2,514 ms" in page  # timing.duration_ms 2514
    assert "412 / 233 / 645" in page
    assert "92.7 tok/s" in page  # 233 tokens / 2.514 s, derived by us
    # FastRouter's figures in plain words, the raw field and value on hover.
    assert "Speed (FastRouter's figure)" in page
    assert "its unit is doubtful" not in page
    assert "9.12e-08" in page and 'title="avg_tokens_per_nano = ' in page
    assert "min per transaction" not in page
    assert "/v1/chat/completions" in page
    assert "Platform key" in page
    assert "sha256:4f1c2b9e0d7a" in page
    assert "support-bot" in page  # metadata


def test_detail_shows_times_in_the_viewers_zone_with_utc_on_hover(user_client, fetched):
    session = user_client.session
    session["time_zone"] = "Asia/Tokyo"
    session.save()
    page = user_client.get(reverse("generation-detail", args=["chatcmpl-fr-1"])).content.decode()
    assert "2025-11-20 18:14:27 JST" in page
    assert "2025-11-20 09:14:27 UTC" in page


def test_detail_shows_the_conversation(user_client, fetched):
    page = user_client.get(reverse("generation-detail", args=["chatcmpl-fr-1"])).content.decode()
    assert "Summarise the attached incident report in three bullet points." in page
    assert "Rollback restored service in 41 minutes." in page


def test_byok_badge_and_key_label(user_client):
    make_generation("gen-byok", is_byok=True, api_key_hash="sha256:feedfacecafe")
    KeyLabel.objects.create(api_key_hash="sha256:feedfacecafe", name="Support bot", team="Support")
    page = user_client.get(reverse("generation-detail", args=["gen-byok"])).content.decode()
    assert "BYOK" in page
    assert "Support bot" in page


def test_body_text_is_escaped(user_client):
    generation = make_generation("gen-hostile", body=False, model="<b>model</b>")
    GenerationBody.objects.create(
        generation=generation,
        request={"messages": [{"role": "user", "content": "<script>alert(1)</script>"}]},
        response={"choices": [{"message": {"role": "assistant", "content": "<img src=x onerror=alert(1)>"}}]},
    )
    page = user_client.get(reverse("generation-detail", args=["gen-hostile"])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>model</b>" not in page


def test_large_bodies_are_cut_with_a_download_link(user_client):
    generation = make_generation("gen-large", body=False)
    GenerationBody.objects.create(
        generation=generation, response={"text": "x" * (BODY_DISPLAY_LIMIT + 10)}, raw_payload="{}"
    )
    page = user_client.get(reverse("generation-detail", args=["gen-large"])).content.decode()
    assert "Cut at 256 KB" in page
    assert reverse("generation-payload", args=["gen-large"]) in page
    assert page.count("x" * 1000) <= BODY_DISPLAY_LIMIT // 1000 + 1


def test_payload_download_is_the_exact_upstream_text(user_client, fetched):
    response = user_client.get(reverse("generation-payload", args=["chatcmpl-fr-1"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert '"credits_used": 0.004731' in response.content.decode()


def test_refresh_updates_the_stored_record(user_client, fetched, http_mock):
    http_mock.replace(responses.POST, FASTROUTER_URL, json=full_payload("chatcmpl-fr-1", model="openai/gpt-4o"))
    response = user_client.post(reverse("generation-detail", args=["chatcmpl-fr-1"]), follow=True)
    assert b"Refreshed from FastRouter" in response.content
    assert Generation.objects.get().model == "openai/gpt-4o"


@pytest.mark.parametrize("status", [401, 404, 429, 500])
def test_failed_refresh_leaves_the_record_untouched_and_says_why(user_client, fetched, http_mock, status):
    before = Generation.objects.values().get()
    body_before = GenerationBody.objects.values().get()
    http_mock.replace(responses.POST, FASTROUTER_URL, status=status, headers={"Retry-After": "60"})
    response = user_client.post(reverse("generation-detail", args=["chatcmpl-fr-1"]), follow=True)
    assert b"Refresh failed, the stored record is unchanged" in response.content
    assert Generation.objects.values().get() == before
    assert GenerationBody.objects.values().get() == body_before


def test_malformed_refresh_leaves_the_record_untouched(user_client, fetched, http_mock):
    before = Generation.objects.values().get()
    http_mock.replace(responses.POST, FASTROUTER_URL, body="<html>oops</html>")
    user_client.post(reverse("generation-detail", args=["chatcmpl-fr-1"]))
    assert Generation.objects.values().get() == before


def test_refresh_the_database_refuses_leaves_the_record_untouched_and_says_why(
    user_client, fetched, http_mock, monkeypatch
):
    before = Generation.objects.values().get()
    let_an_unstorable_time_through(monkeypatch)
    http_mock.replace(responses.POST, FASTROUTER_URL, json=full_payload("chatcmpl-fr-1", model="openai/gpt-4o"))
    response = user_client.post(reverse("generation-detail", args=["chatcmpl-fr-1"]), follow=True)
    assert b"Refresh failed, the stored record is unchanged" in response.content
    assert b"could not be stored (OverflowError)" in response.content
    assert Generation.objects.values().get() == before


def test_unknown_id_is_404(user_client):
    assert user_client.get(reverse("generation-detail", args=["nope"])).status_code == 404
    assert user_client.post(reverse("generation-detail", args=["nope"])).status_code == 404


def test_ids_with_slashes_and_unicode_round_trip(user_client):
    make_generation("org/team:gen-ü-1")
    url = reverse("generation-detail", args=["org/team:gen-ü-1"])
    assert user_client.get(url).status_code == 200


def test_detail_page_query_count_is_bounded(user_client, fetched, django_assert_max_num_queries):
    # The first view also saves the session (the lookup home's "Recently viewed"): an update in a savepoint.
    with django_assert_max_num_queries(10):
        user_client.get(reverse("generation-detail", args=["chatcmpl-fr-1"]))
    # A reload leaves the list as it is: no session write.
    with django_assert_max_num_queries(8):
        user_client.get(reverse("generation-detail", args=["chatcmpl-fr-1"]))
