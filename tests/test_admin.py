import pytest
from django.urls import reverse

from tests.factories import make_generation

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:generations_generation_changelist")


def test_admin_finds_records_by_model_name(staff_client):
    make_generation("gen-a", model="anthropic/claude-sonnet-4", provider="anthropic")
    make_generation("gen-b", model="openai/gpt-4o-mini")
    page = staff_client.get(CHANGELIST, {"q": "claude"}).content.decode()
    assert "gen-a" in page
    assert "gen-b" not in page


@pytest.mark.parametrize(
    ("query", "found"), [("gen-pre", True), ("sha256:abcd", True), ("/v1/embed", True), ("zzz", False)]
)
def test_admin_search_covers_id_key_and_endpoint(staff_client, query, found):
    make_generation("gen-prefix-1", api_key_hash="sha256:abcdef012345", endpoint="/v1/embeddings")
    page = staff_client.get(CHANGELIST, {"q": query}).content.decode()
    assert ("gen-prefix-1" in page) is found


def test_admin_filters_and_date_hierarchy_render(staff_client):
    make_generation("gen-a", provider="anthropic", is_byok=True)
    response = staff_client.get(CHANGELIST, {"provider": "anthropic", "is_byok__exact": "1"})
    assert response.status_code == 200
    assert b"gen-a" in response.content
    assert b"2025" in response.content  # date hierarchy


def test_admin_change_page_shows_pretty_read_only_json(staff_client):
    generation = make_generation("gen-json")
    page = staff_client.get(reverse("admin:generations_generation_change", args=[generation.pk])).content.decode()
    assert '<pre class="admin-json">{\n  &quot;model&quot;: &quot;openai/gpt-4o-mini&quot;\n}</pre>' in page
    assert 'name="model"' not in page  # read-only


def test_admin_changelist_does_not_count_the_whole_table(staff_client, django_assert_max_num_queries):
    for n in range(3):
        make_generation(f"gen-{n}")
    with django_assert_max_num_queries(9) as captured:
        staff_client.get(CHANGELIST)
    assert sum("COUNT(*)" in q["sql"] and "WHERE" not in q["sql"] for q in captured.captured_queries) <= 1


def test_admin_needs_staff(user_client):
    response = user_client.get(CHANGELIST)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
