"""scikit-learn's histogram gradient boosting: both tasks; explained exactly by tree SHAP, a classifier in log-odds;
enforces train.monotonic (monotonic_cst)."""
from __future__ import annotations

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class HistGradientBoostingParams(Section):
    learning_rate: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0)


def _boosting(estimator, spec: HistGradientBoostingParams, seed: int):
    return estimator(
        learning_rate=spec.learning_rate, max_iter=spec.max_iter, max_leaf_nodes=spec.max_leaf_nodes,
        min_samples_leaf=spec.min_samples_leaf, l2_regularization=spec.l2_regularization,
        early_stopping=False,  # a fixed number of rounds: no hidden split that CV cannot see
        random_state=seed,
    )


def classifier(spec: HistGradientBoostingParams, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return _boosting(HistGradientBoostingClassifier, spec, seed)


def regressor(spec: HistGradientBoostingParams, seed: int):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return _boosting(HistGradientBoostingRegressor, spec, seed)


def _constrain(estimator, constraints: dict[str, int]):
    # monotonic_cst keyed by feature name: the preprocessed columns keep their names (pandas output),
    # whatever the number of one-hot columns before them.
    return estimator.set_params(monotonic_cst=constraints or None)


def _estimators() -> tuple[type, ...]:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    return (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


FAMILY = Family(
    name="hist_gradient_boosting",
    params=HistGradientBoostingParams,
    factories={"classification": classifier, "regression": regressor},
    search_space={"learning_rate": [0.03, 0.1], "max_leaf_nodes": [8, 15, 31], "min_samples_leaf": [20, 40]},
    explanation=Explanation(method="tree", classification_output="log_odds", estimators=_estimators),
    monotonic="enforced",
    constrain=_constrain,
)
