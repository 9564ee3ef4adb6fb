"""Who may talk HTTP, and who may hold the HTTP client: read from the sources with ast."""

from tests.imports import GENERATIONS, PROJECT, imported_modules

SOURCES = sorted([*GENERATIONS.rglob("*.py"), *(PROJECT / "fastrouter_simulator").rglob("*.py")])


def _importers(module: str) -> set[str]:
    return {
        str(path.relative_to(PROJECT))
        for path in SOURCES
        if any(name == module or name.startswith(f"{module}.") for name in imported_modules(path))
    }


def test_only_the_client_module_imports_requests():
    assert len(SOURCES) > 40  # the walk found the packages
    assert _importers("requests") == {"generations/fastrouter/client.py"}


def test_only_the_code_that_makes_calls_imports_the_client():
    # Views, forms, parsing, the queue and the simulator use errors.py / ids.py / details.py.
    assert _importers("generations.fastrouter.client") == {
        "generations/services.py",
        "generations/ingest/worker.py",
        "generations/fastrouter/factory.py",
    }
