"""The README describes this repository as it is: commands, layout, stages, model families."""
from __future__ import annotations

import re
from pathlib import Path
import yaml

from tabular_mlops.config.train_params import FAMILIES_BY_TASK
from tabular_mlops.families.registry import BY_NAME
from tests.dvc_repo import PIPELINE_FILES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def fenced_blocks() -> list[str]:
    return re.findall(r"```(?:bash)?\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    commands = [line for line in fenced_blocks()[0].splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    setup, tests = commands
    assert setup.endswith("dvc repro")
    assert tests == "bash .ci/run"
    # what the tests need on a fresh machine, before the suite: Chromium renders the pages
    ci_script = (ROOT / ".ci/run").read_text()
    order = [ci_script.index(part) for part in ("apt-get install -y --no-install-recommends chromium", "pip install -e '.[dev]'", "python -m pytest -n 2")]
    assert order == sorted(order)


def test_every_path_in_the_layout_exists() -> None:
    layout = next(block for block in fenced_blocks() if block.startswith("dvc.yaml"))
    paths = [line.split()[0] for line in layout.splitlines() if line.strip()]
    generated = {"models/"}  # written by `dvc repro`, not committed
    missing = [path for path in paths if path not in generated and not (ROOT / path).exists()]
    assert missing == []


def test_every_stage_and_model_family_is_documented() -> None:
    stages = {name: definition for pipeline_file in PIPELINE_FILES
              for name, definition in yaml.safe_load((ROOT / pipeline_file).read_text())["stages"].items()}
    for stage, definition in stages.items():
        shown = f"{stage}@<family>" if "foreach" in definition else stage
        assert f"| `{shown}` |" in README
    # an optional extra's family (lightgbm) is documented in docs/how-to/add-a-model-family.md
    for family in {name for names in FAMILIES_BY_TASK.values() for name in names if not BY_NAME[name].requires} | {"auto"}:
        assert f"`{family}`" in README
