"""Wall time of the pipeline under DVC against the same stages as plain Python calls, and each
model family's scores on the bundled data. Reports what it measured on this machine.

    python benchmarks/timing.py            # from the repository root, in the project's venv

All runs happen in temporary copies of the repository; the checkout is not touched.
"""
from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import get_args

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stages.params import ModelName  # noqa: E402
from tests.dvc_repo import copy_project, dvc, init_git_repo  # noqa: E402

STAGES = ("validate", "prepare", "featurize", "train", "evaluate")


def fresh_copy(parent: Path, name: str) -> Path:
    repo = parent / name
    copy_project(ROOT, repo)
    (repo / "dvc.lock").unlink()
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    return repo


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run_dvc(repo: Path, *arguments: str) -> None:
    result = dvc(repo, *arguments)
    if result.returncode != 0:
        raise SystemExit(result.output)


def run_stages_in_process(repo: Path, stages=STAGES) -> None:
    os.chdir(repo)
    for stage in stages:
        importlib.import_module(f"stages.{stage}").main()


def set_model(repo: Path, family: str) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["model"] = family
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        under_dvc = fresh_copy(scratch, "dvc")
        scratch_seconds = timed(lambda: run_dvc(under_dvc, "repro"))
        noop_seconds = timed(lambda: run_dvc(under_dvc, "repro"))

        plain = fresh_copy(scratch, "plain")
        sys.path.insert(0, str(plain))  # import the copy's stages, as `python -m` would
        plain_seconds = timed(lambda: run_stages_in_process(plain))

        print(f"dvc repro from scratch:      {scratch_seconds:6.1f} s")
        print(f"no-op dvc repro:             {noop_seconds:6.1f} s")
        print(f"same stages in one process:  {plain_seconds:6.1f} s")
        print(f"dvc repro / plain calls:     {scratch_seconds / plain_seconds:6.2f}x")
        print()
        print(f"{'family':24} {'test ROC-AUC':>12} {'5-fold CV ROC-AUC':>20} {'train+evaluate s':>17}")
        for family in get_args(ModelName):
            set_model(plain, family)
            seconds = timed(lambda: run_stages_in_process(plain, ("train", "evaluate")))
            metrics = json.loads((plain / "metrics/evaluate/metrics.json").read_text())
            cv = f"{metrics['cv']['roc_auc_mean']:.4f} ± {metrics['cv']['roc_auc_std']:.4f}"
            print(f"{family:24} {metrics['test']['roc_auc']:12.4f} {cv:>20} {seconds:17.1f}")
        os.chdir(ROOT)


if __name__ == "__main__":
    main()
