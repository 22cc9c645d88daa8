"""Random forest: both tasks; explained exactly by tree SHAP, a classifier in probability (it averages its trees)."""
from __future__ import annotations

from typing import Optional

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class RandomForestParams(Section):
    n_estimators: int = Field(ge=1)
    max_depth: Optional[int] = Field(default=None, ge=1)
    min_samples_leaf: int = Field(ge=1)
    max_features: float = Field(gt=0, le=1)
    n_jobs: int = Field(ge=1)


def _forest(estimator, spec: RandomForestParams, seed: int):
    return estimator(
        n_estimators=spec.n_estimators, max_depth=spec.max_depth, min_samples_leaf=spec.min_samples_leaf,
        max_features=spec.max_features, n_jobs=spec.n_jobs, random_state=seed,
    )


def classifier(spec: RandomForestParams, seed: int):
    from sklearn.ensemble import RandomForestClassifier

    return _forest(RandomForestClassifier, spec, seed)


def regressor(spec: RandomForestParams, seed: int):
    from sklearn.ensemble import RandomForestRegressor

    return _forest(RandomForestRegressor, spec, seed)


def _estimators() -> tuple[type, ...]:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    return (RandomForestClassifier, RandomForestRegressor)


FAMILY = Family(
    name="random_forest",
    params=RandomForestParams,
    factories={"classification": classifier, "regression": regressor},
    search_space={"min_samples_leaf": [1, 3, 10], "max_features": [0.3, 0.6]},
    explanation=Explanation(method="tree", estimators=_estimators),
    # Its monotonic_cst takes one entry per position, and a column's position after the one-hot
    # columns is known only once the preprocessing is fitted: train.monotonic cannot reach it here.
    monotonic="cannot",
)
