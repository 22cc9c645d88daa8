"""Merging two branches that each ran the pipeline: git keeps one dvc.lock whole, `dvc repro` does the rest.

.gitattributes unsets `merge` for dvc.lock and metrics/, so `git merge` keeps this branch's
versions (valid YAML and JSON, no conflict markers) and stops; `dvc repro` then reruns what
the other branch changed, and `git add dvc.lock metrics && git commit` ends the merge
(docs/how-to/merge-branches.md).
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dvc_repo import LOCK_FILES, dvc, lock_bytes, ran_stages, read_lock
from tests.test_remotes import git, succeeded

pytestmark = pytest.mark.slow

CONFLICT_MARKER = re.compile(r"^(<<<<<<<|=======|>>>>>>>)( |$)", re.M)


def key_line(lines: list[str], dotted: str) -> int:
    """The index of the line that holds `dotted` (block-style YAML), found by indentation."""
    start, parent_indent = 0, -1
    for key in dotted.split("."):
        child_indent, found = None, None
        for index in range(start, len(lines)):
            stripped = lines[index].lstrip()
            if not stripped.strip() or stripped.startswith("#"):
                continue
            indent = len(lines[index]) - len(stripped)
            if indent <= parent_indent:
                break  # past the end of the parent's block
            child_indent = indent if child_indent is None else child_indent
            if indent == child_indent and stripped.startswith(f"{key}:"):
                found = index
                break
        assert found is not None, f"params.yaml has no key '{dotted}'"
        start, parent_indent = found + 1, child_indent
    return found


def set_params(repo: Path, changes: dict[str, Any]) -> None:
    """Edit values in params.yaml in place, as a person would: other lines and comments stay."""
    path = repo / "params.yaml"
    lines = path.read_text().splitlines(keepends=True)
    for dotted, value in changes.items():
        index = key_line(lines, dotted)
        match = re.match(r"^(\s*[^:#]+:)([^#\n]*?)(\s+#.*)?$", lines[index].rstrip("\n"))
        assert match, lines[index]
        lines[index] = f"{match.group(1)} {value}{match.group(3) or ''}\n"
    path.write_text("".join(lines))
    loaded = yaml.safe_load(path.read_text())
    for dotted, value in changes.items():
        assert param(loaded, dotted) == value, dotted


def param(tree: dict, dotted: str) -> Any:
    for key in dotted.split("."):
        tree = tree[key]
    return tree


def locked_values(repo: Path, dotted: str) -> list[Any]:
    """The value of one param in every stage of dvc.lock that records it (directly or in a parent key)."""
    values = []
    for stage in read_lock(repo)["stages"].values():
        for recorded_key, recorded in stage.get("params", {}).get("params.yaml", {}).items():
            if dotted == recorded_key:
                values.append(recorded)
            elif dotted.startswith(recorded_key + "."):
                values.append(param(recorded, dotted[len(recorded_key) + 1:]))
    return values


def run_on_branch(repo: Path, branch: str, changes: dict[str, Any]) -> set[str]:
    git(repo, "checkout", "-q", "-b", branch, "main")
    succeeded(dvc(repo, "checkout"))  # the outputs that main's dvc.lock names
    set_params(repo, changes)
    # Up to the gate: the merge below is about the stages both branches ran; the deployment
    # stages after it rerun once, when the merge is resolved.
    result = succeeded(dvc(repo, "repro", "gate"))
    git(repo, "add", "params.yaml", *LOCK_FILES, "metrics")
    git(repo, "commit", "-qm", f"{branch}: {changes}")
    return ran_stages(result.output)


def conflicted_paths(repo: Path) -> set[str]:
    return set(git(repo, "diff", "--name-only", "--diff-filter=U").split())


def test_merging_two_runs_keeps_one_whole_lock_and_repro_rebuilds_both_changes(small_repo_copy: Path) -> None:
    for lock_file in LOCK_FILES:
        assert git(small_repo_copy, "check-attr", "merge", "--", lock_file).strip() == f"{lock_file}: merge: unset"
    git(small_repo_copy, "add", *LOCK_FILES, "metrics")
    git(small_repo_copy, "commit", "-qm", "baseline run")

    evaluate_change = {"evaluate.threshold.method": "fixed", "evaluate.threshold.value": 0.3}
    train_change = {"train.logistic_regression.C": 0.25}
    run_on_branch(small_repo_copy, "threshold", evaluate_change)
    run_on_branch(small_repo_copy, "regularise", train_change)
    ours = lock_bytes(small_repo_copy)

    merge = subprocess.run(["git", "merge", "--no-edit", "threshold"], cwd=small_repo_copy, capture_output=True, text=True)
    assert merge.returncode == 1, merge.stdout + merge.stderr  # stopped on the generated files
    conflicts = conflicted_paths(small_repo_copy)
    assert "dvc.lock" in conflicts
    assert all(path in LOCK_FILES or path.startswith("metrics/") for path in conflicts), conflicts
    # No markers: this branch's lock, whole, and params.yaml merged line by line with both changes.
    assert lock_bytes(small_repo_copy) == ours
    for path in [*(small_repo_copy / name for name in LOCK_FILES), *sorted((small_repo_copy / "metrics").rglob("*.*"))]:
        assert not CONFLICT_MARKER.search(path.read_text()), path
    merged_params = yaml.safe_load((small_repo_copy / "params.yaml").read_text())
    for dotted, value in {**evaluate_change, **train_change}.items():
        assert param(merged_params, dotted) == value

    # The resolution: rerun, then record.
    rebuilt = succeeded(dvc(small_repo_copy, "repro")).output
    # evaluate runs with both changes, or comes back from DVC's run cache when the other
    # change left the model as it was (evaluate then ran with these exact inputs on the
    # threshold branch); the data stages, which neither branch touched, do not run.
    assert "Running stage 'evaluate'" in rebuilt or "Stage 'evaluate' is cached" in rebuilt, rebuilt
    assert not {"validate", "prepare", "featurize"} & ran_stages(rebuilt)
    git(small_repo_copy, "add", *LOCK_FILES, "metrics")
    git(small_repo_copy, "commit", "-q", "--no-edit")

    assert conflicted_paths(small_repo_copy) == set()
    assert git(small_repo_copy, "status", "--porcelain", "--untracked-files=no") == ""
    assert json.loads(succeeded(dvc(small_repo_copy, "status", "--json")).stdout) == {}
    for dotted, value in {**evaluate_change, **train_change}.items():
        recorded = locked_values(small_repo_copy, dotted)
        assert recorded and set(recorded) == {value}, (dotted, recorded)
    for metrics_file in (small_repo_copy / "metrics").rglob("*.json"):
        json.loads(metrics_file.read_text())  # whole JSON, not a mix of two runs
