from datetime import UTC, datetime, timedelta

from django.db.models import Max, Min

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


def test_date_hierarchy_finds_the_same_periods_as_a_scan(db):
    from django.db.models import QuerySet

    from generations.admin import IndexedDatesQuerySet

    for n, day in enumerate([(2025, 1, 31), (2025, 3, 2), (2025, 3, 9), (2026, 2, 1)]):
        make_generation(f"g-{n}", body=False, occurred_at=datetime(*day, 23, 30, tzinfo=UTC))
    cheap = IndexedDatesQuerySet(model=Generation)
    for kind in ("year", "month", "day"):
        assert list(cheap.datetimes("occurred_at", kind)) == list(QuerySet(Generation).datetimes("occurred_at", kind))
    assert cheap.aggregate(first=Min("occurred_at"), last=Max("occurred_at")) == Generation.objects.aggregate(
        first=Min("occurred_at"), last=Max("occurred_at")
    )


def test_date_hierarchy_pages_render(staff_client, db):
    make_generation("g-1")
    for query in ("", "?occurred_at__year=2025", "?occurred_at__year=2025&occurred_at__month=11"):
        response = staff_client.get(f"/admin/generations/generation/{query}")
        assert response.status_code == 200
        assert b"g-1" in response.content
