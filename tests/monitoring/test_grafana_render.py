"""docs/grafana/README.md is what docs/grafana/render.py draws from the dashboard JSON."""

import json
import subprocess
import sys

from django.conf import settings

GRAFANA = settings.BASE_DIR / "docs" / "grafana"


def test_the_rendered_description_matches_the_dashboard_json():
    script = GRAFANA / "render.py"
    printed = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert printed == (GRAFANA / "README.md").read_text(encoding="utf-8"), (
        "Run: python docs/grafana/render.py > docs/grafana/README.md"
    )


def test_the_panels_tile_the_grid_without_overlapping():
    panels = json.loads((GRAFANA / "fastrouter-dash.json").read_text())["panels"]
    taken: dict[tuple[int, int], int] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in taken, (panel["id"], taken.get((x, y)))
                taken[(x, y)] = panel["id"]
