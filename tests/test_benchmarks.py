"""The benchmark command runs end to end (at a tiny size: a check that it works, not a figure)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.dvc_repo import environment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_benchmark_command_writes_every_section_of_the_table(tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    # Both sizes above --pipeline-rows: (d) measures the early stages only (each stage is a process
    # paying its imports; every stage's command comes from the same `dvc repro --dry` listing that
    # (a) runs in one process), and (e) and (f) run at the smallest size.
    result = subprocess.run([sys.executable, "benchmarks/run.py", "--small", "--sizes", "1000,1600", "--pipeline-rows", "500",
                             "--repeats", "1", "--out", str(out)], cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    for row in ("| (a) the same stages' main() in one process (median of 1) |", "| (b) no-op `dvc repro` (median of 5) |", "| (c) `dvc repro` after",
                "| validate | ", "| featurize | ", "| a plain script:", "| `dvc repro` from scratch, default params |"):
        assert row in text, row
    assert "| (a) `dvc repro` from scratch, `TABULAR_MLOPS_STAGE_SERVER=0` | not run with --small | |" in text
    validate = next(line for line in text.splitlines() if line.startswith("| validate |")).split("|")[2:4]
    assert all(cell.strip().endswith(tuple("0123456789")) and " s / " in cell for cell in validate), validate
    assert not any(line.startswith("| train |") for line in text.splitlines())  # above --pipeline-rows: early stages only
    assert "## (e) The whole pipeline on 1,000 rows" in text
    assert "## (f)" in text


def test_sections_written_by_other_commands_survive_a_new_table() -> None:
    from benchmarks.run import KEPT_MARKER, kept_sections

    previous = "\n".join(["# Benchmarks", "", "## (a) old figures", "| 1 |", KEPT_MARKER, "## (g) Installing", "| 35 |", ""])
    assert kept_sections(previous) == [KEPT_MARKER, "## (g) Installing", "| 35 |", ""]
    assert kept_sections("# Benchmarks\n\n## (a) old figures\n") == []
    # The committed table keeps the install figures the README quotes.
    assert "## (g)" in "\n".join(kept_sections((ROOT / "benchmarks/results.md").read_text()))
