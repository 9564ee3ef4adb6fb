"""docs/architecture.md draws the package import arrows docs/import_graph.py finds in the code."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
# Plain-text arrows ("generations.ingest -> generations") and Mermaid edges ("a --> b").
ARROW = re.compile(r"^\s*[\w.]+ -{1,2}> [\w.]+\s*$")


def _printed_lines() -> list[str]:
    script = ROOT / "docs" / "import_graph.py"
    output = subprocess.run([sys.executable, script], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return output.splitlines()


def _documented_lines() -> list[str]:
    return ARCHITECTURE.read_text(encoding="utf-8").splitlines()


def test_every_import_arrow_is_drawn_in_the_architecture_doc():
    documented = set(_documented_lines())
    missing = [line for line in _printed_lines() if line and line not in documented]
    assert missing == []


def test_the_architecture_doc_draws_no_arrow_the_code_lacks():
    printed = set(_printed_lines())
    stale = [line for line in _documented_lines() if ARROW.match(line) and line not in printed]
    assert stale == []
