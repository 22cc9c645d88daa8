"""The documentation site describes the code as it is: the generated pages are up to date, the site
builds offline with `mkdocs build --strict`, and what the pages list (stages, families, paths,
contract keys) exists; no page carries development history."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tabular_mlops.config.train_params import FAMILIES_BY_TASK
from tabular_mlops.data.contract import ColumnContract, Contract
from tests.dvc_repo import PIPELINE_FILES, environment
from tests.import_closure import closure
from tools.build_docs_reference import COMMAND, pages

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def page(path: str) -> str:
    return (DOCS / path).read_text()


def test_generated_pages_are_what_the_code_gives_now() -> None:
    # params.md from the params models, cli.md from the parser, README's graph from `dvc dag --md`
    for path, text in pages(ROOT).items():
        committed = (ROOT / path).read_text()
        if path == "README.md":  # the graph only, modulo whitespace (dvc indents with tabs)
            committed, text = (" ".join(re.search(r"```mermaid\n(.*?)```", both, flags=re.S)[1].split()) for both in (committed, text))
        assert committed == text, f"{path} is out of date: run `{COMMAND}` and commit the result"


def test_the_params_page_shows_the_errors_load_params_prints() -> None:
    shown = re.search(r"## When a key is wrong.*?```text\n(.*?)```", page("reference/params.md"), flags=re.S)[1]
    assert "unknown key 'prepare.tset_size' (did you mean 'test_size'?)" in shown
    assert all(f"'{family}'" in shown for families in FAMILIES_BY_TASK.values() for family in families)


def test_the_site_builds_strictly_offline_and_loads_nothing_from_the_network(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    if not mkdocs.exists():
        pytest.fail(f"{mkdocs} is missing: `pip install -e '.[dev]'` (or '.[docs]') installs it")
    site = tmp_path / "site"
    result = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(site)], cwd=ROOT,
                            env={**environment(), "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    html = "\n".join(path.read_text() for path in site.rglob("*.html"))
    assert "fonts.googleapis" not in html and "fonts.gstatic" not in html
    assert not re.findall(r"<script[^>]+src=\"https?://", html)
    assert not re.findall(r"<link[^>]+rel=\"(?:stylesheet|preconnect|preload)\"[^>]+href=\"https?://", html)
    assert "(g) Installing" in (site / "reference/benchmarks/index.html").read_text()  # the included results


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    listed = set(re.findall(r"[\w/-]+\.md", yaml.safe_dump(config["nav"])))
    assert listed == {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}


def test_every_stage_and_model_family_is_documented() -> None:
    pipeline = page("reference/pipeline.md")
    stages = {name: definition for pipeline_file in PIPELINE_FILES
              for name, definition in yaml.safe_load((ROOT / pipeline_file).read_text())["stages"].items()}
    for stage, definition in stages.items():
        shown = f"{stage}@<family>" if "foreach" in definition else stage
        assert f"| `{shown}` |" in pipeline, f"docs/reference/pipeline.md has no row for the stage {shown}"
    for family in {name for names in FAMILIES_BY_TASK.values() for name in names}:
        tasks = [task for task, names in FAMILIES_BY_TASK.items() if family in names]
        shown = "both" if len(tasks) == 2 else tasks[0]
        assert f"| `{family}` | {shown} |" in pipeline, f"docs/reference/pipeline.md has no row for the family {family}"
    assert "`auto`" in pipeline


def layout_paths(text: str) -> list[str]:
    """The paths in a layout block: the first column, split at ', '."""
    return [path for line in text.splitlines() if line.strip() for path in re.split(r"\s{2,}", line.strip())[0].split(", ")]


@pytest.mark.parametrize("source", ["README.md", "docs/reference/layout.md"])
def test_every_path_in_a_layout_exists(source: str) -> None:
    text = (ROOT / source).read_text()
    layout = next(block for block in re.findall(r"```text\n(.*?)```", text, flags=re.S) if block.startswith("dvc.yaml"))
    generated = {"models/"}  # written by `dvc repro`, not committed
    missing = [path for path in layout_paths(layout) if path not in generated and not (ROOT / path).exists()]
    assert missing == []
    listed = layout_paths(layout)
    assert len(listed) == len(set(listed)), f"{source} lists a path twice"


def test_the_contract_page_names_every_key_of_the_contract() -> None:
    text = page("reference/data-contract.md")
    for key in [*Contract.model_fields, *ColumnContract.model_fields]:
        assert f"`{key}`" in text, f"docs/reference/data-contract.md does not describe `{key}`"


# Development history has no place in user documentation: say what is, quote benchmarks/results.md.
HISTORY = ["before the fix", "at the last stop", "this machine", "this 2-core", "as measured before", "the figure was",
           "used to ", "no longer", "tools/review.py", "we changed", "now gives"]


@pytest.mark.parametrize("path", sorted(str(path.relative_to(ROOT)) for path in [ROOT / "README.md", *DOCS.rglob("*.md")]))
def test_no_page_tells_development_history(path: str) -> None:
    text = (ROOT / path).read_text().lower()
    assert [phrase for phrase in HISTORY if phrase in text] == []


def test_readme_links_and_figures_point_at_what_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    links = [link.split("#")[0] for link in re.findall(r"\]\(([^)]+)\)", readme) if not link.startswith("http")]
    assert [link for link in links if not (ROOT / link).exists()] == []
    # Every time the README quotes is a cell of benchmarks/results.md.
    results = (ROOT / "benchmarks/results.md").read_text()
    quoted = re.findall(r"(\d+(?:\.\d+)?) s\b", readme)
    assert quoted and [figure for figure in quoted if f"| {figure} |" not in results] == []


# --- `pip install -e .` is enough for `dvc repro` ---

def base_distributions() -> set[str]:
    """The distributions `pip install -e .` brings: the package's requirements without extras, transitively."""
    found, pending = set(), ["tabular-mlops"]
    while pending:
        name = pending.pop()
        for text in importlib.metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                key = requirement.name.lower().replace("_", "-")
                if key not in found:
                    found.add(key)
                    pending.append(requirement.name)
    return found


def third_party_imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"tabular_mlops", "stages", "__future__"}


# Imported only when params ask for them, and then refused with the install command (engine.name: dask; the lightgbm family).
OPTIONAL = {"dask", "distributed", "lightgbm"}  # lightgbm: train.model or leaderboard.families names it


def test_the_pipeline_imports_nothing_beyond_the_base_install() -> None:
    modules = ["stages.__main__", *(f"stages.{path.stem}" for path in (ROOT / "stages").glob("*.py") if path.stem[0] != "_")]
    files = {file for module in modules for file in closure(ROOT, module)}
    providers = importlib.metadata.packages_distributions()
    base = base_distributions()
    outside = {name: providers.get(name, ["?"]) for file in files for name in third_party_imports(ROOT / file)
               if name not in OPTIONAL and not {dist.lower().replace("_", "-") for dist in providers.get(name, [])} & base}
    assert outside == {}, f"the stages import modules that `pip install -e .` does not install: {outside}"
