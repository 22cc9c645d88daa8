"""The model families that `train.model` may name, built from their params sections.

A family name maps to a classifier or a regressor according to `data.task`.
"""
from __future__ import annotations

from typing import Callable

from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from tabular_mlops.config.section import Section
from tabular_mlops.config.train_params import FAMILIES_BY_TASK

Builder = Callable[[Section, int], BaseEstimator]


def _logistic_regression(spec, seed):
    weight = None if spec.class_weight == "none" else spec.class_weight
    return LogisticRegression(C=spec.C, max_iter=spec.max_iter, class_weight=weight, random_state=seed)


def _linear_svm(spec, seed):
    # LinearSVC gives margins, not probabilities: calibrate them on internal folds.
    svm = LinearSVC(C=spec.C, max_iter=spec.max_iter, random_state=seed)
    return CalibratedClassifierCV(svm, method=spec.calibration, cv=3)


def _random_forest(estimator):
    def build(spec, seed):
        return estimator(
            n_estimators=spec.n_estimators, max_depth=spec.max_depth, min_samples_leaf=spec.min_samples_leaf,
            max_features=spec.max_features, n_jobs=spec.n_jobs, random_state=seed,
        )
    return build


def _hist_gradient_boosting(estimator):
    def build(spec, seed):
        return estimator(
            learning_rate=spec.learning_rate, max_iter=spec.max_iter, max_leaf_nodes=spec.max_leaf_nodes,
            min_samples_leaf=spec.min_samples_leaf, l2_regularization=spec.l2_regularization,
            early_stopping=False,  # a fixed number of rounds: no hidden split that CV cannot see
            random_state=seed,
        )
    return build


def _mlp(estimator):
    def build(spec, seed):
        network = estimator(
            hidden_layer_sizes=tuple(spec.hidden_layer_sizes), alpha=spec.alpha,
            learning_rate_init=spec.learning_rate_init, max_iter=spec.max_iter, random_state=seed,
        )
        if estimator is MLPRegressor:
            # A network learns a target of mean 0 and scale 1 far better than raw units.
            return TransformedTargetRegressor(regressor=network, transformer=StandardScaler())
        return network
    return build


BUILDERS: dict[str, dict[str, Builder]] = {
    "classification": {
        "logistic_regression": _logistic_regression,
        "linear_svm": _linear_svm,
        "random_forest": _random_forest(RandomForestClassifier),
        "hist_gradient_boosting": _hist_gradient_boosting(HistGradientBoostingClassifier),
        "mlp": _mlp(MLPClassifier),
        "dummy": lambda spec, seed: DummyClassifier(strategy="prior"),
    },
    "regression": {
        "linear_regression": lambda spec, seed: LinearRegression(fit_intercept=spec.fit_intercept),
        "ridge": lambda spec, seed: Ridge(alpha=spec.alpha, random_state=seed),
        "random_forest": _random_forest(RandomForestRegressor),
        "hist_gradient_boosting": _hist_gradient_boosting(HistGradientBoostingRegressor),
        "mlp": _mlp(MLPRegressor),
        "dummy": lambda spec, seed: DummyRegressor(strategy="mean"),
    },
}
assert {task: tuple(builders) for task, builders in BUILDERS.items()} == FAMILIES_BY_TASK


def build_estimator(task: str, family: str, spec: Section, seed: int) -> BaseEstimator:
    """An unfitted estimator; the family and its params were validated by tabular_mlops.config.params."""
    return BUILDERS[task][family](spec, seed)
