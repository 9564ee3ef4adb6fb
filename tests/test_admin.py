from datetime import UTC, datetime, timedelta

from generations.admin import CappedCountPaginator
from generations.models import Generation
from tests.factories import make_generation


def test_changelist_count_is_capped(db, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "COUNT_CAP", 3)
    for n in range(5):
        make_generation(f"g-{n}", body=False, occurred_at=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=n))
    assert CappedCountPaginator(Generation.objects.filter(model__startswith="openai"), 2).count == 3
    assert CappedCountPaginator(Generation.objects.filter(generation_id="g-1"), 2).count == 1


def test_admin_changelist_and_search_render(staff_client, db):
    make_generation("g-1")
    assert staff_client.get("/admin/generations/generation/").status_code == 200
    response = staff_client.get("/admin/generations/generation/?q=gpt-4o")
    assert b"g-1" in response.content
