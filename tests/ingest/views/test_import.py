import html
import json
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest, PendingImport
from generations.roles import role_grant
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


def test_the_preview_warns_of_ids_unlike_any_stored_one_and_still_offers_to_queue_them(user_client):
    make_generation("gen-stored1")
    page = _preview(user_client, text="gen-new1\nthis-is-not-an-id\n").content.decode()
    warning = page.split('id="unfamiliar-ids">', 1)[1].split("</p>", 1)[0]
    assert "1 new id does not look like any id stored so far" in warning
    assert "<code>this-is-not-an-id</code>" in warning
    assert "Queue 2 new ids" in page


def test_the_preview_of_familiar_ids_has_no_warning(user_client):
    make_generation("gen-stored1")
    assert 'id="unfamiliar-ids"' not in _preview(user_client, text="gen-new1\n").content.decode()


def _confirm(client, preview, **extra):
    """Post the preview's confirm form as a browser does: its hidden fields, urlencoded."""
    form = preview.content.decode().split('<form method="post" action="/import/" class="actions">')[1]
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.split("</form>")[0])
    body = urlencode([(name, html.unescape(value)) for name, value in fields] + [("confirm", "1")])
    return client.post(reverse("import"), body, content_type="application/x-www-form-urlencoded", **extra)


def test_confirm_queues_the_previewed_ids_and_opens_the_batch(user_client, user):
    preview = _preview(user_client, text="gen-a1, gen-b2 x" + "y" * 300)
    response = _confirm(user_client, preview)
    batch = LookupBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("batch-detail", args=[batch.pk])
    assert (batch.source, batch.created_by, batch.new_count, batch.invalid_count) == ("paste", user, 2, 1)
    assert set(LookupRequest.objects.values_list("generation_id", flat=True)) == {"gen-a1", "gen-b2"}
    assert PendingImport.objects.count() == 0


def test_the_confirm_form_sends_only_the_pending_import_id(user_client):
    page = _preview(user_client, text="gen-a1\ngen-b2").content.decode()
    form = page.split('<form method="post" action="/import/" class="actions">')[1].split("</form>")[0]
    assert "gen-a1" not in form
    assert f'name="pending" value="{PendingImport.objects.get().pk}"' in form


def test_a_preview_is_pending_not_queued_and_not_listed_as_a_batch(user_client, user):
    _preview(user_client, text="gen-a1\ngen-b2")
    pending = PendingImport.objects.get()
    assert (pending.created_by, pending.ids, pending.source) == (user, "gen-a1\ngen-b2", "paste")
    assert LookupRequest.objects.count() == 0
    assert LookupBatch.objects.count() == 0
    assert "No batches yet" in user_client.get(reverse("batch-list")).content.decode()


def test_confirming_twice_queues_once(user_client):
    preview = _preview(user_client, text="gen-a1")
    _confirm(user_client, preview)
    again = _confirm(user_client, preview, follow=True)
    assert LookupBatch.objects.count() == 1
    assert "expired or was already queued" in again.content.decode()


def test_another_users_preview_cannot_be_confirmed(user_client, django_user_model):
    preview = _preview(user_client, text="gen-a1")
    other = django_user_model.objects.create_user(username="other", password="other-pass-123")
    role_grant(user=other, role="member")
    user_client.force_login(other)
    response = _confirm(user_client, preview, follow=True)
    assert LookupRequest.objects.count() == 0
    assert "expired or was already queued" in response.content.decode()


def test_an_expired_preview_is_refused_and_never_queued(user_client):
    preview = _preview(user_client, text="gen-a1")
    PendingImport.objects.update(created_at=timezone.now() - queue.PREVIEW_LIFETIME - timedelta(seconds=1))
    response = _confirm(user_client, preview, follow=True)
    assert LookupRequest.objects.count() == 0
    assert "expired or was already queued" in response.content.decode()


@pytest.mark.parametrize("pending", ["", "abc", "0", str(2**70)])
def test_a_bad_pending_id_is_a_clear_error(user_client, pending):
    response = user_client.post(reverse("import"), {"confirm": "1", "pending": pending}, follow=True)
    assert response.status_code == 200
    assert "expired or was already queued" in response.content.decode()


def test_a_preview_of_the_most_ids_allowed_is_confirmed_end_to_end(staff_client, settings):
    # Staff: a member's daily limit (MEMBER_DAILY_FETCH_LIMIT) is far below the import limit.
    assert settings.IMPORT_MAX_IDS == 100_000  # the documented default: confirming as many once failed
    ids = [f"chatcmpl-fr-{n:016x}" for n in range(settings.IMPORT_MAX_IDS)]  # as long as FastRouter's
    upload = SimpleUploadedFile("ids.txt", "\n".join(ids).encode())
    preview = staff_client.post(reverse("import"), {"file": upload})
    assert preview.context["counts"].new == 100_000
    response = _confirm(staff_client, preview)
    assert response.status_code == 302
    assert LookupBatch.objects.get().new_count == 100_000
    assert LookupRequest.objects.count() == 100_000


def test_a_paste_over_djangos_limit_on_form_fields_is_previewed_and_confirmed(staff_client, settings):
    # Staff: a member's daily limit (MEMBER_DAILY_FETCH_LIMIT) is far below the import limit.
    text = "\n".join(f"gen-{n:05d}-" + "x" * 200 for n in range(13_000))
    assert len(text) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # 2.5 MB
    preview = _preview(staff_client, text=text)
    assert preview.status_code == 200
    assert preview.context["counts"].new == 13_000
    _confirm(staff_client, preview)
    assert LookupRequest.objects.count() == 13_000


def test_a_paste_over_the_import_size_limit_is_a_clear_error(user_client, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 10
    response = _preview(user_client, text="gen-a1\ngen-b2\ngen-c3\n")
    assert response.status_code == 400
    assert "The pasted text is 21" in response.content.decode()


def test_a_paste_comes_back_in_the_form(user_client):
    page = _preview(user_client, text="gen-a1 gen-b2,bad\x01id").content.decode()
    assert ">\ngen-a1 gen-b2,bad\x01id</textarea>" in page


def test_upload_jsonl_with_a_key(user_client):
    lines = "\n".join(json.dumps({"response": {"id": f"gen-up{n}"}}) for n in range(3))
    upload = SimpleUploadedFile("log.jsonl", lines.encode(), content_type="application/jsonl")
    response = user_client.post(reverse("import"), {"file": upload, "key": "response.id"})
    assert response.context["counts"].new == 3
    assert PendingImport.objects.get().ids == "gen-up0\ngen-up1\ngen-up2"


def test_a_csv_column_named_by_a_superscript_digit_is_a_clear_error(user_client):
    upload = SimpleUploadedFile("ids.csv", b"a,b\ngen-a1,gen-b2\n")
    response = user_client.post(reverse("import"), {"file": upload, "column": "²"})
    assert response.status_code == 400
    assert "no column “²”" in response.content.decode()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("deep.jsonl", b'{"id": ' * 100_000 + b"}" * 100_000, "nested too deeply"),
        ("nul.csv", b"generation_id\ngen-a1\x00\n", "binary file"),
        ("latin1.txt", "gen-é1".encode("latin-1"), "not UTF-8"),
        ("empty.txt", b"", "Paste some ids or choose a file"),
        ("bom.txt", b"\xef\xbb\xbf", "the input is empty"),
        ("utf16.txt", "gen-a1".encode("utf-16"), "binary file"),
        ("random.bin", bytes(range(256)) * 40, "binary file"),
    ],
)
def test_unreadable_uploads_get_a_clear_message(user_client, name, content, message):
    response = user_client.post(reverse("import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert LookupRequest.objects.count() == PendingImport.objects.count() == 0


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


def test_the_import_form_still_needs_its_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("import"), {"text": "gen-a1"}).status_code == 403
    assert client.post(reverse("import"), {"confirm": "1", "pending": "1"}).status_code == 403
    assert PendingImport.objects.count() == 0


def test_import_needs_login(client):
    assert client.get(reverse("import")).status_code == 302
