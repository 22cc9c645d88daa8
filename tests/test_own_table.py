"""Bring your own table, end to end, as the README tells a user to: a different real table
(scikit-learn's bundled Wisconsin breast-cancer data, 569 rows, 30 measurements), new
params, a drafted contract, `dvc add`, `dvc repro`.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sklearn.datasets import load_breast_cancer

from tests.dvc_repo import copy_project, dvc, environment, init_git_repo, ran_stages
from tests.test_remotes import git, succeeded

ROOT = Path(__file__).resolve().parents[1]
TABLE = "data/raw/breast_cancer.csv"

pytestmark = pytest.mark.slow


def write_breast_cancer_csv(path: Path) -> int:
    """The table as a user would export it: an id column and a text target."""
    bunch = load_breast_cancer(as_frame=True)
    table = bunch.frame.drop(columns="target")
    table.insert(0, "id", range(842_301, 842_301 + len(table)))
    table["diagnosis"] = bunch.target.map(dict(enumerate(bunch.target_names)))  # 0 malignant, 1 benign
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False)
    return table.shape[1]


def point_params_at_the_table(repo: Path) -> None:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["data"].update(path=TABLE, target="diagnosis", positive_class="malignant", drop_columns=["id"])
    if params["data"].get("segment_column") is not None:
        params["data"]["segment_column"] = None  # the credit table's column; none fits here
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def draft_contract(repo: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tabular_mlops", "contract", *arguments],
        cwd=repo, env=environment(), capture_output=True, text=True, timeout=300,
    )


def test_breast_cancer_table_runs_through_every_stage_with_high_roc_auc(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    copy_project(ROOT, repo)
    init_git_repo(repo)
    columns = write_breast_cancer_csv(repo / TABLE)
    point_params_at_the_table(repo)

    refused = draft_contract(repo)
    assert refused.returncode == 2 and "--force" in refused.stderr, refused.stderr  # keeps the old contract
    drafted = draft_contract(repo, "--force")
    assert drafted.returncode == 0, drafted.stderr
    assert f"{columns} columns, target 'diagnosis'" in drafted.stdout

    contract = yaml.safe_load((repo / "data/contract.yaml").read_text())
    assert contract["target"] == "diagnosis"
    assert len(contract["columns"]) == columns == 32
    assert contract["columns"]["diagnosis"]["categories"] == ["benign", "malignant"]
    assert contract["columns"]["id"]["type"] == "integer"
    assert contract["columns"]["mean radius"] == {"type": "float", "nullable": False, "min": 0.0}

    succeeded(dvc(repo, "add", TABLE))
    git(repo, "add", "params.yaml", "data/contract.yaml", f"{TABLE}.dvc", "data/raw/.gitignore")
    git(repo, "commit", "-qm", "Breast-cancer table, its contract and params")

    result = succeeded(dvc(repo, "repro"))
    stages = set(succeeded(dvc(repo, "stage", "list", "--name-only")).stdout.split())
    assert ran_stages(result.output) == stages
    assert {"validate", "prepare", "featurize", "train", "evaluate"} <= stages
    metrics = json.loads((repo / "metrics/evaluate/metrics.json").read_text())
    assert metrics["test"]["roc_auc"] > 0.95
    model = json.loads((repo / "models/model.json").read_text())
    assert model["target"] == "diagnosis"
    assert "id" not in model["input_columns"] and len(model["input_columns"]) == 30
    assert json.loads(succeeded(dvc(repo, "status", "--json")).stdout) == {}
