import hashlib
import json
import logging
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.ingest.models import IngestToken, LookupBatch, LookupRequest
from generations.ingest.tokens import ingest_token_create
from tests.factories import make_generation

pytestmark = pytest.mark.django_db
URL = "/api/ingest"
FULL_TOKEN = re.compile(r"frdi_[\w-]{43}")


@pytest.fixture
def token():
    return ingest_token_create(name="billing-service")


def _post(client, body, raw=None, **headers):
    if raw is not None:
        headers["Authorization"] = f"Bearer {raw}"
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def test_url_name():
    assert reverse("ingest-api") == URL


def test_ids_are_queued_and_counted(client, token):
    make_generation("gen-stored")
    _, raw = token
    response = _post(client, ["gen-a1", "gen-stored", "gen-a1", "bad id", 7], raw)
    assert response.status_code == 202
    body = response.json()
    assert (body["queued"], body["already_stored"], body["already_queued"]) == (1, 1, 0)
    assert [e["item"] for e in body["invalid"]] == ["item 4", "item 5"]
    batch = LookupBatch.objects.get()
    assert (batch.source, batch.label) == ("api", "billing-service")
    assert LookupRequest.objects.get().generation_id == "gen-a1"


def test_object_form_and_no_csrf_needed(token, client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    response = _post(csrf_client, {"ids": ["gen-a1"]}, token[1])
    assert response.status_code == 202


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer frdi_wrong", "Basic abc", "Bearer not-a-token"])
def test_missing_or_wrong_token_is_401(client, token, header):
    headers = {} if header is None else {"Authorization": header}
    response = client.post(URL, data="[]", content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert "error" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert LookupBatch.objects.count() == 0


def test_revoked_token_is_401(client, token):
    stored, raw = token
    IngestToken.objects.filter(pk=stored.pk).update(revoked_at=timezone.now())
    assert _post(client, ["gen-a1"], raw).status_code == 401


def test_token_is_stored_only_hashed(token):
    stored, raw = token
    stored.refresh_from_db()
    assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in json.dumps(list(IngestToken.objects.values()), default=str)
    assert stored.prefix == raw[:12]


def test_last_used_is_recorded(client, token):
    stored, raw = token
    _post(client, ["gen-a1"], raw)
    stored.refresh_from_db()
    assert stored.last_used_at is not None


@pytest.mark.parametrize("body", ["{not json", '"gen-a1"', '{"other": 1}', b"\xff\xfe"])
def test_bad_bodies_are_400_with_a_clear_error(client, token, body):
    response = _post(client, body, token[1])
    assert response.status_code == 400
    assert "list of ids" in response.json()["error"]


def test_too_many_ids_is_413(client, token, settings):
    settings.INGEST_MAX_IDS_PER_REQUEST = 2
    response = _post(client, ["gen-a1", "gen-b2", "gen-c3"], token[1])
    assert response.status_code == 413
    assert "at most 2" in response.json()["error"]


def test_body_over_the_upload_limit_is_413(client, token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = _post(client, [f"gen-{n:08d}" for n in range(50)], token[1])
    assert response.status_code == 413


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"ids": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_json_nested_100000_levels_deep_is_400_json(client, token, body):
    response = _post(client, body, token[1])
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_an_item_nested_deeply_but_readable_is_reported_invalid(client, token):
    response = _post(client, '["gen-a1", ' + "[" * 900 + "]" * 900 + "]", token[1])
    assert response.status_code == 202
    assert response.json()["invalid"] == [{"item": "item 2", "reason": "not text"}]


def test_an_unexpected_error_answers_json_and_is_logged_without_the_token(client, token, monkeypatch, caplog):
    def fail(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("generations.ingest.queue.generation_enqueue", fail)
    response = _post(client, ["gen-a1"], token[1])
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert "internal error" in response.json()["error"]
    assert "database went away" in caplog.text
    assert token[1] not in caplog.text


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_answer_json_405(client, token, method):
    response = getattr(client, method)(URL, headers={"Authorization": f"Bearer {token[1]}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "POST" in response.json()["error"]


def test_token_never_logged(client, token, caplog):
    caplog.set_level(logging.DEBUG)
    _post(client, ["gen-a1"], token[1])
    _post(client, ["gen-a1"], token[1] + "x")
    assert token[1] not in caplog.text


def test_admin_shows_a_new_token_on_its_answer_page_and_keeps_it_nowhere(staff_client):
    response = staff_client.post(reverse("admin:generations_ingesttoken_add"), {"name": "etl"})
    # A message would sit in a cookie (signed, not encrypted) or the session, and show on the next page.
    next_page = staff_client.get(reverse("admin:generations_ingesttoken_changelist")).content.decode()
    assert FULL_TOKEN.search(next_page) is None
    assert not any(FULL_TOKEN.search(cookie.value) for cookie in staff_client.cookies.values())
    assert not FULL_TOKEN.search(json.dumps(dict(staff_client.session.items()), default=str))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = FULL_TOKEN.search(response.content.decode()).group()
    assert IngestToken.objects.get().token_hash == hashlib.sha256(raw.encode()).hexdigest()


def test_admin_revokes_tokens(staff_client, token):
    stored, _raw = token
    staff_client.post(
        reverse("admin:generations_ingesttoken_changelist"), {"action": "revoke", "_selected_action": [stored.pk]}
    )
    stored.refresh_from_db()
    assert stored.revoked_at is not None


def test_common_tags_and_the_reporter_source_go_on_every_queued_id(client, token):
    stored, raw = token
    body = {"ids": ["gen-a1", "gen-b2"], "tags": {"feature": "search", "user.id": "42"}, "source": "reporter"}
    assert _post(client, body, raw).status_code == 202
    rows = LookupRequest.objects.order_by("generation_id")
    assert [(r.source, r.tags) for r in rows] == [("reporter", {"feature": "search", "user.id": "42"})] * 2
    batch = LookupBatch.objects.get()
    assert (batch.source, batch.label, batch.ingest_token) == ("reporter", "billing-service", stored)


def test_items_carry_their_own_tags_over_the_common_ones(client, token):
    body = {
        "items": [{"id": "gen-a1", "tags": {"user": "7", "feature": "chat"}}, {"id": "gen-b2"}],
        "tags": {"feature": "search"},
    }
    response = _post(client, body, token[1])
    assert response.status_code == 202
    assert response.json()["queued"] == 2
    tags = dict(LookupRequest.objects.values_list("generation_id", "tags"))
    assert tags == {"gen-a1": {"feature": "chat", "user": "7"}, "gen-b2": {"feature": "search"}}
    assert set(LookupRequest.objects.values_list("source", flat=True)) == {"api"}


def test_an_item_with_bad_tags_is_invalid_and_the_others_are_queued(client, token):
    body = {
        "items": [
            {"id": "gen-a1", "tags": {"user": 42}},
            {"id": "gen-b2", "tags": {"bad key": "x"}},
            "gen-c3",
            {"id": "gen-d4", "extra": 1},
            {"id": "gen-e5", "tags": {"ok": "yes"}},
        ]
    }
    response = _post(client, body, token[1])
    assert response.status_code == 202
    invalid = {e["item"]: e["reason"] for e in response.json()["invalid"]}
    assert invalid["item 1"] == "tags: tag 'user' must be text, not int: send numbers as strings."
    assert invalid["item 2"].startswith("tags: tag name 'bad key' is not accepted")
    assert set(invalid) == {"item 1", "item 2", "item 3", "item 4"}
    assert list(LookupRequest.objects.values_list("generation_id", "tags")) == [("gen-e5", {"ok": "yes"})]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ids": ["gen-a1"], "tags": ["feature"]}, "tags: tags must be a JSON object"),
        ({"ids": ["gen-a1"], "tags": {"k": "v\n"}}, "tags: tag 'k' must be 1 to 200 printable characters"),
        ({"ids": ["gen-a1"], "tags": {"k": "v" * 201}}, "tags: tag 'k' must be 1 to 200 printable characters"),
        ({"ids": ["gen-a1"], "tags": {"k" * 65: "v"}}, "is not accepted: use 1 to 64 letters"),
        ({"ids": ["gen-a1"], "tags": {f"k{n}": "v" for n in range(21)}}, "21 tags sent; at most 20"),
        ({"ids": ["gen-a1"], "tags": {"nested": {"a": "b"}}}, "tag 'nested' must be text, not dict"),
        ({"ids": ["gen-a1"], "source": "paste"}, "source must be one of 'api', 'reporter'"),
        ({"ids": ["gen-a1"], "items": []}, 'Send either "ids" or "items", not both.'),
        ({"ids": ["gen-a1"], "tag": {"k": "v"}}, "Unknown field 'tag'"),
        ({"items": "gen-a1"}, "The body must be a list of ids"),
    ],
)
def test_bad_tags_source_or_fields_are_a_clear_400_and_nothing_is_queued(client, token, body, message):
    response = _post(client, body, token[1])
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert LookupBatch.objects.count() == 0


def test_merged_tags_over_the_limit_make_the_item_invalid(client, token):
    body = {
        "items": [{"id": "gen-a1", "tags": {f"i{n}": "v" for n in range(11)}}],
        "tags": {f"c{n}": "v" for n in range(10)},
    }
    response = _post(client, body, token[1])
    assert response.json()["invalid"] == [
        {"item": "item 1", "reason": "tags: 21 tags sent; at most 20 are accepted per id."}
    ]


def test_items_count_against_the_per_request_limit(client, token, settings):
    settings.INGEST_MAX_IDS_PER_REQUEST = 2
    response = _post(client, {"items": [{"id": f"gen-a{n}"} for n in range(3)]}, token[1])
    assert response.status_code == 413
