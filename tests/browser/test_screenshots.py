"""The pages people see first (dashboard, list, batch, detail) at 1440 and 390 px, light and dark:
each fits its width without sideways scrolling, and each is photographed.

The photos are docs/screenshots/: refresh them with

    UPDATE_SCREENSHOTS=1 REQUIRE_BROWSER=1 pytest tests/browser/test_screenshots.py

(otherwise they land in test-artifacts/screenshots/). pngquant, when installed, makes them small.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from generations.ingest import queue
from generations.ingest.models import LookupBatch, LookupRequest
from generations.models import Generation, KeyLabel
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_dashboard_flows import DRAWN, stored_generations  # noqa: F401

pytestmark = pytest.mark.browser

DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"
SIZES = {1440: {"width": 1440, "height": 900}, 390: {"width": 390, "height": 844}}
THEMES = ["light", "dark"]
# How much of a page a photo keeps: its first screen and a half, enough to show what it is.
SCREENS = 1.5
MAX_BYTES = 400_000


@pytest.fixture
def pages(stored_generations):  # noqa: F811
    """The four pages' URLs, over the demo generations, a labelled key and a batch part done."""
    generation = Generation.objects.get(generation_id=stored_generations[0])
    KeyLabel.objects.create(api_key_hash=generation.api_key_hash, name="Support bot", team="Support")
    # A batch part done: 6 stored, 1 not found, 1 failed, 1 not visible yet, 1 still queued.
    ids = [f"chatcmpl-fr-{number:016x}" for number in range(9)]
    batch = queue.generation_enqueue(
        ids=[*ids, "this-is-not-an-id"], source=LookupBatch.Source.PASTE, label="Pasted from ticket #48213"
    )
    states = [LookupRequest.State.STORED] * 6 + [LookupRequest.State.NOT_FOUND, LookupRequest.State.FAILED]
    for generation_id, state in zip(ids, states, strict=False):
        LookupRequest.objects.filter(generation_id=generation_id).update(state=state)
    LookupRequest.objects.filter(generation_id="this-is-not-an-id").update(
        last_error=LookupRequest.NOT_VISIBLE_YET, attempts=2
    )
    return {
        "dashboard": "/dashboard/?range=7d",
        "list": "/generations/?range=7d",
        "batch": f"/batches/{batch.pk}/",
        "detail": f"/generations/{generation.generation_id}/",
    }


def _small(path: Path) -> None:
    pngquant = shutil.which("pngquant")
    if pngquant:
        subprocess.run(  # noqa: S603 (a fixed program on a file we just wrote)
            [pngquant, "--force", "--skip-if-larger", "--quality=65-90", "--output", str(path), str(path)],
            check=False,
            capture_output=True,
        )


def test_the_main_pages_fit_both_widths_in_both_themes(viewer_page, live_server, pages):
    page = viewer_page
    target = DOCS if os.getenv("UPDATE_SCREENSHOTS") == "1" else SCREENSHOTS
    target.mkdir(parents=True, exist_ok=True)
    taken = []
    for theme in THEMES:
        page.context.add_cookies([{"name": "theme", "value": theme, "url": live_server.url}])
        for width, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            for name, url in pages.items():
                page.goto(f"{live_server.url}{url}")
                if name == "dashboard":
                    page.wait_for_function(DRAWN)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width, theme)
                height = min(page.evaluate("document.documentElement.scrollHeight"), int(viewport["height"] * SCREENS))
                path = target / f"{name}-{width}-{theme}.png"
                page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": width, "height": height})
                _small(path)
                assert 0 < path.stat().st_size <= MAX_BYTES, (path, path.stat().st_size)
                taken.append(path.name)
    assert len(taken) == len(pages) * len(SIZES) * len(THEMES) == 16
