"""The benchmark commands run end to end (at a tiny size: a check that they work, not a figure)."""
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


GOALS = {"/predict p50 at concurrency 1, ms": lambda ms, _: ms <= 2, "/predict p99 at concurrency 1, ms": lambda ms, _: ms <= 5,
         "/predict at concurrency 16, 2 workers, requests/s": lambda rate, _: rate >= 1000,
         "/predict p99 at concurrency 16, 2 workers, ms": lambda ms, _: ms < 50,
         "/predict/batch with 1,000 rows, rows/s": lambda rate, before: rate >= 5 * before}


@pytest.mark.slow
def test_the_service_benchmark_measures_both_runtimes_and_says_which_goals_are_met(small_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    out.write_text("# Benchmarks\n\n## Another benchmark\n\nits figures\n")
    result = subprocess.run([sys.executable, "benchmarks/service.py", "--bundle", str(small_repo / "models/bundle"),
                             "--rows", str(small_repo / "data/raw/credit.csv"), "--requests", "20", "--seconds", "0.5", "--out", str(out)],
                            cwd=ROOT, env=environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n## Another benchmark\n\nits figures\n\n## The compiled model: the service\n")
    assert result.stdout.strip() == text[text.index("## The compiled model"):].strip()  # printed as written
    rows = {cells[0]: cells[1:] for cells in ([cell.strip() for cell in line.split("|")[1:-1]] for line in text.splitlines()
                                              if line.startswith("| ") and not line.startswith("| measure"))}
    assert set(GOALS) <= set(rows) and len(rows) >= 12, rows
    for measure, (before, after, ratio, goal, met) in rows.items():
        before, after = float(before.replace(",", "")), float(after.replace(",", ""))
        assert before > 0 and after > 0, measure
        # The ratio says how many times faster the compiled path is: a rate's quotient, or a time's inverse
        # (from the rounded cells: within their rounding, and the ratio's own to one decimal).
        expected = after / before if measure.endswith("/s") else before / after
        half = 0.005 if measure.endswith(", ms") else 0.5
        assert abs(float(ratio.replace(",", "")) - expected) <= expected * (half / before + half / after) + 0.05 + 1e-9, measure
        assert met == ("" if measure not in GOALS else "yes" if GOALS[measure](after, before) else "no"), measure
    met = [measure for measure in GOALS if rows[measure][4] == "yes"]
    listed = text.split("Goals met: ", 1)[1].split(". Not met:", 1)[0]
    assert (listed == "none") == (not met) and (listed == "none" or listed.count(";") == len(met) - 1)
    # The two servers answered the same rows within issue 21's bound, with the same decisions.
    agreement = text.split("largest difference of a probability or value ", 1)[1].split(" decision(s) differing", 1)[0]
    largest, decisions = agreement.split(", ")
    assert float(largest) <= 1e-6 and decisions == "0"
