"""The simulator is a development tool: production code (generations/) never depends on it."""

import ast
from pathlib import Path

import generations

GENERATIONS = Path(generations.__file__).resolve().parent


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_module_under_generations_imports_the_simulator():
    sources = sorted(GENERATIONS.rglob("*.py"))
    importers = [
        str(path.relative_to(GENERATIONS.parent))
        for path in sources
        if any(name.split(".")[0] == "fastrouter_simulator" for name in _imported_modules(path))
    ]
    assert len(sources) > 40  # the walk found the package
    assert importers == []
