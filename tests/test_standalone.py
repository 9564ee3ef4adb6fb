"""The project stands alone: a clone on a fresh machine has nothing beside it."""

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\.\./shared|parents\[[2-9]\]")


def test_no_tracked_file_reads_outside_the_project():
    git = shutil.which("git")
    tracked = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()  # noqa: S603
    sources = [name for name in tracked if name.endswith((".py", "Makefile", ".toml")) or name.startswith("bin/")]
    readers = [name for name in sources if OUTSIDE.search((ROOT / name).read_text(errors="replace"))]
    assert readers == []


def test_fixtures_the_tests_use_are_in_the_project():
    fixtures = ROOT / "tests" / "fixtures"
    assert (fixtures / "fastrouter-openapi.json").is_file()
    assert {path.name for path in (fixtures / "samples").iterdir()} >= {
        "generation-full.json",
        "generation-minimal.json",
    }
