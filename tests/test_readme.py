"""The README is a landing page: what it is, the pipeline's picture, two commands, how to make it
yours, where to read more. Its commands are run by tests (tests/test_docs_commands.py lists which),
its paths exist and its graph is what `dvc dag --md` prints (tests/test_docs.py)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def bash_blocks() -> list[list[str]]:
    return [[line for line in block.splitlines() if line and not line.startswith("#")]
            for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)]


def test_readme_is_a_landing_page_of_at_most_12_kb() -> None:
    assert len(README.encode()) <= 12 * 1024


def test_readme_answers_what_picture_how_to_run_make_it_yours_read_more_in_that_order() -> None:
    headings = re.findall(r"^## (.+)$", README, flags=re.M)
    order = ["The pipeline", "Two commands", "Make it yours", "Read more"]
    assert [heading for heading in headings if heading in order] == order
    assert README.index("```mermaid") < README.index("## Two commands")


def test_the_first_command_installs_only_the_package_and_ci_runs_the_second() -> None:
    setup, tests = bash_blocks()[0]
    # The pipeline needs the package alone; the test tools come with the second command.
    assert setup == "python3.11 -m venv .venv && . .venv/bin/activate && pip install -e . && dvc repro"
    assert tests == "bash .ci/run"
    ci_script = (ROOT / ".ci/run").read_text()
    steps = ("apt-get install -y --no-install-recommends chromium", "pip install -e '.[dev]'", "mkdocs build --strict",
             "python -m pytest -n 2")
    order = [ci_script.index(step) for step in steps]
    assert order == sorted(order)


def test_make_it_yours_is_init_then_repro_and_links_the_tutorial() -> None:
    assert bash_blocks()[1] == ["tabular-mlops init --table PATH --target COLUMN --name NAME", "dvc repro"]
    section = README[README.index("## Make it yours"):README.index("## Read more")]
    assert "(docs/tutorials/your-own-table.md)" in section
