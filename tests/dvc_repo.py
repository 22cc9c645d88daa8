"""Helpers to build a temporary git + DVC repository from the project files and run `dvc` in it."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

# Not copied: the tests themselves and anything a run produces.
NOT_PROJECT = ("tests/", "benchmarks/", "docs/")


@dataclass
class DvcResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def project_files(root: Path) -> list[str]:
    """What a fresh clone holds: tracked files plus new, not-ignored ones (for work in progress)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    return [name for name in listed if name and not name.startswith(NOT_PROJECT) and (root / name).is_file()]


def copy_project(root: Path, destination: Path) -> None:
    for name in project_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)


def init_git_repo(repo: Path) -> None:
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "test"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "project"],
    ):
        subprocess.run(command, cwd=repo, check=True, capture_output=True)


def update_params(repo: Path, change) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    change(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(repo: Path, message: str) -> None:
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, capture_output=True)
    subprocess.run(["git", "commit", "-qm", message], cwd=repo, check=True, capture_output=True)


def small_and_fast(params: dict, families: list[str], gates: list[dict]) -> None:
    """Two families on the leaderboard and light models, so each experiment takes seconds."""
    params["leaderboard"]["families"] = families
    params["train"]["random_forest"].update(n_estimators=30, n_jobs=1)
    params["train"]["hist_gradient_boosting"]["max_iter"] = 30
    params["train"]["mlp"]["max_iter"] = 200
    params["evaluate"]["importance_repeats"] = 2
    params["gates"] = gates


def small_credit_project(repo: Path, gates: list[dict] | None, model: str = "logistic_regression") -> Path:
    """A copy of the project on a 600-row sample of the credit table, with two light families
    (gates: None keeps the committed ones); not a git repository yet."""
    copy_project(Path(__file__).resolve().parents[1], repo)
    table = pd.read_csv(repo / "data/raw/credit.csv").sample(n=600, random_state=0)
    table.to_csv(repo / "data/raw/credit.csv", index=False)

    def configure(params: dict) -> None:
        small_and_fast(params, ["logistic_regression", "dummy"], params["gates"] if gates is None else gates)
        params["train"]["model"] = model

    update_params(repo, configure)
    return repo


def small_credit_repo(repo: Path, gates: list[dict], model: str = "logistic_regression", *targets: str) -> Path:
    """A committed, reproduced copy of the project on a 600-row sample of the credit table.

    `targets`: reproduce only these stages (and what they need), for tests about the early stages.
    """
    small_credit_project(repo, gates, model)
    init_git_repo(repo)
    result = dvc(repo, "repro", *targets)
    assert result.returncode == 0, result.output
    commit(repo, "small credit sample")
    return repo


def reproduce_small(repo: Path) -> None:
    """conftest's `small_repo`: the 600-row project with `train.model: auto` and the committed
    gates, reproduced from nothing (no dvc.lock, no metrics, an empty cache), not committed."""
    small_credit_project(repo, gates=None, model="auto")
    reproduce_from_nothing(repo)


def reproduce_from_nothing(repo: Path) -> DvcResult:
    """Drop the committed dvc.lock files and metrics (the full-size run's, not this copy's), make
    the first commit and run `dvc repro`, which must pass."""
    for lock_file in LOCK_FILES:
        (repo / lock_file).unlink()
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    return result


def committed_variant(source: Path, destination: Path, change, message: str) -> Path:
    """A copy of a reproduced repository (conftest's `small_repo`) with params changed by
    `change`, rerun (DVC reruns only the stages the change touches) and committed."""
    shutil.copytree(source, destination, symlinks=True)
    update_params(destination, change)
    result = dvc(destination, "repro")
    assert result.returncode == 0, result.output
    commit(destination, message)
    return destination


def draft_contract(repo: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`tabular-mlops contract ARGUMENTS` in the repository, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "tabular_mlops", "contract", *arguments],
                          cwd=repo, env=environment(), capture_output=True, text=True, timeout=300)


def environment() -> dict[str, str]:
    """The stages run as `python -m stages.X`: make `python` this interpreter."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DVC_NO_ANALYTICS"] = "1"
    # One thread per stage: the test suite runs two workers on two cores. Results do not
    # depend on it (the pipeline's n_jobs and thread counts never change a result).
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONPATH", None)
    return env


def dvc(repo: Path, *arguments: str, timeout: float = 1800, env: dict[str, str] | None = None) -> DvcResult:
    """Run dvc in `repo`; `env` adds variables (the stages inherit them)."""
    completed = subprocess.run(
        [sys.executable, "-m", "dvc", *arguments],
        cwd=repo, env={**environment(), **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )
    return DvcResult(completed.returncode, completed.stdout, completed.stderr)


# The pipeline's files, as `dvc repro` runs them, and the dvc.lock DVC writes beside each.
# leaderboard/dvc.yaml holds the per-family stages; DVC names them with the file as a prefix.
PIPELINE_FILES = ("dvc.yaml", "leaderboard/dvc.yaml")
LOCK_FILES = ("dvc.lock", "leaderboard/dvc.lock")


def qualified(pipeline_file: str, stage: str) -> str:
    """A stage's name as DVC prints it (`leaderboard/dvc.yaml:cross_validate@mlp`)."""
    return stage if pipeline_file == "dvc.yaml" else f"{pipeline_file}:{stage}"


def read_lock(repo: Path) -> dict:
    """Every lock file's stages in one dict, keyed by their qualified names."""
    stages = {}
    for pipeline_file, lock_file in zip(PIPELINE_FILES, LOCK_FILES):
        if (repo / lock_file).exists():
            lock = yaml.safe_load((repo / lock_file).read_text())
            stages.update({qualified(pipeline_file, name): entry for name, entry in lock["stages"].items()})
    return {"schema": "2.0", "stages": stages}


def lock_bytes(repo: Path) -> dict[str, bytes | None]:
    """{lock file: its bytes, or None when absent}: what a failed run must leave as it was."""
    return {name: (repo / name).read_bytes() if (repo / name).exists() else None for name in LOCK_FILES}


def locked_outputs(repo: Path) -> dict[str, str]:
    """{output path: md5} for every file output recorded in dvc.lock (directories expanded by DVC's .dir)."""
    outputs = {}
    for stage in read_lock(repo)["stages"].values():
        for out in stage.get("outs", []):
            outputs[out["path"]] = out["md5"]
    return outputs


# The README's promise: on another x86-64 CPU only the bytes of the trained model may differ
# (OpenBLAS and numpy pick their kernels by CPU). Its size may not, nor any other dvc.lock entry.
# Also what holds the model (the bundle) or its unrounded probabilities (the scored tables,
# whose Parquet size depends on how well the last bits compress: their size may differ too).
MAY_DIFFER_ACROSS_CPUS = ("models/model.joblib", "models/bundle", "models/reference", "data/scored/batch.parquet")
SIZE_MAY_DIFFER = ("models/reference", "data/scored/batch.parquet")


def lock_without_model_bytes(lock: dict) -> dict:
    """dvc.lock with the md5 of MAY_DIFFER_ACROSS_CPUS (and the size of SIZE_MAY_DIFFER) blanked
    wherever they appear (outs, and the deps of the stages that read them); the rest kept."""
    stages = {}
    for name, stage in lock["stages"].items():
        stages[name] = dict(stage)
        for key in ("deps", "outs"):
            if key in stage:
                stages[name][key] = [_blanked(entry) for entry in stage[key]]
    return {**lock, "stages": stages}


def _blanked(entry: dict) -> dict:
    if entry["path"] not in MAY_DIFFER_ACROSS_CPUS:
        return entry
    return dict(entry, md5="(may differ)", **({"size": "(may differ)"} if entry["path"] in SIZE_MAY_DIFFER else {}))


def files_under(folder: Path) -> dict[str, bytes]:
    """{relative path: bytes} of every file under `folder`."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# The stages after the gate: they rerun whenever the model or its evaluation changes.
DEPLOYMENT_STAGES = {"bundle", "compare", "score", "reference", "monitor"}
EVALUATION_STAGES = {"evaluate", "explain", "fairness", "nested_cv", "gate"}


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}
