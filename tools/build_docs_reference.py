"""Regenerate the documentation that is read from the code, so it cannot drift from it:

    python tools/build_docs_reference.py

- docs/reference/params.md: every key of params.yaml, from the typed params models
  (tabular_mlops/config/: types, defaults, bounds, and the comments written beside each field);
- docs/reference/cli.md: every `tabular-mlops` command's --help, from the parser (tabular_mlops/cli.py);
- README.md's pipeline graph: what `dvc dag --md` prints, run in a temporary copy of the project.

tests/test_docs.py regenerates each and fails, naming this command, when a committed one differs.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools.docs_reference.cli_page import cli_reference  # noqa: E402
from tools.docs_reference.params_page import params_reference  # noqa: E402

COMMAND = "python tools/build_docs_reference.py"
PARAMS_PAGE = "docs/reference/params.md"
CLI_PAGE = "docs/reference/cli.md"
README = "README.md"
# The README's graph sits between these two lines, as `dvc dag --md` prints it.
GRAPH_START = "<!-- pipeline graph: `dvc dag --md`, written by tools/build_docs_reference.py -->"
GRAPH_END = "<!-- end of the pipeline graph -->"


def pipeline_graph(root: Path = ROOT) -> str:
    """`dvc dag --md` of the project, run in a temporary git copy so the checkout is not touched."""
    from tests.dvc_repo import copy_project, environment, init_git_repo

    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "repo"
        copy_project(root, repo)
        init_git_repo(repo)
        dvc = Path(sys.executable).parent / "dvc"
        result = subprocess.run([str(dvc), "dag", "--md"], cwd=repo, capture_output=True, text=True, env=environment())
    if result.returncode != 0:
        raise SystemExit(f"dvc dag --md failed:\n{result.stdout}{result.stderr}")
    return result.stdout.strip() + "\n"


def readme_with_graph(readme: str, graph: str) -> str:
    """The README with the text between GRAPH_START and GRAPH_END replaced by `graph`."""
    pattern = re.compile(re.escape(GRAPH_START) + r"\n.*?" + re.escape(GRAPH_END), flags=re.S)
    if not pattern.search(readme):
        raise SystemExit(f"{README}: no pipeline graph between {GRAPH_START!r} and {GRAPH_END!r}")
    return pattern.sub(lambda _: f"{GRAPH_START}\n{graph}{GRAPH_END}", readme)


def pages(root: Path = ROOT) -> dict[str, str]:
    """Each generated file's path and the text it must hold."""
    return {
        PARAMS_PAGE: params_reference(root / "params.yaml"),
        CLI_PAGE: cli_reference(),
        README: readme_with_graph((root / README).read_text(), pipeline_graph(root)),
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    for path, text in pages().items():
        target = ROOT / path
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {path}")
        else:
            print(f"{path}: up to date")


if __name__ == "__main__":
    main()
