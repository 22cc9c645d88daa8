"""The no-skill baseline: the class shares (classification) or the mean (regression); every contribution is 0."""
from __future__ import annotations

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class DummyParams(Section):
    """No knobs: the prior class balance (classification) or the mean (regression)."""


def classifier(spec: DummyParams, seed: int):
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy="prior")


def regressor(spec: DummyParams, seed: int):
    from sklearn.dummy import DummyRegressor

    return DummyRegressor(strategy="mean")


def _estimators() -> tuple[type, ...]:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    return (DummyClassifier, DummyRegressor)


FAMILY = Family(
    name="dummy",
    params=DummyParams,
    factories={"classification": classifier, "regression": regressor},
    explanation=Explanation(method="constant", estimators=_estimators),
    monotonic="constant",  # one output for every row: no input can move it the wrong way
)
