import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import gc, sys
import fastrouter_dash.wsgi
print(gc.get_freeze_count(), "generations.analytics.views" in sys.modules)
"""


def test_the_web_process_imports_every_view_and_freezes_what_start_up_loaded():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "fastrouter_dash.settings", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed probe)
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    frozen, views_imported = result.stdout.split()
    assert int(frozen) > 10_000
    assert views_imported == "True"
