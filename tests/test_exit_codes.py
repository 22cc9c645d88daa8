"""Exit codes of every command: 1 for a verdict the user asked for, 2 for bad usage or input.

In process (`cli.main` with argv), in a folder holding only the project's params.yaml. The
verdicts that need a reproduced pipeline are tested where it is built: the gate stage through
`dvc repro` (test_pipeline.py), the monitor stage (test_monitor.py), score's reject limit
(test_batch_scoring.py), review's regression (test_review.py); sweep's below, with DVC faked.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tabular_mlops import cli
from tabular_mlops.errors import EXIT_EXPECTED_FAILURE, EXIT_VERDICT, StageError, Verdict, run_stage
from tabular_mlops.experiments import sweep

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    for variable in ("TABULAR_MLOPS_PORT", "TABULAR_MLOPS_PSEUDONYM_KEY", "TABULAR_MLOPS_PREDICTION_LOG"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


def exit_code(argv: list[str]) -> int:
    """What `tabular-mlops ARGV` exits with: main's return, or argparse's SystemExit."""
    try:
        return cli.main(argv)
    except SystemExit as exited:
        return exited.code


# One bad input per command: the argv, variables to set, and the start of its one stderr line.
BAD_INPUT = {
    "contract": (["contract"], {}, "error: params.yaml: file not found"),
    "sweep": (["sweep", "-S", "seed"], {}, "error: -S 'seed': expected KEY=VALUE[,VALUE...]"),
    "review": (["review", "--base", "main"], {}, "error: main:metrics/evaluate/metrics.json: not found"),
    "serve": (["serve"], {"TABULAR_MLOPS_PORT": "eighty"},
              "error: TABULAR_MLOPS_PORT must be a whole number from 1 to 65535; got 'eighty'"),
    "score": (["score", "new.csv"], {}, "error: --output is required"),
    "erase": (["erase", "--value", "ann@example.org"], {}, "error: logs/predictions.sqlite: no prediction log there"),
    "demo-drift": (["demo-drift", "--url", "http://127.0.0.1:9"], {}, "error: models/reference: no reference profile"),
    "synth": (["synth", "--rows", "0", "--output", "table.csv"], {}, "error: --rows must be a whole number >= 1; got '0'"),
    "compare": (["compare"], {}, "error: models/bundle: not a model bundle"),
}
# argparse's own refusals: the usage line, then one `error:` line.
BAD_USAGE = {
    "no command": [],
    "unknown command": ["deploy"],
    "erase without --value": ["erase"],
    "score with an unknown flag": ["score", "new.csv", "--output", "out.csv", "--fast"],
    "debug with an unknown action": ["debug", "stage-server", "restart"],
    "the stage server's old place": ["stage-server", "status"],
}


@pytest.mark.parametrize("command", BAD_INPUT)
def test_bad_input_is_one_error_line_and_exit_2(command: str, folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture) -> None:
    argv, variables, line = BAD_INPUT[command]
    if command == "contract":
        (folder / "params.yaml").unlink()
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert exit_code(argv) == EXIT_EXPECTED_FAILURE == 2
    error = capsys.readouterr().err
    assert error.startswith(line) and error.count("\n") == 1, error


@pytest.mark.parametrize("case", BAD_USAGE)
def test_bad_usage_exits_2_with_the_usage_and_one_error_line(case: str, folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert exit_code(BAD_USAGE[case]) == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: tabular-mlops") and len([line for line in error.splitlines() if ": error: " in line]) == 1


def test_a_failed_experiment_is_a_verdict_exit_1_naming_it(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture) -> None:
    class Workers:
        def wait(self, timeout: float) -> int:
            return 0

    monkeypatch.setattr(sweep, "dvc", lambda *arguments, check=True: "")
    monkeypatch.setattr(sweep, "start_workers", lambda jobs: Workers())
    monkeypatch.setattr(sweep, "wait", lambda names, started: {"s-1": "Success", "s-2": "Failed"})
    monkeypatch.setattr(sweep, "ranking", lambda names, metric: [("s-1", 0.8)])
    monkeypatch.setattr(sweep, "error_lines", lambda name: "gate failed (1 of 1): test.roc_auc = 0.5 is below the minimum 0.55")
    assert exit_code(["sweep", "-S", "seed=1,2", "--prefix", "s"]) == EXIT_VERDICT == 1
    captured = capsys.readouterr()
    assert "  1. s-1  cv.roc_auc_mean=0.8  seed=1" in captured.out
    assert captured.err.splitlines() == [
        "experiment s-2 (seed=2) failed: gate failed (1 of 1): test.roc_auc = 0.5 is below the minimum 0.55",
        "verdict: sweep failed: 1 of 2 experiments failed"]


def test_a_dvc_command_the_sweep_needs_failing_is_one_error_line_exit_2(folder: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture) -> None:
    class Refused:
        returncode, stdout, stderr = 1, "", "ERROR: unknown param 'seeds'\n"

    monkeypatch.setattr(sweep.subprocess, "run", lambda *arguments, **options: Refused())
    assert exit_code(["sweep", "-S", "seeds=1,2"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: dvc exp run --queue") and error.endswith("failed: ERROR: unknown param 'seeds'\n")
    assert error.count("\n") == 1


@pytest.mark.parametrize("raised, code, line", [
    (Verdict("gate failed (1 of 2): test.roc_auc = 0.6 is below the minimum 0.7"), 1,
     "verdict: gate failed (1 of 2): test.roc_auc = 0.6 is below the minimum 0.7\n"),
    (StageError("params.yaml: seed must be an integer; got 'x'"), 2, "error: params.yaml: seed must be an integer; got 'x'\n"),
])
def test_a_stage_exits_1_on_a_verdict_and_2_on_bad_input_with_one_line(raised: Exception, code: int, line: str,
                                                                       capsys: pytest.CaptureFixture) -> None:
    def main() -> None:
        raise raised

    with pytest.raises(SystemExit) as exited:
        run_stage(main)
    assert exited.value.code == code
    assert capsys.readouterr().err == line


def test_version_prints_the_installed_package_version(capsys: pytest.CaptureFixture) -> None:
    from importlib.metadata import version

    assert exit_code(["--version"]) == 0
    assert capsys.readouterr().out == f"tabular-mlops {version('tabular-mlops')}\n"


def console_blocks(page: Path) -> list[tuple[list[str], list[str]]]:
    """Each ```console block of a docs page: (its `$ ` commands, every line it shows, commands included)."""
    blocks = page.read_text().split("```console\n")[1:]
    shown = [block.split("```")[0].splitlines() for block in blocks]
    return [([line[2:] for line in lines if line.startswith("$ ")], lines) for lines in shown]


@pytest.mark.slow  # scores with small_repo's bundle
def test_the_exit_codes_page_example_prints_what_it_shows(small_repo: Path, tmp_path: Path) -> None:
    import subprocess

    from tests.service import environment
    from tests.test_batch_scoring import planted

    import pandas as pd

    shutil.copytree(small_repo / "models/bundle", tmp_path / "models/bundle")
    (tmp_path / "data").mkdir()
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(30).reset_index(drop=True)
    planted(rows, tmp_path / "data", ".csv").rename(tmp_path / "data/new.csv")  # 30 rows, 5 breaking the contract
    [(commands, shown)] = console_blocks(ROOT / "docs/reference/exit-codes.md")
    # Each command echoed as the page shows it; `(exit $s)` keeps the previous command's code for `echo $?`.
    script = "s=0\n" + "\n".join(f"echo '$ {command}'\n(exit $s)\n{command}\ns=$?" for command in commands)
    env = {**environment(), "PYTHONUNBUFFERED": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # the console script installed beside this python
    ran = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert ran.stdout.splitlines() == shown
