"""Roles: viewers read what is stored, members also fetch within a daily limit, staff do everything."""

from datetime import timedelta

import pytest
import responses
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.ingest.tokens import ingest_token_create
from generations.models import DailyFetchUsage
from generations.roles import FETCH_PERMISSION, UNLIMITED_PERMISSION, FetchRefused, role_grant
from tests.factories import FASTROUTER_URL, full_payload, make_generation
from tests.pages import stored_generation_urls

pytestmark = pytest.mark.django_db
State = LookupRequest.State
NOT_A_MEMBER = "You may only view stored generations; ask an admin for the member role"


@pytest.fixture
def stored():
    make_generation("gen-stored")


@pytest.fixture
def failed_batch():
    batch = queue.generation_enqueue(ids=["gen-f1", "gen-f2", "gen-f3"], source=LookupBatch.Source.PASTE)
    LookupRequest.objects.update(state=State.FAILED, last_error="Gave up: HTTP 500")
    return batch


def _today_usage(user) -> int:
    return DailyFetchUsage.objects.filter(user=user).values_list("ids", flat=True).first() or 0


def test_the_migration_creates_the_member_and_staff_groups():
    member = set(Group.objects.get(name="member").permissions.values_list("codename", flat=True))
    staff = set(Group.objects.get(name="staff").permissions.values_list("codename", flat=True))
    assert member == {"fetch_generations"}
    assert {"fetch_generations", "fetch_unlimited", "view_ingesttoken", "add_ingesttoken", "change_keylabel"} <= staff


@pytest.mark.parametrize("url", stored_generation_urls("gen-stored"))
def test_a_viewer_reads_everything_stored(viewer_client, stored, url):
    assert viewer_client.get(url).status_code == 200


def test_a_viewer_opens_a_stored_id_without_a_fetch(viewer_client, stored, http_mock):
    response = viewer_client.post(reverse("lookup"), {"generation_id": "gen-stored"})
    assert response["Location"] == reverse("generation-detail", args=["gen-stored"])
    assert len(http_mock.calls) == 0


@pytest.mark.parametrize("htmx", [False, True])
def test_a_viewers_lookup_of_an_unknown_id_is_refused_without_a_fetch(viewer_client, http_mock, htmx):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-new"))
    headers = {"HX-Request": "true"} if htmx else {}
    response = viewer_client.post(reverse("lookup"), {"generation_id": "gen-new"}, headers=headers)
    # htmx swaps only 2xx answers; the message says what is wrong.
    assert response.status_code == (200 if htmx else 403)
    assert NOT_A_MEMBER in response.content.decode()
    assert len(http_mock.calls) == 0


def test_a_viewer_cannot_import_retry_or_refresh(viewer_client, stored, failed_batch, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-stored"))
    for url in (reverse("import"), reverse("batch-retry", args=[failed_batch.pk])):
        response = viewer_client.post(url, {"text": "gen-x1"})
        assert response.status_code == 403, url
        assert NOT_A_MEMBER in response.content.decode()
    assert viewer_client.get(reverse("import")).status_code == 403
    refresh = viewer_client.post(reverse("generation-detail", args=["gen-stored"]), follow=True)
    assert NOT_A_MEMBER in refresh.content.decode()
    assert len(http_mock.calls) == 0
    assert set(LookupRequest.objects.values_list("state", flat=True)) == {State.FAILED}


def test_a_viewer_sees_no_button_they_cannot_use_and_a_member_does(viewer_client, user, stored, failed_batch):
    pages = [reverse("lookup"), reverse("generation-detail", args=["gen-stored"])]
    pages.append(reverse("batch-detail", args=[failed_batch.pk]))
    viewer_pages = "".join(viewer_client.get(url).content.decode() for url in pages)
    viewer_client.force_login(user)
    member_pages = "".join(viewer_client.get(url).content.decode() for url in pages)
    for control in (f'href="{reverse("import")}"', "Refresh from FastRouter", "Retry failed"):
        assert control not in viewer_pages
        assert control in member_pages
    assert "Fetching new ids from FastRouter needs the member role" in viewer_pages
    assert "needs the member role" not in member_pages


def test_token_names_are_for_staff_only(client, viewer_user, user, staff_user):
    batch = queue.generation_enqueue(ids=["gen-api1"], source=LookupBatch.Source.API, label="billing-service")
    token, _ = ingest_token_create(name="billing-service")
    traced = queue.generation_enqueue(
        ids=["gen-otlp1"], source=LookupBatch.Source.OTLP, label=token.name, ingest_token=token
    )
    urls = [
        reverse("batch-list"),
        reverse("batch-detail", args=[batch.pk]),
        reverse("batch-detail", args=[traced.pk]),
    ]
    for who, shown in ((viewer_user, False), (user, False), (staff_user, True)):
        client.force_login(who)
        for url in urls:
            page = client.get(url).content.decode()
            assert ("billing-service" in page) is shown, url
            assert ("token name hidden" in page) is not shown, url
        coverage = client.get(reverse("coverage")).content.decode()
        assert ("OpenTelemetry · billing-service" in coverage) is shown
        assert (f'OpenTelemetry · <span class="muted">token #{token.pk} (name hidden)' in coverage) is not shown


def test_a_member_fetches_new_ids_until_the_daily_limit(user_client, user, http_mock, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 2
    for n in range(3):
        http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload(f"gen-{n}"))
    assert user_client.post(reverse("lookup"), {"generation_id": "gen-0"}).status_code == 302
    # A stored id costs nothing.
    assert user_client.post(reverse("lookup"), {"generation_id": "gen-0"}).status_code == 302
    assert user_client.post(reverse("lookup"), {"generation_id": "gen-1"}).status_code == 302
    refused = user_client.post(reverse("lookup"), {"generation_id": "gen-2"})
    assert refused.status_code == 429
    assert "Daily limit reached: members may fetch or queue 2 ids a day, you have 0 left" in refused.content.decode()
    assert len(http_mock.calls) == 2
    assert _today_usage(user) == 2


def test_a_refresh_counts_against_the_limit(user_client, user, stored, http_mock, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 1
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-stored"))
    url = reverse("generation-detail", args=["gen-stored"])
    assert "Refreshed from FastRouter." in user_client.post(url, follow=True).content.decode()
    assert "Daily limit reached" in user_client.post(url, follow=True).content.decode()
    assert len(http_mock.calls) == 1


def test_an_import_over_the_limit_queues_nothing(user, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 3
    make_generation("gen-stored")
    ids = ["gen-stored", "gen-a", "gen-b", "gen-c", "gen-d"]
    with pytest.raises(FetchRefused) as refused:
        queue.generation_enqueue(ids=ids, source=LookupBatch.Source.PASTE, user=user)
    assert refused.value.status == 429
    assert "you have 3 left and this needs 4" in refused.value.user_message
    assert not LookupBatch.objects.exists()
    assert _today_usage(user) == 0
    # Ids already stored or queued cost nothing.
    queue.generation_enqueue(ids=ids[:4], source=LookupBatch.Source.PASTE, user=user)
    queue.generation_enqueue(ids=ids[:4], source=LookupBatch.Source.PASTE, user=user)
    assert _today_usage(user) == 3


def test_a_retry_over_the_limit_is_refused_with_a_page_saying_why(user_client, user, failed_batch, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 2
    response = user_client.post(reverse("batch-retry", args=[failed_batch.pk]))
    assert response.status_code == 429
    assert "this needs 3" in response.content.decode()
    assert set(LookupRequest.objects.values_list("state", flat=True)) == {State.FAILED}
    settings.MEMBER_DAILY_FETCH_LIMIT = 3
    assert user_client.post(reverse("batch-retry", args=[failed_batch.pk])).status_code == 302
    assert set(LookupRequest.objects.values_list("state", flat=True)) == {State.QUEUED}


def test_the_limit_is_per_user_and_per_day(user, django_user_model, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 2
    DailyFetchUsage.objects.create(user=user, day=timezone.localdate() - timedelta(days=1), ids=2)
    colleague = django_user_model.objects.create_user(username="colleague")
    role_grant(user=colleague, role="member")
    queue.generation_enqueue(ids=["gen-a", "gen-b"], source=LookupBatch.Source.PASTE, user=colleague)
    queue.generation_enqueue(ids=["gen-c", "gen-d"], source=LookupBatch.Source.PASTE, user=user)
    assert LookupRequest.objects.count() == 4


def test_staff_and_superusers_have_no_limit(django_user_model, staff_user, settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 1
    staff = django_user_model.objects.create_user(username="lead")
    role_grant(user=staff, role="staff")
    for who in (staff, staff_user):
        queue.generation_enqueue(ids=[f"gen-{who.pk}-{n}" for n in range(5)], source=LookupBatch.Source.PASTE, user=who)
    assert LookupRequest.objects.count() == 10
    assert not DailyFetchUsage.objects.exists()


def test_the_command_line_api_and_demo_are_not_limited(settings):
    settings.MEMBER_DAILY_FETCH_LIMIT = 1
    queue.generation_enqueue(ids=["gen-a", "gen-b", "gen-c"], source=LookupBatch.Source.CLI)
    assert LookupRequest.objects.count() == 3


def test_granting_a_role_replaces_the_previous_one(user):
    role_grant(user=user, role="staff")
    user = type(user).objects.get(pk=user.pk)
    assert user.is_staff
    assert user.has_perm(UNLIMITED_PERMISSION)
    assert list(user.groups.values_list("name", flat=True)) == ["staff"]
    role_grant(user=user, role="viewer")
    user = type(user).objects.get(pk=user.pk)
    assert not user.is_staff
    assert not user.has_perm(FETCH_PERMISSION)
    assert not user.groups.exists()


def test_granting_a_role_recreates_a_deleted_group(user):
    Group.objects.filter(name="member").delete()
    role_grant(user=user, role="member")
    assert type(user).objects.get(pk=user.pk).has_perm(FETCH_PERMISSION)
