"""The simulator is a development tool: production code (generations/) never depends on it."""

from tests.imports import GENERATIONS, PROJECT, imported_modules


def test_no_module_under_generations_imports_the_simulator():
    sources = sorted(GENERATIONS.rglob("*.py"))
    importers = [
        str(path.relative_to(PROJECT))
        for path in sources
        if any(name.split(".")[0] == "fastrouter_simulator" for name in imported_modules(path))
    ]
    assert len(sources) > 40  # the walk found the package
    assert importers == []
