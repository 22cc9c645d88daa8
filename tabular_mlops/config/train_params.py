"""The `train` section of params.yaml: the model family, its hyperparameters, and the search.

Each family has its own section, validated like every other param. The same section serves
a family's classifier and regressor (random_forest, hist_gradient_boosting, mlp, dummy).
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, model_validator

from tabular_mlops.config.section import Section

CLASSIFIERS = ("logistic_regression", "linear_svm", "random_forest", "hist_gradient_boosting", "mlp", "dummy")
REGRESSORS = ("linear_regression", "ridge", "random_forest", "hist_gradient_boosting", "mlp", "dummy")
FAMILIES_BY_TASK = {"classification": CLASSIFIERS, "regression": REGRESSORS}

ModelName = Literal[
    "auto", "logistic_regression", "linear_svm", "linear_regression", "ridge",
    "random_forest", "hist_gradient_boosting", "mlp", "dummy",
]
FamilyName = Literal[
    "logistic_regression", "linear_svm", "linear_regression", "ridge",
    "random_forest", "hist_gradient_boosting", "mlp", "dummy",
]


class LogisticRegressionParams(Section):
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    class_weight: Literal["none", "balanced"]


class LinearSvmParams(Section):
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    calibration: Literal["sigmoid", "isotonic"]  # how the margins become probabilities


class LinearRegressionParams(Section):
    fit_intercept: bool


class RidgeParams(Section):
    alpha: float = Field(ge=0)


class RandomForestParams(Section):
    n_estimators: int = Field(ge=1)
    max_depth: Optional[int] = Field(default=None, ge=1)
    min_samples_leaf: int = Field(ge=1)
    max_features: float = Field(gt=0, le=1)
    n_jobs: int = Field(ge=1)


class HistGradientBoostingParams(Section):
    learning_rate: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0)


class MlpParams(Section):
    hidden_layer_sizes: list[int] = Field(min_length=1)
    alpha: float = Field(ge=0)
    learning_rate_init: float = Field(gt=0)
    max_iter: int = Field(ge=1)


class DummyParams(Section):
    """No knobs: the prior class balance (classification) or the mean (regression)."""


FAMILY_PARAMS: dict[str, type[Section]] = {
    "logistic_regression": LogisticRegressionParams,
    "linear_svm": LinearSvmParams,
    "linear_regression": LinearRegressionParams,
    "ridge": RidgeParams,
    "random_forest": RandomForestParams,
    "hist_gradient_boosting": HistGradientBoostingParams,
    "mlp": MlpParams,
    "dummy": DummyParams,
}


class SearchParams(Section):
    # halving: the random candidates race on a growing share of the rows (successive halving)
    method: Literal["none", "grid", "random", "halving"]
    n_iter: int = Field(ge=1)  # candidates drawn by the random and halving searches
    cv_folds: int = Field(ge=2)
    n_jobs: int = Field(ge=1)  # parallel fits; never changes a result
    # family -> hyperparameter -> candidate values
    space: dict[FamilyName, dict[str, list[Any]]]


class MitigationParams(Section):
    """A fairness mitigation of the trained family (fairlearn), for one protected column."""

    # exponentiated_gradient: a reweighted mixture of the family, needs no protected column to predict;
    # threshold_optimizer: a threshold per group, so the service needs the column and refuses unseen groups
    mitigation: Literal["none", "exponentiated_gradient", "threshold_optimizer"] = "none"
    constraint: Literal["demographic_parity", "equalized_odds"] = "demographic_parity"
    column: Optional[str] = None  # a protected column of the contract; null: its first protected column


class TrainParams(Section):
    model: ModelName
    search: SearchParams
    fairness: MitigationParams = MitigationParams()
    logistic_regression: LogisticRegressionParams
    linear_svm: LinearSvmParams
    linear_regression: LinearRegressionParams
    ridge: RidgeParams
    random_forest: RandomForestParams
    hist_gradient_boosting: HistGradientBoostingParams
    mlp: MlpParams
    dummy: DummyParams

    def family_params(self, family: str) -> Section:
        return getattr(self, family)

    @model_validator(mode="after")
    def _search_space_fits_the_families(self) -> "TrainParams":
        for family, grid in self.search.space.items():
            current = self.family_params(family).model_dump()
            for name, candidates in grid.items():
                where = f"train.search.space.{family}.{name}"
                if name not in current:
                    raise ValueError(f"{where}: '{name}' is not a hyperparameter of {family}; allowed: {', '.join(current) or 'none'}")
                if not candidates:
                    raise ValueError(f"{where}: give at least one candidate value")
                for candidate in candidates:
                    try:
                        FAMILY_PARAMS[family].model_validate({**current, name: candidate})
                    except ValueError as error:
                        reason = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
                        raise ValueError(f"{where}: candidate {candidate!r} is invalid ({reason})") from None
        return self
