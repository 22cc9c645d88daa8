"""The project files a module runs: itself and every `tabular_mlops` module it imports, transitively.

Package `__init__.py` files are left out: they hold only a docstring (a test checks that), so
a change to one cannot change a result.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("tabular_mlops", "stages")


def module_file(root: Path, module: str) -> Path | None:
    """The file of a project module, or None for a package or something outside the project."""
    path = root.joinpath(*module.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def imported_modules(path: Path) -> set[str]:
    """Project modules that `path` imports anywhere (top level or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from package import module` imports a module; `from module import name` a name.
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.split(".")[0] in PACKAGES}


def closure(root: Path, module: str) -> set[str]:
    """Repository-relative paths of every project file that `module` runs."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        path = module_file(root, pending.pop())
        if path is None or path.relative_to(root).as_posix() in seen:
            continue
        seen.add(path.relative_to(root).as_posix())
        pending.extend(imported_modules(path))
    return seen
