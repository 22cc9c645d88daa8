"""dvc.yaml lists, for every stage, exactly the project code that the stage runs.

Too few and a code change would not rerun the stage (stale results); too many and unrelated
changes rerun it. The list is checked against the stage module's import closure.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.dvc_repo import PIPELINE_FILES
from tests.import_closure import closure

ROOT = Path(__file__).resolve().parents[1]
# Stages that unpickle a fitted pipeline also run the custom transformers' code.
UNPICKLED = {stage: {"tabular_mlops/features/transformers.py"} for stage in ("train", "evaluate", "explain", "fairness", "reference", "score", "compare")}


def stage_definitions() -> dict[str, dict]:
    """Every stage of every pipeline file (a foreach stage once, as its `do` template)."""
    definitions = {}
    for pipeline_file in PIPELINE_FILES:
        stages = yaml.safe_load((ROOT / pipeline_file).read_text())["stages"]
        definitions.update({name: definition.get("do", definition) for name, definition in stages.items()})
    return definitions


def listed_code(definition: dict) -> set[str]:
    """The .py files a stage lists; a listed folder of code (tabular_mlops/families: a family is
    added without editing dvc.yaml) stands for every module in it."""
    deps = [dep if isinstance(dep, str) else next(iter(dep)) for dep in definition["deps"]]
    folders = [dep for dep in deps if dep.startswith(("tabular_mlops/", "stages/")) and (ROOT / dep).is_dir()]
    in_folders = {path.relative_to(ROOT).as_posix() for folder in folders for path in (ROOT / folder).rglob("*.py")
                  if path.name != "__init__.py"}  # the closure leaves __init__.py out (docstring only)
    return {dep for dep in deps if dep.endswith(".py")} | in_folders


@pytest.mark.parametrize("stage", sorted(stage_definitions()))
def test_stage_deps_list_exactly_the_code_the_stage_imports(stage: str) -> None:
    definition = stage_definitions()[stage]
    assert definition["cmd"].split()[:4] == ["python", "-m", "stages", stage], definition["cmd"]
    module = f"stages.{stage}"
    expected = closure(ROOT, module) | UNPICKLED.get(stage, set())
    listed = listed_code(definition)
    assert listed == expected, (
        f"dvc.yaml stage '{stage}': add {sorted(expected - listed)}, remove {sorted(listed - expected)}"
    )


def test_package_init_files_hold_only_a_docstring() -> None:
    # The closure leaves __init__.py out; that is only right while they run no code.
    for init in sorted((ROOT / "tabular_mlops").rglob("__init__.py")):
        body = ast.parse(init.read_text()).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant), init


def test_closure_follows_imports_inside_functions_and_from_package_imports(tmp_path: Path) -> None:
    package = tmp_path / "tabular_mlops"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('"""doc"""\n')
    (package / "sub" / "__init__.py").write_text('"""doc"""\n')
    (package / "sub" / "lazy.py").write_text("X = 1\n")
    (package / "sub" / "plain.py").write_text("import json\n")
    (package / "top.py").write_text("from tabular_mlops.sub import plain\n\ndef f():\n    from tabular_mlops.sub.lazy import X\n    return X\n")
    assert closure(tmp_path, "tabular_mlops.top") == {"tabular_mlops/top.py", "tabular_mlops/sub/plain.py", "tabular_mlops/sub/lazy.py"}


def test_no_stage_imports_another_stage() -> None:
    for stage in stage_definitions():
        others = {path for path in closure(ROOT, f"stages.{stage}") if path.startswith("stages/")} - {f"stages/{stage}.py"}
        assert not others, f"stages/{stage}.py imports {others}"
