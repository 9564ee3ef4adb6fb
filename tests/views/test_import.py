import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from generations.models import LookupBatch, LookupRequest
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def _preview(client, **data):
    return client.post(reverse("import"), data)


def test_import_page_offers_paste_and_upload(user_client):
    page = user_client.get(reverse("import")).content.decode()
    assert 'name="text"' in page
    assert 'type="file"' in page
    assert 'enctype="multipart/form-data"' in page


def test_paste_preview_counts_and_lists_invalid_lines_without_queueing(user_client):
    make_generation("gen-stored1")
    response = _preview(user_client, text="gen-new1\ngen-stored1\n\nbad\x01id\ngen-new1\n")
    page = response.content.decode()
    assert response.status_code == 200
    assert LookupRequest.objects.count() == 0
    assert "Queue 1 new id" in page
    assert "line 4" in page
    assert "spaces or control characters" in page


def test_confirm_queues_the_previewed_ids_and_opens_the_batch(user_client, user):
    preview = _preview(user_client, text="gen-a1, gen-b2 x" + "y" * 300)
    confirm = preview.context["confirm"]
    # A browser sends the newlines of the hidden value as CRLF.
    ids = confirm["ids"].value().replace("\n", "\r\n")
    response = user_client.post(reverse("import"), {"confirm": "1", "ids": ids, "summary": confirm["summary"].value()})
    batch = LookupBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("batch-detail", args=[batch.pk])
    assert (batch.source, batch.created_by, batch.new_count, batch.invalid_count) == ("paste", user, 2, 1)
    assert set(LookupRequest.objects.values_list("generation_id", flat=True)) == {"gen-a1", "gen-b2"}


def test_confirm_with_altered_ids_is_refused(user_client):
    confirm = _preview(user_client, text="gen-a1").context["confirm"]
    response = user_client.post(
        reverse("import"),
        {"confirm": "1", "ids": "gen-a1\ngen-sneaky", "summary": confirm["summary"].value()},
        follow=True,
    )
    assert LookupRequest.objects.count() == 0
    assert "differ from the preview" in response.content.decode()


def test_confirm_with_a_forged_summary_is_refused(user_client):
    response = user_client.post(reverse("import"), {"confirm": "1", "ids": "gen-a1", "summary": "forged"}, follow=True)
    assert LookupRequest.objects.count() == 0
    assert "expired or was altered" in response.content.decode()


def test_upload_jsonl_with_a_key(user_client):
    lines = "\n".join(json.dumps({"response": {"id": f"gen-up{n}"}}) for n in range(3))
    upload = SimpleUploadedFile("log.jsonl", lines.encode(), content_type="application/jsonl")
    response = user_client.post(reverse("import"), {"file": upload, "key": "response.id"})
    assert response.context["counts"].new == 3
    assert response.context["confirm"]["ids"].value() == "gen-up0\ngen-up1\ngen-up2"


def test_upload_over_the_size_limit_is_a_clear_error(user_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    upload = SimpleUploadedFile("ids.txt", b"gen-a1\ngen-b2\ngen-c3\n")
    response = user_client.post(reverse("import"), {"file": upload})
    assert response.status_code == 400
    assert "files up to 10" in response.content.decode()


def test_binary_upload_is_a_clear_error(user_client):
    upload = SimpleUploadedFile("ids.csv", b"\x00\x01\x02PK\x03\x04")
    response = user_client.post(reverse("import"), {"file": upload})
    assert response.status_code == 400
    assert "binary file" in response.content.decode()


def test_nothing_given_is_a_clear_error(user_client):
    response = _preview(user_client, text="   ")
    assert response.status_code == 400
    assert "Paste some ids or choose a file" in response.content.decode()


def test_import_needs_login(client):
    assert client.get(reverse("import")).status_code == 302
