"""build_estimator: the family that train.model names, for the task, with its params and the seed."""
from pathlib import Path

import pytest
import yaml
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.compose import TransformedTargetRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from lightgbm import LGBMClassifier, LGBMRegressor

from tabular_mlops.config.train_params import FAMILIES_BY_TASK, FAMILY_PARAMS
from tabular_mlops.families.registry import BY_NAME, build_estimator

# Values unlike the repo's and unlike scikit-learn's defaults, so a param that is not passed shows.
SECTIONS = {
    "logistic_regression": {"C": 0.25, "max_iter": 77, "class_weight": "balanced"},
    "linear_svm": {"C": 0.3, "max_iter": 88, "calibration": "isotonic"},
    "linear_regression": {"fit_intercept": False},
    "ridge": {"alpha": 3.5},
    "random_forest": {"n_estimators": 13, "max_depth": 4, "min_samples_leaf": 6, "max_features": 0.7, "n_jobs": 3},
    "hist_gradient_boosting": {"learning_rate": 0.2, "max_iter": 11, "max_leaf_nodes": 5, "min_samples_leaf": 9, "l2_regularization": 0.5},
    "lightgbm": {"learning_rate": 0.15, "n_estimators": 12, "num_leaves": 6, "min_child_samples": 8, "reg_lambda": 0.4, "n_jobs": 2},
    "mlp": {"hidden_layer_sizes": [7, 5], "alpha": 0.3, "learning_rate_init": 0.02, "max_iter": 33},
    "dummy": {},
}
# Not params: what makes LightGBM's trees the same on any machine, and quiet.
LIGHTGBM_FIXED = {"deterministic": True, "force_col_wise": True, "verbose": -1}
EXPECTED = {
    ("classification", "logistic_regression"): (LogisticRegression, SECTIONS["logistic_regression"]),
    ("classification", "random_forest"): (RandomForestClassifier, SECTIONS["random_forest"]),
    ("classification", "hist_gradient_boosting"): (HistGradientBoostingClassifier, SECTIONS["hist_gradient_boosting"]),
    ("classification", "lightgbm"): (LGBMClassifier, SECTIONS["lightgbm"] | LIGHTGBM_FIXED),
    ("classification", "mlp"): (MLPClassifier, {**SECTIONS["mlp"], "hidden_layer_sizes": (7, 5)}),
    ("classification", "dummy"): (DummyClassifier, {"strategy": "prior"}),
    ("regression", "linear_regression"): (LinearRegression, SECTIONS["linear_regression"]),
    ("regression", "ridge"): (Ridge, SECTIONS["ridge"]),
    ("regression", "random_forest"): (RandomForestRegressor, SECTIONS["random_forest"]),
    ("regression", "hist_gradient_boosting"): (HistGradientBoostingRegressor, SECTIONS["hist_gradient_boosting"]),
    ("regression", "lightgbm"): (LGBMRegressor, SECTIONS["lightgbm"] | LIGHTGBM_FIXED),
    ("regression", "mlp"): (MLPRegressor, {**SECTIONS["mlp"], "hidden_layer_sizes": (7, 5)}),
    ("regression", "dummy"): (DummyRegressor, {"strategy": "mean"}),
}
SEEDED = {"logistic_regression", "ridge", "random_forest", "hist_gradient_boosting", "lightgbm", "mlp"}


def spec(family: str, **changes):
    return FAMILY_PARAMS[family].model_validate(SECTIONS[family] | changes)


def test_every_family_of_every_task_has_a_builder_and_an_expectation_here():
    assert {task: tuple(name for name, family in BY_NAME.items() if task in family.factories) for task in FAMILIES_BY_TASK} == FAMILIES_BY_TASK
    expected = {(task, family) for task, families in FAMILIES_BY_TASK.items() for family in families}
    assert expected == set(EXPECTED) | {("classification", "linear_svm")}


@pytest.mark.parametrize("task, family", sorted(EXPECTED))
def test_each_family_is_built_as_the_tasks_estimator_with_its_own_params(task, family):
    estimator_class, expected = EXPECTED[(task, family)]
    estimator = unwrapped(build_estimator(task, family, spec(family), seed=123))
    assert type(estimator) is estimator_class
    settings = estimator.get_params()
    assert {key: settings[key] for key in expected} == expected


@pytest.mark.parametrize("task, family", sorted(key for key in EXPECTED if key[1] in SEEDED))
def test_each_randomised_family_gets_the_seed(task, family):
    assert unwrapped(build_estimator(task, family, spec(family), seed=123)).get_params()["random_state"] == 123


def unwrapped(estimator):
    return estimator.regressor if isinstance(estimator, TransformedTargetRegressor) else estimator


def test_the_regression_network_learns_a_standardised_target():
    estimator = build_estimator("regression", "mlp", spec("mlp"), seed=123)
    assert type(estimator) is TransformedTargetRegressor
    assert type(estimator.transformer) is StandardScaler and type(estimator.regressor) is MLPRegressor


def test_linear_svm_is_a_calibrated_linear_svc_with_the_calibration_method_and_the_seed():
    estimator = build_estimator("classification", "linear_svm", spec("linear_svm"), seed=123)
    assert type(estimator) is CalibratedClassifierCV
    assert estimator.method == "isotonic"
    svm = estimator.estimator
    assert type(svm) is LinearSVC
    assert (svm.C, svm.max_iter, svm.random_state) == (0.3, 88, 123)


def test_linear_svm_calibration_follows_the_params():
    estimator = build_estimator("classification", "linear_svm", spec("linear_svm", calibration="sigmoid"), seed=0)
    assert estimator.method == "sigmoid"


def test_repo_params_build_for_every_family_of_both_tasks():
    train = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text(encoding="utf-8"))["train"]
    for task, families in FAMILIES_BY_TASK.items():
        for family in families:
            build_estimator(task, family, FAMILY_PARAMS[family].model_validate(train[family]), seed=0)


def test_class_weight_none_means_no_weighting():
    estimator = build_estimator("classification", "logistic_regression", spec("logistic_regression", class_weight="none"), seed=0)
    assert estimator.class_weight is None


def test_random_forest_without_max_depth_grows_full_trees():
    estimator = build_estimator("regression", "random_forest", spec("random_forest", max_depth=None), seed=0)
    assert estimator.max_depth is None


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_gradient_boosting_runs_every_round_without_an_internal_validation_split(task):
    assert build_estimator(task, "hist_gradient_boosting", spec("hist_gradient_boosting"), seed=0).early_stopping is False


def test_estimator_is_returned_unfitted():
    estimator = build_estimator("classification", "logistic_regression", spec("logistic_regression"), seed=0)
    assert not hasattr(estimator, "coef_")


def test_each_call_builds_a_new_estimator():
    section = spec("ridge")
    assert build_estimator("regression", "ridge", section, 0) is not build_estimator("regression", "ridge", section, 0)


@pytest.mark.parametrize("family", FAMILIES_BY_TASK["classification"])
def test_every_classification_family_predicts_three_classes(family):
    # data.positive_class null: the same classifiers, fitted on three text labels.
    import numpy as np
    import pandas as pd

    from tabular_mlops.config.params import load_params
    from tabular_mlops.models.scoring import predict, score

    rng = np.random.default_rng(0)
    inputs = pd.DataFrame({"x": rng.normal(size=90), "noise": rng.normal(size=90)})
    target = pd.Series(np.select([inputs["x"] < -0.4, inputs["x"] > 0.4], ["low", "high"], "mid"))
    spec = load_params(Path(__file__).resolve().parents[1] / "params.yaml").train.family_params(family)
    estimator = build_estimator("classification", family, spec, 0).fit(inputs, target)
    probabilities = predict("multiclass", estimator, inputs)
    assert list(probabilities.columns) == ["high", "low", "mid"] and np.allclose(probabilities.sum(axis=1), 1.0)
    scores = score("multiclass", target, probabilities)
    assert scores["roc_auc"] == 0.5 if family == "dummy" else scores["roc_auc"] > 0.8
