"""An exponentiated-gradient mixture's parts: how its predictors are fitted, and its probability.

mixture_probabilities is the score a mitigated model gives (and an explainer explains).
LastStepWeights is pickled into the model inside MitigatedClassifier: keep this module where it is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline


def mixture_probabilities(predictors: pd.Series, weights: pd.Series, X: pd.DataFrame) -> np.ndarray:
    """P(class 1) of an ExponentiatedGradient mixture: its predictors' predict_proba, weighted."""
    total = np.zeros(len(X))
    for index, weight in weights.items():
        if weight > 0:
            total += weight * _positive_probability(predictors[index], X)
    return total


class LastStepWeights(ClassifierMixin, BaseEstimator):
    """Hands ExponentiatedGradient's `sample_weight` to a Pipeline's last step, which is where
    a Pipeline wants it (`model__sample_weight`); a bare estimator gets it as it is."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y, sample_weight=None):
        self.estimator_ = clone(self.estimator)
        name = f"{self.estimator.steps[-1][0]}__sample_weight" if isinstance(self.estimator, Pipeline) else "sample_weight"
        self.estimator_.fit(X, y, **{name: sample_weight})
        self.classes_ = self.estimator_.classes_
        return self

    def predict(self, X):
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)


def _positive_probability(predictor, X: pd.DataFrame) -> np.ndarray:
    """Column of class 1; a constant predictor fitted on one class has only that column."""
    classes = list(predictor.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return predictor.predict_proba(X)[:, classes.index(1)]
