"""The pages that show stored generations, for the tests that go through every one of them."""

from django.urls import reverse


def stored_generation_urls(generation_id: str) -> list[str]:
    """Each page and download of stored generations; the detail and payload ones of `generation_id`."""
    return [
        reverse("dashboard"),
        reverse("generation-list"),
        reverse("generation-detail", args=[generation_id]),
        reverse("generation-payload", args=[generation_id]),
        reverse("generation-export"),
        reverse("dashboard-chart-csv", args=["cost-over-time"]),
        reverse("batch-list"),
    ]
