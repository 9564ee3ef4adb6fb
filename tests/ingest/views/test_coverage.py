from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.ingest.models import IngestToken, LookupBatch, LookupRequest
from generations.ingest.queue import generation_enqueue
from generations.ingest.tokens import ingest_token_create

pytestmark = pytest.mark.django_db
URL = "/coverage/"


def test_url_name():
    assert reverse("coverage") == URL


def _every_way_in(count: int) -> None:
    token, _ = ingest_token_create(name="checkout")
    for source in LookupBatch.Source.values:
        generation_enqueue(ids=[f"{source}-{n}" for n in range(count)], source=source, ingest_token=token)
    LookupRequest.objects.filter(generation_id__endswith="-0").update(
        state=LookupRequest.State.STORED, updated_at=timezone.now() + timedelta(seconds=90)
    )


@pytest.mark.parametrize("count", [3, 300])
def test_the_page_reads_a_bounded_number_of_queries_whatever_the_rows(viewer_client, count, django_assert_num_queries):
    _every_way_in(count)
    # session, user; coverage's four (counts, time-to-store bins, the queue, the not-found trend); the nav's two
    # permission reads and the worker banner's
    with django_assert_num_queries(9):
        response = viewer_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    token = IngestToken.objects.get()
    for source in ("Reporter", "OpenTelemetry", "Log follower", "Pasted"):
        assert f'{source} · <span class="muted">token #{token.pk} (name hidden)</span>' in page
    assert "checkout" not in page  # token names are for staff (tests/test_roles.py)
    assert page.count('data-label="Stored">1</td>') == len(LookupBatch.Source.values)
    assert "1.5 min" in page  # stored 90 s after arriving
    assert 'aria-current="page">Last 24 hours</a>' in page
    assert f'<a href="{URL}" aria-current="page">Coverage</a>' in page


def test_the_expiry_warning_is_shown(viewer_client, settings):
    settings.FASTROUTER_RETENTION_HOURS = 2
    generation_enqueue(ids=["gen-late"], source=LookupBatch.Source.REPORTER)
    LookupRequest.objects.update(first_seen_at=timezone.now() - timedelta(hours=1.5))
    page = viewer_client.get(URL).content.decode()
    assert 'role="alert">The oldest queued id arrived 1.5 hours ago' in page


def test_each_usual_range_and_an_unknown_one(viewer_client):
    generation_enqueue(ids=["gen-week"], source=LookupBatch.Source.API)
    LookupRequest.objects.update(first_seen_at=timezone.now() - timedelta(days=3))
    assert "No ids arrived in this range" in viewer_client.get(URL, {"range": "24h"}).content.decode()
    assert "Ingest API" in viewer_client.get(URL, {"range": "7d"}).content.decode()
    assert "Ingest API" in viewer_client.get(URL, {"range": "30d"}).content.decode()
    response = viewer_client.get(URL, {"range": "5y"})
    assert response.status_code == 400
    assert "Pick one of the ranges above" in response.content.decode()


def test_login_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
