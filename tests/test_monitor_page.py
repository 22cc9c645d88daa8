"""docs/how-to/monitor.md: every command it shows in a shell block is run by a named test (as
tests/test_docs_commands.py checks for the other pages), and the demo's output it shows is the
demo's (tests/test_monitor.py compares them)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = "docs/how-to/monitor.md"
DEMO = "tests/test_monitor.py::test_demo_drift_scores_both_batches_through_the_service_and_only_the_shifted_one_fires"
RUN_BY = {
    "dvc repro monitor": ("tests/test_monitor.py::test_dvc_repro_monitor_flags_the_shifted_batch_and_the_gate_fails_after_writing",
                          "tests/test_personal_data.py::test_the_monitor_on_the_log_and_on_a_scored_batch_shows_no_planted_value"),
    "tabular-mlops serve &": (DEMO,),
    "tabular-mlops demo-drift": (DEMO, "tests/test_monitor.py::test_demo_drift_on_a_table_of_measurements_only_fires_on_the_shifted_batch_alone"),
}


def shown_commands(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def shown_demo_output() -> list[str]:
    """The page's ```text block: the demo's lines on the bundled data, with its default --out folder."""
    [block] = re.findall(r"```text\n(.*?)```", (ROOT / PAGE).read_text(), flags=re.S)
    return block.splitlines()


def test_every_command_the_monitor_page_shows_is_run_by_a_named_test() -> None:
    assert set(shown_commands((ROOT / PAGE).read_text())) == set(RUN_BY)
    for command, tests in RUN_BY.items():
        for test in tests:
            module, _, name = test.partition("::")
            source = (ROOT / module).read_text()
            assert name in {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}, test
            # the module, or a tests/ helper it imports (tests/service.py starts `serve`), names the verb
            helpers = [ROOT / f"{name.replace('.', '/')}.py" for name in re.findall(r"^from (tests\.\w+) import", source, flags=re.M)]
            texts = source + "".join(path.read_text() for path in helpers if path.exists())
            verb = command.split()[1]
            assert f'"{verb}"' in texts, f"{test} never runs `{command}`"


def test_the_python_the_monitor_page_shows_parses_and_names_a_real_function() -> None:
    [snippet] = re.findall(r"```python\n(.*?)```", (ROOT / PAGE).read_text(), flags=re.S)
    ast.parse(snippet)
    from tabular_mlops.deployment.prediction_log import read_scored  # noqa: F401 - the import the page shows
