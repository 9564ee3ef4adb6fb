from datetime import timedelta

import pytest
from django.urls import reverse

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest

pytestmark = pytest.mark.django_db
State = LookupRequest.State


@pytest.fixture
def batch():
    batch = queue.generation_enqueue(ids=["gen-a", "gen-b", "gen-c", "gen-d"], source=LookupBatch.Source.PASTE)
    LookupRequest.objects.filter(generation_id="gen-a").update(state=State.STORED)
    LookupRequest.objects.filter(generation_id="gen-b").update(state=State.FAILED, last_error="Gave up: HTTP 500")
    return batch


def test_batch_page_shows_counts_failures_and_polls_while_running(user_client, batch, django_assert_num_queries):
    with django_assert_num_queries(9):  # + the waiting ids
        response = user_client.get(reverse("batch-detail", args=[batch.pk]))
    page = response.content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{reverse("batch-detail", args=[batch.pk])}"' in page
    assert '<progress class="visually-hidden" max="4" value="2">' in page
    assert "Gave up: HTTP 500" in page
    assert f'action="{reverse("batch-retry", args=[batch.pk])}"' in page
    assert "style=" not in page


def test_htmx_poll_renders_only_the_progress_and_stops_when_done(user_client, batch):
    url = reverse("batch-detail", args=[batch.pk])
    running = user_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert running.lstrip().startswith('<div id="batch-progress"')
    assert "every 2s" in running
    LookupRequest.objects.filter(state=State.QUEUED).update(state=State.NOT_FOUND, last_error="gone")
    done = user_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done
    assert "Done." in done


def test_retry_failed_requeues_and_redirects(user_client, batch):
    response = user_client.post(reverse("batch-retry", args=[batch.pk]))
    assert response.status_code == 302
    assert LookupRequest.objects.get(generation_id="gen-b").state == State.QUEUED


def test_batch_list_shows_recent_batches(user_client, batch, django_assert_num_queries):
    with django_assert_num_queries(7):
        page = user_client.get(reverse("batch-list")).content.decode()
    assert f'href="{reverse("batch-detail", args=[batch.pk])}"' in page
    assert "Pasted" in page


def test_unknown_batch_is_404(user_client):
    assert user_client.get(reverse("batch-detail", args=[999])).status_code == 404


def test_each_waiting_id_says_why_and_until_when(user_client, batch, settings):
    settings.FASTROUTER_NOT_FOUND_GRACE_SECONDS = 600
    LookupRequest.objects.filter(generation_id="gen-c").update(state=State.FETCHING, claimed_by="worker-1")
    waiting = LookupRequest.objects.get(generation_id="gen-c")
    queue.lookup_record_not_found(request=waiting, reason="Not found")
    waiting.refresh_from_db()
    page = user_client.get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert "Still waiting, and why" in page
    grace_end = waiting.not_found_grace_end
    assert grace_end == waiting.first_seen_at + timedelta(seconds=600)
    assert "not visible at FastRouter yet; retrying until <time" in page
    assert grace_end.strftime("%Y-%m-%d %H:%M:%S") in page
    assert "queued, not asked yet; first try at" in page  # gen-d


def test_the_bar_is_coloured_by_outcome(user_client, batch):
    LookupRequest.objects.filter(generation_id="gen-c").update(state=State.NOT_FOUND)
    page = user_client.get(reverse("batch-detail", args=[batch.pk])).content.decode()
    assert '<svg class="batch-bar" viewBox="0 0 4 1"' in page
    assert '<rect class="stored" x="0" y="0" width="1" height="1">' in page
    assert '<rect class="not-found" x="1" y="0" width="1" height="1">' in page
    assert '<rect class="failed" x="2" y="0" width="1" height="1">' in page
