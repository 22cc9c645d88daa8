"""What a registered version is: the commit, the data it was trained on, the model and its test figures.

Read from the commit itself (its dvc.lock and metrics/ as committed) and from models/bundle in
the working tree, which must be the bundle that commit's dvc.lock records: a version whose
results were never committed could not be fetched again (`dvc artifacts get` follows dvc.lock).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

from tabular_mlops.errors import StageError
from tabular_mlops.registry.git import file_at, git

BUNDLE = "models/bundle"
GATES = "metrics/gates.json"
EVALUATION = "metrics/evaluation"
RETURNED = "data/returned/"  # rows returned from the prediction log: training reads them beside data.path


def dvc_directory_md5(directory: Path) -> str:
    """The md5 DVC records for a directory output (`<md5>.dir` in dvc.lock): the md5 of the JSON
    list of its files' md5 and relative paths, sorted by path."""
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    entries = [{"md5": hashlib.md5(path.read_bytes()).hexdigest(), "relpath": path.relative_to(directory).as_posix()}
               for path in files]
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def check_committed(repo: Path, commit: str) -> None:
    """Refuse unless models/bundle in the working tree is the bundle `commit`'s dvc.lock records."""
    lock = _lock_at(repo, commit)
    try:
        outs = lock["stages"]["bundle"]["outs"]
        recorded = next(out["md5"] for out in outs if out["path"] == BUNDLE).removesuffix(".dir")
    except (KeyError, TypeError, StopIteration):
        raise StageError(f"dvc.lock: commit {commit[:7]} records no {BUNDLE} in the bundle stage; "
                         "run `dvc repro` and commit its results") from None
    directory = repo / BUNDLE
    if not directory.is_dir():
        raise StageError(f"{BUNDLE}: not found; `dvc checkout` restores the bundle commit {commit[:7]} records")
    actual = dvc_directory_md5(directory)
    if actual != recorded:
        raise StageError(f"{BUNDLE}: its md5 {actual[:12]} is not the bundle dvc.lock records at commit {commit[:7]} "
                         f"({recorded[:12]}): commit the results of `dvc repro` (dvc.lock, metrics/) first")


def check_compared(repo: Path, commit: str, comparison: str) -> None:
    """Refuse unless `comparison` (metrics/compare.json) is the one `commit` holds and the compare
    stage there scored the bundle that commit records: dvc.lock says so, as the md5 of the compare
    stage's models/bundle dependency."""
    if not (repo / comparison).is_file():
        raise StageError(f"{comparison}: not found; the compare stage writes it: run `dvc repro compare` and commit its results")
    committed = file_at(repo, commit, comparison)
    if committed is None or (repo / comparison).read_bytes() != committed:
        raise StageError(f"{comparison}: not the file commit {commit[:7]} holds; run `dvc repro compare` and commit its results")
    stages = _lock_at(repo, commit).get("stages") or {}
    bundle = next((out.get("md5") for out in (stages.get("bundle") or {}).get("outs", []) if out.get("path") == BUNDLE), None)
    compared = next((dep.get("md5") for dep in (stages.get("compare") or {}).get("deps", []) if dep.get("path") == BUNDLE), None)
    if compared is None:
        raise StageError(f"dvc.lock: commit {commit[:7]} records no compare stage; run `dvc repro compare` and commit its results")
    if compared != bundle:
        raise StageError(f"{comparison}: stale: the compare stage at commit {commit[:7]} scored another bundle "
                         f"(md5 {compared[:12]}) than the one dvc.lock records ({(bundle or 'none')[:12]}); "
                         "run `dvc repro compare` and commit its results")


def check_gates(repo: Path, commit: str) -> None:
    """Refuse a commit whose metrics/gates.json does not say the gates passed."""
    raw = file_at(repo, commit, GATES)
    try:
        passed = json.loads(raw)["passed"] if raw is not None else None
    except (ValueError, KeyError, TypeError):
        passed = None
    if passed is None:
        raise StageError(f"{GATES}: commit {commit[:7]} holds no gate results; run `dvc repro` and commit its results")
    if passed is not True:
        failed = [gate.get("metric", "?") for gate in json.loads(raw).get("gates", []) if not gate.get("passed")]
        raise StageError(f"{GATES}: the gates did not pass at commit {commit[:7]} ({', '.join(failed) or 'see the file'}); "
                         "a model that fails its gates is not registered")


def training_data(repo: Path, commit: str) -> dict[str, str]:
    """{path: md5} of the table at data.path and of the tables training adds to it (data.extra_paths,
    data/returned/), as the validate stage recorded them in `commit`'s dvc.lock."""
    try:
        stage = _lock_at(repo, commit)["stages"]["validate"]
        data_params = stage["params"]["params.yaml"]["data"]
        table, deps = data_params["path"], stage["deps"]
    except (KeyError, TypeError):
        raise StageError(f"dvc.lock: commit {commit[:7]} records no validate stage with data.path") from None
    tables = {table, *(data_params.get("extra_paths") or [])}
    added = {dep["path"]: dep["md5"] for dep in deps
             if dep.get("path") in tables - {table} or f"{dep.get('path')}/".startswith(RETURNED)}
    recorded = next((dep["md5"] for dep in deps if dep.get("path") == table), None)
    if recorded is None:
        raise StageError(f"dvc.lock: commit {commit[:7]} records no md5 of {table} (data.path) in the validate stage")
    return {table: recorded, **added}  # data.path first


def test_metrics(repo: Path, commit: str) -> dict[str, float]:
    """{metric: its test value} from the headline files metrics/evaluation/<metric>.json at `commit`."""
    listed = git(repo, "ls-tree", "--name-only", commit, f"{EVALUATION}/").decode().split("\n")
    figures = {}
    for path in sorted(name for name in listed if name.endswith(".json")):
        value = test_metric(repo, commit, Path(path).stem)
        if value is not None:
            figures[Path(path).stem] = value
    return figures


def test_metric(repo: Path, commit: str, metric: str) -> float | None:
    """The `test` value of metrics/evaluation/<metric>.json at `commit`; None when it has none."""
    raw = file_at(repo, commit, f"{EVALUATION}/{metric}.json")
    try:
        value = json.loads(raw)["test"] if raw is not None else None
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, (int, float)) else None


def model_sha256(repo: Path) -> str:
    """The sha256 of the model in models/bundle, from its manifest."""
    path = repo / BUNDLE / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["model_sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise StageError(f"{path}: not a bundle manifest (expected JSON with model_sha256); run `dvc repro`") from None


def trace(repo: Path, commit: str) -> dict:
    """What the registration tag records. Call after check_committed, so models/bundle is the commit's."""
    data = training_data(repo, commit)
    return {"commit": commit, "table": next(iter(data)), "data": data, "model_sha256": model_sha256(repo),
            "metrics": {"test": test_metrics(repo, commit)}}


def _lock_at(repo: Path, commit: str) -> dict:
    raw = file_at(repo, commit, "dvc.lock")
    if raw is None:
        raise StageError(f"dvc.lock: not committed at {commit[:7]}; run `dvc repro` and commit its results")
    try:
        lock = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise StageError(f"dvc.lock: not valid YAML at commit {commit[:7]}") from None
    return lock if isinstance(lock, dict) else {}
