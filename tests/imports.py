"""What a source file imports, read with ast (nothing is executed): for the layering tests."""

import ast
from pathlib import Path

import generations

GENERATIONS = Path(generations.__file__).resolve().parent
PROJECT = GENERATIONS.parent


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports; `from a import b` counts as both `a` and `a.b` (b may be a module)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules
