"""What the pipeline costs on this machine, and what each model family scores.

    python benchmarks/timing.py [--sweeps]      # from the repository root, in the project's venv

1. `dvc repro` from scratch and a no-op `dvc repro`, against the same stages run as plain
   Python calls in one process (the ratio is DVC's and the processes' overhead).
2. The leaderboard on the bundled data with each family's fit seconds (wall time is kept out
   of the committed metrics, so it is measured here).
3. With --sweeps: `tabular-mlops sweep` over four experiments with -j 1 and with -j 2.
All runs happen in temporary copies; the checkout is not touched.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tabular_mlops.config.params import load_params  # noqa: E402
from tests.dvc_repo import LOCK_FILES, copy_project, dvc, environment, init_git_repo, small_credit_repo  # noqa: E402


def fresh_copy(parent: Path, name: str) -> Path:
    repo = parent / name
    copy_project(ROOT, repo)
    for lock_file in LOCK_FILES:
        (repo / lock_file).unlink()
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    return repo


def write_section(out: Path, heading: str, lines: list[str]) -> None:
    """Replace the section of the results file `out` that starts with `heading` (up to the next
    `## ` heading) with `lines`, or append them: how the one-benchmark scripts write results.md."""
    text = out.read_text() if out.exists() else ""
    section = "\n".join(lines).rstrip("\n") + "\n"
    start = text.find(heading)
    if start < 0:
        text = (text.rstrip("\n") + "\n\n" if text else "") + section
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + section + ("" if end < 0 else text[end:])
    out.write_text(text)


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_dvc(repo: Path, *arguments: str) -> str:
    result = dvc(repo, *arguments)
    if result.returncode != 0:
        raise SystemExit(result.output)
    return result.output


def run_stage(name: str, *arguments: str) -> str:
    """A stage's main() in this process; returns what it printed."""
    sys.argv = [name, *arguments]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        importlib.import_module(f"stages.{name}").main()
    return printed.getvalue()


def run_pipeline_in_process(repo: Path) -> dict[str, str]:
    os.chdir(repo)
    families = load_params().task_families
    logs = {}
    for stage in ("validate", "prepare", "featurize"):
        run_stage(stage)
    for family in families:
        logs[family] = run_stage("cross_validate", family)
    for stage in ("leaderboard", "train", "evaluate", "gate"):
        run_stage(stage)
    return logs


def sweep_seconds(parent: Path, jobs: int, seeds: str) -> float:
    repo = small_credit_repo(parent / f"sweep-j{jobs}", [{"metric": "test.roc_auc", "min": 0.55}])
    command = [sys.executable, "-m", "tabular_mlops", "sweep", "-S", "train.model=logistic_regression,mlp",
               "-S", f"seed={seeds}", "-j", str(jobs), "--prefix", f"j{jobs}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, env=environment(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stdout + result.stderr)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweeps", action="store_true", help="also time a four-experiment sweep with -j 1 and -j 2")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        under_dvc = fresh_copy(scratch, "dvc")
        scratch_seconds = timed(lambda: run_dvc(under_dvc, "repro"))
        noop_seconds = timed(lambda: run_dvc(under_dvc, "repro"))

        plain = fresh_copy(scratch, "plain")
        sys.path.insert(0, str(plain))  # import the copy's stages, as `python -m` would
        logs: dict[str, str] = {}
        plain_seconds = timed(lambda: logs.update(run_pipeline_in_process(plain)))
        os.chdir(ROOT)

        print(f"dvc repro from scratch:        {scratch_seconds:7.1f} s")
        print(f"no-op dvc repro:               {noop_seconds:7.1f} s")
        print(f"same stages in one process:    {plain_seconds:7.1f} s")
        print(f"dvc repro / in-process:        {scratch_seconds / plain_seconds:7.2f}x")
        print()
        leaderboard = json.loads((plain / "metrics/leaderboard.json").read_text())
        print(f"{'family':24} {'CV ROC-AUC':>18} {'test ROC-AUC':>13}   fit on the training split")
        for row in leaderboard["ranking"]:
            fit = logs[row["family"]].rsplit("fit ", 1)[-1].strip()
            print(f"{row['family']:24} {row['cv_mean']:.4f} ± {row['cv_std']:.4f} {row['test']:13.4f}   {fit}")
        model = json.loads((plain / "models/model.json").read_text())["model_family"]
        print(f"train.model: auto trained {model}")
        if arguments.sweeps:
            one = sweep_seconds(scratch, 1, "11,12")
            two = sweep_seconds(scratch, 2, "13,14")
            print()
            print(f"four-experiment sweep, -j 1:   {one:7.1f} s")
            print(f"four-experiment sweep, -j 2:   {two:7.1f} s ({one / two:.2f}x faster)")


if __name__ == "__main__":
    main()
