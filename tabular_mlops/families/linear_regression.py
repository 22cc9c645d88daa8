"""Ordinary least squares: regression; explained exactly (linear SHAP)."""
from __future__ import annotations

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class LinearRegressionParams(Section):
    fit_intercept: bool


def regressor(spec: LinearRegressionParams, seed: int):
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=spec.fit_intercept)  # deterministic: no seed


def _estimators() -> tuple[type, ...]:
    from sklearn.linear_model import LinearRegression

    return (LinearRegression,)


FAMILY = Family(
    name="linear_regression",
    params=LinearRegressionParams,
    factories={"regression": regressor},
    explanation=Explanation(method="linear", estimators=_estimators),
)
