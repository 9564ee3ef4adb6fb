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
    with django_assert_num_queries(8):
        response = user_client.get(reverse("batch-detail", args=[batch.pk]))
    page = response.content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert f'hx-get="{reverse("batch-detail", args=[batch.pk])}"' in page
    assert '<progress class="batch-bar" max="4" value="2">' in page
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
