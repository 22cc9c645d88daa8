"""The family registry: each family is one module of tabular_mlops/families/, listed once in
registry.py, and the built-in families build exactly the scikit-learn estimators they always did."""
from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from tabular_mlops.config.params import load_params
from tabular_mlops.errors import StageError, run_stage
from tabular_mlops.families import registry
from tabular_mlops.families.family import Family
from tabular_mlops.families.registry import BY_NAME, FAMILIES, FAMILIES_BY_TASK, build_estimator

ROOT = Path(__file__).resolve().parents[1]
FAMILIES_FOLDER = ROOT / "tabular_mlops/families"
SEED = 42


def direct(task: str, family: str):
    """The estimator as written out by hand from the repository's params.yaml (seed 42): the reference."""
    if (task, family) == ("classification", "logistic_regression"):
        return LogisticRegression(C=1.0, max_iter=1000, class_weight=None, random_state=SEED)
    if (task, family) == ("classification", "linear_svm"):
        return CalibratedClassifierCV(LinearSVC(C=0.1, max_iter=5000, random_state=SEED), method="sigmoid", cv=3)
    if (task, family) == ("regression", "linear_regression"):
        return LinearRegression(fit_intercept=True)
    if (task, family) == ("regression", "ridge"):
        return Ridge(alpha=1.0, random_state=SEED)
    classification = task == "classification"
    if family == "random_forest":
        return (RandomForestClassifier if classification else RandomForestRegressor)(
            n_estimators=300, max_depth=None, min_samples_leaf=3, max_features=0.5, n_jobs=1, random_state=SEED)
    if family == "hist_gradient_boosting":
        return (HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor)(
            learning_rate=0.03, max_iter=300, max_leaf_nodes=8, min_samples_leaf=40, l2_regularization=1.0,
            early_stopping=False, random_state=SEED)
    if family == "mlp":
        network = (MLPClassifier if classification else MLPRegressor)(
            hidden_layer_sizes=(32,), alpha=1.0, learning_rate_init=0.001, max_iter=500, random_state=SEED)
        return network if classification else TransformedTargetRegressor(regressor=network, transformer=StandardScaler())
    if family == "dummy":
        return DummyClassifier(strategy="prior") if classification else DummyRegressor(strategy="mean")
    raise KeyError(family)


BUILT_IN = [(task, family) for task, families in FAMILIES_BY_TASK.items() for family in families if not BY_NAME[family].requires]


def small_table(rows: int = 240) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    rng = np.random.default_rng(3)
    inputs = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    label = pd.Series((inputs["a"] + inputs["b"] * inputs["c"] + rng.logistic(size=rows) > 0).astype(int))
    return inputs, label, 2 * inputs["a"] - inputs["d"] + rng.normal(size=rows)


def predictions(estimator, task: str) -> np.ndarray:
    inputs, label, value = small_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(inputs, label if task == "classification" else value)
    return estimator.predict_proba(inputs) if task == "classification" else estimator.predict(inputs)


def test_the_eight_built_in_families_are_the_two_tasks_families_in_their_order():
    assert FAMILIES_BY_TASK["classification"][:4] == ("logistic_regression", "linear_svm", "random_forest", "hist_gradient_boosting")
    assert len(BUILT_IN) == 12 and {family for _, family in BUILT_IN} == {
        "logistic_regression", "linear_svm", "linear_regression", "ridge", "random_forest", "hist_gradient_boosting", "mlp", "dummy"}


@pytest.mark.parametrize("task, family", BUILT_IN)
def test_each_built_in_family_fits_bit_for_bit_like_the_scikit_learn_estimator_written_out_by_hand(task, family):
    spec = load_params(ROOT / "params.yaml").train.family_params(family)
    built = build_estimator(task, family, spec, SEED)
    assert repr(built) == repr(direct(task, family))
    assert np.array_equal(predictions(built, task), predictions(direct(task, family), task))


def test_every_module_of_the_folder_defines_one_family_of_its_own_name_listed_once_in_the_registry():
    modules = sorted(path.stem for path in FAMILIES_FOLDER.glob("*.py") if path.stem not in ("__init__", "family", "registry"))
    names = [family.name for family in FAMILIES]
    assert sorted(names) == modules and len(set(names)) == len(names)
    for module in modules:
        tree = ast.parse((FAMILIES_FOLDER / f"{module}.py").read_text())
        top_imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        # estimators are imported inside the factories: validating params.yaml must not load them
        assert all(isinstance(node, ast.ImportFrom) and node.module.split(".")[0] in ("__future__", "typing", "pydantic", "tabular_mlops")
                   for node in top_imports), module


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.name)
def test_each_default_search_space_holds_valid_candidates_of_the_familys_own_hyperparameters(family: Family):
    current = load_params(ROOT / "params.yaml").train.family_params(family.name).model_dump()
    for name, values in family.search_space.items():
        assert name in current and values
        for value in values:
            family.params.model_validate({**current, name: value})


def test_a_family_whose_package_does_not_import_is_refused_in_one_line_naming_its_extra(monkeypatch, capsys):
    absent = Family(name="absent", params=BY_NAME["dummy"].params, factories={"classification": lambda spec, seed: None},
                    requires=("tabular_mlops_test_absent_package",), extra="absent")
    monkeypatch.setitem(registry.BY_NAME, "absent", absent)
    monkeypatch.setattr(registry, "FAMILIES", (*registry.FAMILIES, absent))
    with pytest.raises(SystemExit) as exited:
        run_stage(lambda: build_estimator("classification", "absent", None, 0))
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: model family 'absent' needs the tabular_mlops_test_absent_package package, which is not "
                                       "installed; install it with pip install -e '.[absent]'\n")


# --- a new family: one module and its line in registry.py, nothing else ---

NEW_FAMILY = '''"""Extremely randomised trees: both tasks; explained exactly by tree SHAP."""
from __future__ import annotations

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class ExtraTreesParams(Section):
    n_estimators: int = Field(ge=1)
    min_samples_leaf: int = Field(ge=1)


def classifier(spec, seed):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=spec.n_estimators, min_samples_leaf=spec.min_samples_leaf, n_jobs=1, random_state=seed)


def regressor(spec, seed):
    from sklearn.ensemble import ExtraTreesRegressor

    return ExtraTreesRegressor(n_estimators=spec.n_estimators, min_samples_leaf=spec.min_samples_leaf, n_jobs=1, random_state=seed)


def _estimators():
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    return (ExtraTreesClassifier, ExtraTreesRegressor)


FAMILY = Family(name="extra_trees", params=ExtraTreesParams, factories={"classification": classifier, "regression": regressor},
                search_space={"min_samples_leaf": [1, 5]}, explanation=Explanation(method="tree", estimators=_estimators))
'''

PROBE = '''
import json, sys
import numpy as np, pandas as pd, yaml
from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.errors import StageError
from tabular_mlops.explanations.contributions import explain
from tabular_mlops.explanations.explainers import build_explainer
from tabular_mlops.families.registry import FAMILIES_BY_TASK
from tabular_mlops.models.pipeline import family_pipeline
from tabular_mlops.models.search import candidates

raw = yaml.safe_load(open(sys.argv[1]))
raw["train"]["extra_trees"] = {"n_estimators": 20, "min_samples_leaf": 5}
raw["train"]["model"] = "extra_trees"
raw["leaderboard"]["families"] = ["extra_trees", "dummy"]
open("params.yaml", "w").write(yaml.safe_dump(raw))
params = load_params("params.yaml")
rng = np.random.default_rng(0)
rows = pd.DataFrame({"x": rng.normal(size=200), "kind": rng.choice(["a", "b"], 200)})
label = ((rows["x"] + (rows["kind"] == "a")) > 0.5).astype(int)
contract = Contract(target="y", columns={"y": ColumnContract(type="category", nullable=False, categories=["0", "1"]),
                                         "x": ColumnContract(type="float", nullable=False),
                                         "kind": ColumnContract(type="category", nullable=False)})
model = family_pipeline(params, contract, "extra_trees").fit(rows, label)
explained = explain(build_explainer(model, rows, "classification", 0), rows.head(20))
gap = explained.base_value + explained.contributions.sum(axis=1).to_numpy() - model.predict_proba(rows.head(20))[:, 1]
raw["train"]["model"] = "extra_treez"
open("params.yaml", "w").write(yaml.safe_dump(raw))
try:
    load_params("params.yaml")
except StageError as error:
    refused = str(error)
print(json.dumps({"tasks": {task: "extra_trees" in names for task, names in FAMILIES_BY_TASK.items()},
                  "task_families": params.task_families, "estimator": type(model[-1]).__name__,
                  "output_space": explained.output_space, "gap": float(np.abs(gap).max()), "refused": refused,
                  "candidates": candidates(params.train.search, "extra_trees", 0)}))
'''


def test_a_new_family_is_one_module_plus_its_line_in_the_registry(tmp_path: Path):
    package = tmp_path / "tabular_mlops"
    shutil.copytree(ROOT / "tabular_mlops", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "families/extra_trees.py").write_text(NEW_FAMILY)
    listed = package / "families/registry.py"
    text = listed.read_text()
    text = text.replace("from tabular_mlops.families import (\n", "from tabular_mlops.families import (\n    extra_trees,\n", 1)
    listed.write_text(text.replace("    dummy.FAMILY,\n)", "    dummy.FAMILY,\n    extra_trees.FAMILY,\n)", 1))
    completed = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "params.yaml")], cwd=tmp_path, capture_output=True, text=True,
                               env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}, timeout=120)
    assert completed.returncode == 0, completed.stderr
    found = json.loads(completed.stdout)
    assert found["tasks"] == {"classification": True, "regression": True}
    assert found["task_families"] == ["extra_trees", "dummy"] and found["estimator"] == "ExtraTreesClassifier"
    assert found["output_space"] == "probability" and found["gap"] < 1e-9  # tree SHAP, exact, in the forest's probability
    assert found["refused"].endswith("'mlp', 'dummy' or 'extra_trees'; got 'extra_treez'")
    # the module's default space: both of its candidates (n_iter 8 draws at most the grid's 2)
    assert sorted(found["candidates"], key=str) == [{"min_samples_leaf": 1}, {"min_samples_leaf": 5}]
