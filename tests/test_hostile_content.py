"""Hostile generations render escaped, whole and small on every page, admin included."""

import json

import pytest
import responses
from django.urls import reverse

from generations.models import Generation
from generations.selectors import BODY_DISPLAY_LIMIT, indented_json, pretty_body
from tests.factories import FASTROUTER_URL, full_payload
from tests.hostile import FIVE_MB, HOSTILE_IDS, IMG, LONG_UNBROKEN, SCRIPT, TEMPLATE, nested, store_hostile

pytestmark = pytest.mark.django_db

LIVE_MARKUP = [SCRIPT, IMG, "</textarea><script>", '<a href="javascript:', "<img/src=x"]


def _assert_inert(content: bytes) -> None:
    html = content.decode()
    for markup in LIVE_MARKUP:
        assert markup not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _pages(generation: Generation) -> list[str]:
    return [
        reverse("generation-detail", args=[generation.generation_id]),
        reverse("admin:generations_generation_change", args=[generation.pk]),
        reverse("admin:generations_generation_changelist"),
        reverse("admin:generations_generation_changelist") + "?q=%3Cscript",
    ]


@pytest.mark.parametrize("generation_id", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_hostile_generation_renders_escaped_on_every_page(staff_client, generation_id):
    generation = store_hostile(generation_id)
    for url in _pages(generation):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        _assert_inert(response.content)


@pytest.mark.parametrize("generation_id", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_hostile_id_lookup_redirects_to_its_own_detail_page(user_client, generation_id):
    store_hostile(generation_id)
    response = user_client.post(reverse("lookup"), {"generation_id": generation_id})
    assert response.status_code == 302
    followed = user_client.get(response["Location"])
    assert followed.status_code == 200
    assert followed.context["detail"].generation.generation_id == generation_id


def test_hostile_generation_in_the_htmx_lookup_result_is_escaped(user_client):
    store_hostile("gen-hostile-htmx")
    response = user_client.post(
        reverse("lookup"), {"generation_id": "gen-hostile-htmx"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    _assert_inert(response.content)


def test_template_syntax_in_a_body_is_shown_not_evaluated(user_client):
    store_hostile("gen-template")
    response = user_client.get(reverse("generation-detail", args=["gen-template"]))
    assert TEMPLATE in response.content.decode()


def test_payload_download_is_an_attachment_named_by_row_not_by_id(user_client):
    generation = store_hostile(HOSTILE_IDS["script"])
    response = user_client.get(reverse("generation-payload", args=[generation.generation_id]))
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="generation-{generation.pk}.json"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert json.loads(response.content)["id"] == generation.generation_id


def test_id_with_an_invisible_joiner_is_refused_with_a_message(user_client):
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-👩\u200d💻"})
    assert response.status_code == 400
    assert "spaces or control characters" in response.content.decode()


def test_names_longer_than_their_columns_are_cut_and_kept_whole_in_the_payload(user_client):
    generation = store_hostile("gen-long-names")
    assert len(generation.model) == Generation._meta.get_field("model").max_length
    assert generation.model.startswith(SCRIPT)
    assert LONG_UNBROKEN in generation.body.raw_payload


def test_five_megabyte_body_gives_a_page_of_bounded_size(user_client):
    store_hostile("gen-huge", body_size=FIVE_MB)
    response = user_client.get(reverse("generation-detail", args=["gen-huge"]))
    assert response.status_code == 200
    assert len(response.content) < 1_500_000
    assert "Download the whole JSON" in response.content.decode()
    assert "Cut at 16 KB for display" in response.content.decode()


def test_five_megabyte_body_admin_page_is_bounded_too(staff_client):
    generation = store_hostile("gen-huge-admin", body_size=FIVE_MB)
    response = staff_client.get(reverse("admin:generations_generation_change", args=[generation.pk]))
    assert response.status_code == 200
    assert len(response.content) < 1_500_000


def test_indented_json_matches_the_json_module():
    value = {"a": [1, 2.5, {"b": None, "c": True, "é": "<x>🎉"}], "empty": {}, "list": [], "s": "\"'\n"}
    assert indented_json(value) == json.dumps(value, indent=2, ensure_ascii=False)
    assert indented_json([[[]]]) == json.dumps([[[]]], indent=2)
    assert indented_json("text") == '"text"'


def test_pretty_body_survives_nesting_deeper_than_the_recursion_limit():
    body = pretty_body(nested(1500))
    assert body.truncated
    assert len(body.text) == BODY_DISPLAY_LIMIT
    assert body.text.startswith('[\n  {\n    "level": 1,')


def test_deeply_nested_fastrouter_answer_is_stored_and_shown(user_client, http_mock):
    http_mock.add(responses.POST, FASTROUTER_URL, json=full_payload("gen-deep") | {"metadata": {"deep": nested(500)}})
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-deep"})
    assert response.status_code == 302
    page = user_client.get(response["Location"])
    assert page.status_code == 200
    assert '"level": 500' in Generation.objects.get(generation_id="gen-deep").body.raw_payload


def test_fastrouter_answer_nested_beyond_any_parser_is_explained_not_a_crash(user_client, http_mock):
    too_deep = '{"id": "gen-abyss", "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    http_mock.add(responses.POST, FASTROUTER_URL, body=too_deep, content_type="application/json")
    response = user_client.post(reverse("lookup"), {"generation_id": "gen-abyss"})
    assert response.status_code == 502
    assert "could not understand" in response.content.decode() or "not valid JSON" in response.content.decode()
    assert not Generation.objects.filter(generation_id="gen-abyss").exists()
