"""Print the package-level import arrows of FastRouter Dash, ready to paste into docs/architecture.md.

    python docs/import_graph.py

prints a Mermaid flowchart and the same arrows as plain text. An arrow A -> B means some module of
package A imports something from package B (function-level imports and migrations included).
tests/test_docs.py fails while docs/architecture.md shows other arrows than these.
Standard library only, and nothing is imported from the project: it reads the source with `ast`.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_PACKAGES = ("generations", "budgets", "fastrouter_simulator", "monitoring", "pricing")
# Django's conventional sub-packages of an app hold parts of the core, not a concern of their own.
APP_PARTS = frozenset({"management", "migrations", "templatetags"})
LABELS = {
    "generations": "generations (core)",
    "budgets": "budgets (its own app)",
    "monitoring": "monitoring (its own app)",
    "fastrouter_simulator": "fastrouter_simulator (dev and test only)",
}


def concern_packages() -> list[str]:
    """The top packages and every sub-package of `generations` that is a concern of its own."""
    concerns = [
        f"generations.{path.parent.name}"
        for path in (ROOT / "generations").glob("*/__init__.py")
        if path.parent.name not in APP_PARTS
    ]
    return sorted([*TOP_PACKAGES, *concerns])


def package_of(module: str, packages: list[str]) -> str | None:
    """The longest package that contains `module`, or None for modules outside the project."""
    containing = [package for package in packages if module == package or module.startswith(f"{package}.")]
    return max(containing, key=len, default=None)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports; for `from a import b`, `a.b` (b may be a module or a name in a)."""
    this = module_name(path)
    # A relative import counts from the module's package (an __init__.py is its own package).
    base = this.split(".") if path.name == "__init__.py" else this.split(".")[:-1]
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join([*parent, *([node.module] if node.module else [])])
            modules.update(f"{source}.{alias.name}" for alias in node.names)
    return modules


def import_arrows() -> list[tuple[str, str]]:
    packages = concern_packages()
    arrows = set()
    for top in TOP_PACKAGES:
        for path in (ROOT / top).rglob("*.py"):
            importer = package_of(module_name(path), packages)
            for module in imported_modules(path):
                imported = package_of(module, packages)
                if imported and imported != importer:
                    arrows.add((importer, imported))
    return sorted(arrows)


def node_id(package: str) -> str:
    return package.replace(".", "_")


def main() -> None:
    arrows = import_arrows()
    print("```mermaid")
    print("flowchart TD")
    for package in concern_packages():
        print(f'    {node_id(package)}["{LABELS.get(package, package.replace(".", "/"))}"]')
    for importer, imported in arrows:
        print(f"    {node_id(importer)} --> {node_id(imported)}")
    print("```")
    print()
    print("```text")
    for importer, imported in arrows:
        print(f"{importer} -> {imported}")
    print("```")


if __name__ == "__main__":
    main()
