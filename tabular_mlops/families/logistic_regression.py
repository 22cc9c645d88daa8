"""Logistic regression: classification; explained exactly in log-odds (linear SHAP)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class LogisticRegressionParams(Section):
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    class_weight: Literal["none", "balanced"]


def classifier(spec: LogisticRegressionParams, seed: int):
    from sklearn.linear_model import LogisticRegression

    weight = None if spec.class_weight == "none" else spec.class_weight
    return LogisticRegression(C=spec.C, max_iter=spec.max_iter, class_weight=weight, random_state=seed)


def _estimators() -> tuple[type, ...]:
    from sklearn.linear_model import LogisticRegression

    return (LogisticRegression,)


FAMILY = Family(
    name="logistic_regression",
    params=LogisticRegressionParams,
    factories={"classification": classifier},
    search_space={"C": [0.01, 0.1, 1.0, 10.0]},
    explanation=Explanation(method="linear", classification_output="log_odds", estimators=_estimators),
)
