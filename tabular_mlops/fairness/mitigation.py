"""A classifier trained under a group fairness constraint, with fairlearn, on raw input rows.

Pickled into the model (with fairness.mixture): keep both modules where they are, or saved
models stop loading.
The protected column is read from X itself (the inner pipeline drops columns it does not use).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient, TruePositiveRateParity
from pandas.errors import Pandas4Warning
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from tabular_mlops.errors import StageError
from tabular_mlops.fairness.draws import row_uniforms
from tabular_mlops.fairness.groups import group_labels, group_sort_key
from tabular_mlops.fairness.mixture import LastStepWeights, mixture_probabilities

METHODS = ("exponentiated_gradient", "threshold_optimizer")
MOMENTS = {
    "demographic_parity": DemographicParity,
    "equalized_odds": EqualizedOdds,
    "true_positive_rate_parity": TruePositiveRateParity,
}


class MitigatedClassifier(ClassifierMixin, BaseEstimator):
    """`estimator` (unfitted, e.g. our preprocess + model Pipeline) fitted by fairlearn so that
    its decisions meet `constraint` across the groups of X[`column`] (cut into `bands` if given).

    exponentiated_gradient: a weighted mixture of refits on reweighted rows; needs no protected
    column at prediction time. threshold_optimizer: one fit, then a randomised threshold per
    group; needs the column at prediction time, and refuses groups it did not see in fit.

    predict() is randomised as fairlearn's is, but each row's draw is a hash of the seed and the
    row's values (draws.row_uniforms) in the columns seen in fit other than the protected one:
    the same row, sent with the same columns, gets the same decision alone or in a batch, in
    any order, on every run.
    """

    def __init__(self, estimator, method="exponentiated_gradient", constraint="demographic_parity",
                 column="group", bands=None, seed=0):
        self.estimator = estimator
        self.method = method
        self.constraint = constraint
        self.column = column
        self.bands = bands
        self.seed = seed

    @property
    def requires_column(self) -> bool:
        """Whether the mitigation reads the protected column when it predicts (the inner
        pipeline needs it as well if the column is one of its features)."""
        return self.method == "threshold_optimizer"

    def fit(self, X: pd.DataFrame, y):
        """X: the raw input rows, protected column included; y: a binary target."""
        self._check_settings()
        X = X.reset_index(drop=True)
        groups = self._groups(X)
        self.classes_ = np.unique(np.asarray(y))
        if len(self.classes_) != 2:
            raise StageError(f"train.fairness.mitigation: needs a binary target, got classes {list(self.classes_)}")
        target = pd.Series((np.asarray(y) == self.classes_[1]).astype(int))
        if self.method == "threshold_optimizer":
            # A group holding one class has no threshold to choose (fairlearn refuses it): its rows
            # are left out, and the group is then refused at prediction time as unseen.
            single = [label for label, values in target.groupby(groups.to_numpy()) if values.nunique() < 2]
            keep = ~groups.isin(single).to_numpy()
            X, groups, target = X[keep].reset_index(drop=True), groups[keep].reset_index(drop=True), target[keep].reset_index(drop=True)
            self.groups_left_out_ = sorted(single, key=group_sort_key)
        self.groups_seen_ = sorted(groups.unique(), key=group_sort_key)
        self.hashed_columns_ = [name for name in X.columns if name != self.column]
        if self.method == "exponentiated_gradient":
            moment = MOMENTS[self.constraint]()
            self.mitigator_ = ExponentiatedGradient(LastStepWeights(self.estimator), constraints=moment)
        else:
            self.mitigator_ = ThresholdOptimizer(
                estimator=self.estimator, constraints=self.constraint, predict_method="predict_proba",
            )
        with warnings.catch_warnings():
            # fairlearn 0.15 grows Series with .at, which pandas 3 deprecates: a dozen lines per
            # iteration in the stage log, for code that is not ours and works as pinned.
            warnings.filterwarnings("ignore", category=Pandas4Warning, module="fairlearn")
            self.mitigator_.fit(X, target, sensitive_features=groups)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """exponentiated_gradient: mixture_probabilities; threshold_optimizer: P(decision = 1)."""
        check_is_fitted(self)
        X = X.reset_index(drop=True)
        if self.method == "exponentiated_gradient":
            positive = mixture_probabilities(self.mitigator_.predictors_, self.mitigator_.weights_, X)
        else:
            groups = self._groups(X)
            seen = groups.isin(self.groups_seen_).to_numpy()
            # A group with no threshold of its own (unseen, or left out in fit) gets the unmitigated
            # probability here, so evaluation covers every row; the service and batch scoring refuse
            # such rows before they reach the model (Bundle.unseen_groups).
            positive = self.mitigator_.estimator_.predict_proba(X)[:, 1].astype(float)
            if seen.any():
                positive[seen] = self.mitigator_._pmf_predict(X[seen], sensitive_features=groups[seen])[:, 1]
        return np.column_stack([1 - positive, positive])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class labels: positive when the row's draw falls below P(decision = 1).

        For exponentiated_gradient that probability is fairlearn's: the weighted share of the
        mixture's predictors whose own decision is positive (the randomised classifier the
        constraint holds for), not the mixed probability that predict_proba gives.
        """
        check_is_fitted(self)
        X = X.reset_index(drop=True)
        if self.method == "exponentiated_gradient":
            positive = self.mitigator_._pmf_predict(X)[:, 1]
        else:
            positive = self.predict_proba(X)[:, 1]
        draws = row_uniforms(X, [c for c in self.hashed_columns_ if c in X.columns], self.seed)
        return self.classes_[(draws < positive).astype(int)]

    def _groups(self, X: pd.DataFrame) -> pd.Series:
        if self.column not in X.columns:
            raise StageError(f"train.fairness.column: the protected column '{self.column}' is not in the input")
        return group_labels(X[self.column], self.bands).reset_index(drop=True)

    def _check_settings(self) -> None:
        settings = (("mitigation", self.method, METHODS), ("constraint", self.constraint, tuple(MOMENTS)))
        for key, given, allowed in settings:
            if given not in allowed:
                raise StageError(f"train.fairness.{key} must be one of {', '.join(allowed)}; got {given!r}")
        final = self.estimator.steps[-1][1] if isinstance(self.estimator, Pipeline) else self.estimator
        if self.method == "exponentiated_gradient" and not has_fit_parameter(final, "sample_weight"):
            raise StageError(
                f"train.fairness.mitigation: exponentiated_gradient refits the model on reweighted rows, "
                f"but {type(final).__name__} takes no sample_weight; use threshold_optimizer or another family"
            )
