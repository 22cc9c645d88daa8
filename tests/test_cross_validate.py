"""cross_validate: the unfitted pipeline a family is cross-validated as, and its entry: scores, or failed with the reason."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from tabular_mlops.config.params import Params, load_params
from tabular_mlops.data.contract import ColumnContract, Contract
from tabular_mlops.models import scoring
from tabular_mlops.models.assessment import assess_family
from tabular_mlops.models.leaderboard import leaderboard
from tabular_mlops.models.pipeline import family_pipeline

REPO_PARAMS = Path(__file__).resolve().parents[1] / "params.yaml"
CONTRACT = Contract(
    target="Status",
    columns={
        "Status": ColumnContract(type="category", nullable=True, categories=["bad", "good"]),
        "Age": ColumnContract(type="integer", nullable=False),
        "Home": ColumnContract(type="category", nullable=True, categories=["rent"]),
        "Price": ColumnContract(type="float", nullable=True),
    },
)


@pytest.fixture(scope="module")
def classification() -> Params:
    return load_params(REPO_PARAMS)


@pytest.fixture(scope="module")
def regression() -> Params:
    raw = yaml.safe_load(REPO_PARAMS.read_text(encoding="utf-8"))
    raw["data"].update(task="regression", positive_class=None, target="Price")
    raw["train"]["model"] = "ridge"
    raw["leaderboard"]["families"] = ["ridge", "random_forest"]
    raw["gates"] = []
    return Params.model_validate(raw)


def test_family_pipeline_is_unfitted_preprocessing_then_the_tasks_estimator_with_its_params_and_seed(classification):
    pipeline = family_pipeline(classification, CONTRACT, "random_forest")
    assert isinstance(pipeline, Pipeline) and list(pipeline.named_steps) == ["preprocess", "model"]
    assert isinstance(pipeline.named_steps["preprocess"], ColumnTransformer)
    model = pipeline.named_steps["model"]
    assert type(model) is RandomForestClassifier
    assert model.n_estimators == classification.train.random_forest.n_estimators and model.random_state == classification.seed
    assert not hasattr(pipeline.named_steps["preprocess"], "transformers_") and not hasattr(model, "estimators_")


def test_family_pipeline_for_regression_builds_regressors_and_leaves_the_target_out(regression):
    assert type(family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "random_forest").named_steps["model"]) is RandomForestRegressor
    pipeline = family_pipeline(regression, CONTRACT.model_copy(update={"target": "Price"}), "ridge")
    assert type(pipeline.named_steps["model"]) is Ridge
    roles = {name: columns for name, _, columns in pipeline.named_steps["preprocess"].transformers}
    assert roles == {"numeric": ["Age"], "categorical": ["Status", "Home"]}


# --- a family's leaderboard entry: scores, or failed with the reason ---

class ExplodingClassifier(ClassifierMixin, BaseEstimator):
    """Stands in for a family whose own fit raises (a solver error, a bad hyperparameter)."""

    def fit(self, inputs, target):
        raise ValueError("solver exploded\non two lines")


@pytest.fixture
def rows() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    target = pd.Series(np.r_[np.zeros(60, dtype=int), np.ones(20, dtype=int)])
    inputs = pd.DataFrame({"x": target * 1.5 + rng.normal(0, 1, len(target)), "z": rng.normal(0, 1, len(target))})
    return inputs, target


def test_a_family_whose_fit_raises_is_recorded_failed_with_the_message_and_is_not_ranked(rows):
    result, _ = assess_family("classification", "exploding", ExplodingClassifier(), rows, rows, folds=4, seed=0)
    assert result == {"family": "exploding", "status": "failed", "reason": "ValueError: solver exploded on two lines"}
    ok, _ = assess_family("classification", "logistic_regression", LogisticRegression(), rows, rows, folds=4, seed=0)
    table = leaderboard([result, ok], "roc_auc", folds=4)
    assert [row["family"] for row in table["ranking"]] == ["logistic_regression"] and table["best"] == "logistic_regression"
    assert table["failed"] == [{"family": "exploding", "reason": "ValueError: solver exploded on two lines"}]


def test_a_fold_without_the_positive_class_fails_the_family_naming_the_fold(rows):
    inputs, target = rows
    rare = target.copy()
    rare[rare == 1] = 0
    rare.iloc[[0, 1, 2]] = 1  # 3 positives for 5 folds: two folds have none, so no ROC-AUC there
    # Independently: the first fold (1-based) of the same splitter whose test part has no positive.
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first_empty = next(k for k, (_, test) in enumerate(splitter.split(inputs, rare), start=1) if rare.iloc[test].sum() == 0)
        result, _ = assess_family("classification", "logistic_regression", LogisticRegression(), (inputs, rare), rows, folds=5, seed=0)
    assert result == {"family": "logistic_regression", "status": "failed", "reason": f"fold {first_empty} gave NaN roc_auc (5-fold CV): its rows lack a class"}


def test_a_successful_entry_holds_the_cv_and_test_scores_scikit_learn_computes(rows):
    inputs, target = rows
    result, fit_seconds = assess_family("classification", "logistic_regression", LogisticRegression(), rows, rows, folds=4, seed=3)
    expected = cross_val_score(LogisticRegression(), inputs, target, cv=StratifiedKFold(4, shuffle=True, random_state=3), scoring="roc_auc")
    assert result["status"] == "ok" and fit_seconds >= 0
    assert result["cv"]["roc_auc_mean"] == pytest.approx(expected.mean(), abs=1e-6)
    assert result["cv"]["roc_auc_std"] == pytest.approx(expected.std(), abs=1e-6)
    refit = LogisticRegression().fit(inputs, target)
    assert result["test"]["roc_auc"] == pytest.approx(roc_auc_score(target, refit.predict_proba(inputs)[:, 1]), abs=1e-6)


def test_a_fold_that_scores_nan_fails_the_family_naming_the_fold_and_the_metric(rows, monkeypatch):
    real = scoring.cross_validate

    def third_fold_nan_brier(*args, **kwargs):
        scores = real(*args, **kwargs)
        scores["test_brier"][2] = np.nan
        return scores

    monkeypatch.setattr(scoring, "cross_validate", third_fold_nan_brier)
    result, _ = assess_family("classification", "mlp", LogisticRegression(), rows, rows, folds=4, seed=0)
    assert result == {"family": "mlp", "status": "failed", "reason": "fold 3 gave NaN brier (4-fold CV)"}


def test_a_family_that_cannot_do_the_task_writes_a_not_applicable_result_without_loading_scikit_learn(tmp_path):
    """leaderboard.families lists both tasks' families; the other task's stages must stay cheap."""
    import json
    import subprocess
    import sys

    root = REPO_PARAMS.parent
    (tmp_path / "params.yaml").write_text(REPO_PARAMS.read_text(encoding="utf-8"), encoding="utf-8")  # classification
    probe = (
        "import runpy, sys; sys.argv = ['cross_validate', 'ridge'];"
        "runpy.run_module('stages.cross_validate', run_name='__main__');"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'pandas', 'pyarrow'}))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                               env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["ridge: not applicable to classification; the leaderboard skips it", "[]"]
    written = json.loads((tmp_path / "metrics/leaderboard/ridge.json").read_text())
    assert written == {"family": "ridge", "not_applicable_to": "classification"}


def test_assess_family_reports_each_fold_and_the_refit(classification):
    rng = np.random.default_rng(0)
    inputs = pd.DataFrame({"Age": rng.integers(20, 60, 60), "Home": ["rent"] * 60, "Price": rng.normal(100, 10, 60)})
    target = pd.Series(np.tile(["bad", "good", "good"], 20), name="Status")
    told = []
    pipeline = family_pipeline(classification, CONTRACT, "logistic_regression")
    result, _ = assess_family("classification", "logistic_regression", pipeline, (inputs, (target == "bad").astype(int)),
                              (inputs, (target == "bad").astype(int)), 3, 0, told.append)
    assert result["status"] == "ok"
    assert told == ["fold 1/3 done", "fold 2/3 done", "fold 3/3 done", "refit on 60 rows done"]
