"""A param change reruns only the stages that read it: the real `dvc status` after each change.

`dvc status` lists the stages whose own dependencies changed (a param, a file); a stage after
them reruns only if their outputs then change. The table is what a user pays for a change: the
evaluation is four stages (evaluate, explain, fairness, nested_cv) so that, for example, a new
confidence level for the fairness intervals reruns the fairness stage and the cheap gate, not the
cross-validation, the permutation importance or SHAP.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from tests.dvc_repo import dvc, update_params

pytestmark = pytest.mark.slow

NEW_FAMILY = "leaderboard/dvc.yaml:cross_validate@linear_svm"


def add_family(params: dict) -> None:
    params["leaderboard"]["families"].append("linear_svm")


# (what changes, how, the stages `dvc status` must list)
CHANGES: list[tuple[str, Callable[[dict], None], set[str]]] = [
    ("fairness.confidence", lambda p: p["fairness"].update(confidence=0.9),
     {"fairness", "gate"}),  # the model card names the confidence
    ("fairness.min_group_rows", lambda p: p["fairness"].update(min_group_rows=p["fairness"]["min_group_rows"] + 5),
     {"fairness", "gate", "compare", "monitor"}),  # compare and monitor report groups too
    ("evaluate.explain_rows", lambda p: p["evaluate"].update(explain_rows=p["evaluate"]["explain_rows"] // 2),
     {"explain"}),
    ("evaluate.importance_repeats", lambda p: p["evaluate"].update(importance_repeats=p["evaluate"]["importance_repeats"] + 1),
     {"explain"}),
    ("evaluate.threshold.method", lambda p: p["evaluate"]["threshold"].update(method="fixed"),
     {"evaluate", "fairness"}),  # fairness decides at evaluate's threshold
    ("leaderboard.families, nested CV off", add_family,
     {NEW_FAMILY, "leaderboard", "nested_cv"}),  # nested_cv reruns to write that it is off: no fit
    ("train.model", lambda p: p["train"].update(model="hist_gradient_boosting"),
     {"train", "nested_cv"}),
]


def changed_stages(repo: Path) -> set[str]:
    status = dvc(repo, "status", "--json")
    assert status.returncode == 0, status.output
    return set(json.loads(status.stdout))


def test_each_param_change_reruns_only_the_stages_that_read_it(small_repo_copy: Path) -> None:
    repo = small_repo_copy
    assert changed_stages(repo) == set()
    committed = (repo / "params.yaml").read_text()
    found = {}
    for name, change, _expected in CHANGES:
        update_params(repo, change)
        found[name] = changed_stages(repo)
        (repo / "params.yaml").write_text(committed)
    assert found == {name: expected for name, _change, expected in CHANGES}


def test_with_nested_cv_on_a_new_family_reruns_nested_cv_which_then_weighs_it(small_repo_copy: Path) -> None:
    repo = small_repo_copy
    update_params(repo, lambda p: p["evaluate"].update(nested_cv=True))
    assert changed_stages(repo) == {"nested_cv"}
    update_params(repo, add_family)
    assert changed_stages(repo) == {NEW_FAMILY, "leaderboard", "nested_cv"}
    ran = dvc(repo, "repro", "nested_cv")
    assert ran.returncode == 0, ran.output
    folds = json.loads((repo / "metrics/nested_cv/folds.json").read_text())["folds"]
    assert all(set(fold["inner_cv"]) == {"logistic_regression", "dummy", "linear_svm"} for fold in folds), folds
