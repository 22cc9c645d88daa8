"""What a param change costs: `dvc repro` after each change, at two commits, on the bundled data.

    python benchmarks/reruns.py --base REV      # from the repository root, in the project's venv

Each commit (REV, and HEAD) is exported to a temporary folder with the checkout's DVC cache, so
its outputs are restored by `dvc checkout` rather than recomputed; `dvc status` must then be
clean. For each change, a copy of that project gets the change and one timed `dvc repro`; the
stages that ran are read from DVC's output. One change first, not counted, starts each commit's
stage server (and lets HEAD's compile SHAP's code), as in a session where it already runs. Nested CV on is left out: with it on, both commits
pay for the nested CV itself (minutes on the bundled data), and the rest is the same as off.
The checkout is not touched.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import write_section  # noqa: E402
from tests.dvc_repo import dvc, init_git_repo, ran_stages, update_params  # noqa: E402

HEADING = "## What a param change reruns"
CHANGES = [
    ("fairness.confidence: 0.9", lambda p: p["fairness"].update(confidence=0.9)),
    ("fairness.min_group_rows: 40", lambda p: p["fairness"].update(min_group_rows=40)),
    ("evaluate.explain_rows: 100", lambda p: p["evaluate"].update(explain_rows=100)),
    ("evaluate.importance_repeats: 3", lambda p: p["evaluate"].update(importance_repeats=3)),
    ("evaluate.threshold.method: fixed", lambda p: p["evaluate"]["threshold"].update(method="fixed")),
    ("leaderboard.families without mlp (nested CV off)", lambda p: p["leaderboard"]["families"].remove("mlp")),
    ("train.model: hist_gradient_boosting", lambda p: p["train"].update(model="hist_gradient_boosting")),
]


def exported(revision: str, folder: Path) -> Path:
    """The project at `revision`, its outputs checked out from the checkout's DVC cache."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    shutil.copytree(ROOT / ".dvc/cache", folder / ".dvc/cache")
    init_git_repo(folder)
    checkout = dvc(folder, "checkout")
    assert checkout.returncode == 0, checkout.output
    status = dvc(folder, "status")
    assert "up to date" in status.stdout, f"{revision}: not reproduced as committed:\n{status.output}"
    return folder


def timed_change(project: Path, change, scratch: Path) -> tuple[float, set[str]]:
    copy = scratch / "changed"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy, symlinks=True)
    update_params(copy, change)
    start = time.perf_counter()
    result = dvc(copy, "repro")
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.output
    return seconds, ran_stages(result.output)


def short(stages: set[str]) -> str:
    names = sorted(stage.rpartition(":")[2] for stage in stages)
    return ", ".join(names) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the commit to compare with (before the evaluation was split)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results.md")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reruns-") as scratch:
        scratch = Path(scratch)
        projects = {label: exported(revision, scratch / label) for label, revision in (("base", arguments.base), ("head", "HEAD"))}
        for project in projects.values():
            timed_change(project, CHANGES[0][1], scratch)
            time.sleep(10)  # the server compiles after the first stage it forks
        rows = []
        for name, change in CHANGES:
            measured = {label: timed_change(project, change, scratch) for label, project in projects.items()}
            (before, ran_before), (after, ran_after) = measured["base"], measured["head"]
            print(f"{name}: {before:.1f} s -> {after:.1f} s", flush=True)
            rows.append(f"| `{name}` | {before:.1f} | {after:.1f} | {after / before:.2f} | {short(ran_before)} | {short(ran_after)} |")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    lines = [HEADING, "",
             f"{date.today().isoformat()}, {platform.processor() or platform.machine()}, {_cpu()}; "
             f"`python benchmarks/reruns.py --base {arguments.base}` (HEAD {head}).",
             "Wall seconds of `dvc repro` after one change to the committed params, on the bundled data; "
             "base: one evaluate stage; HEAD: evaluate, explain, fairness and nested_cv.", "",
             "| change | base s | HEAD s | HEAD / base | base reran | HEAD reran |", "|---|---:|---:|---:|---|---|", *rows, ""]
    write_section(arguments.out, HEADING, lines)


def _cpu() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "unknown CPU")
    return f"{name}, {os.cpu_count()} cores"


if __name__ == "__main__":
    main()
