"""Ridge regression: regression; explained exactly (linear SHAP)."""
from __future__ import annotations

from pydantic import Field

from tabular_mlops.families.family import Explanation, Family
from tabular_mlops.params_section import Section


class RidgeParams(Section):
    alpha: float = Field(ge=0)


def regressor(spec: RidgeParams, seed: int):
    from sklearn.linear_model import Ridge

    return Ridge(alpha=spec.alpha, random_state=seed)


def _estimators() -> tuple[type, ...]:
    from sklearn.linear_model import Ridge

    return (Ridge,)


FAMILY = Family(
    name="ridge",
    params=RidgeParams,
    factories={"regression": regressor},
    search_space={"alpha": [0.1, 1.0, 10.0, 100.0]},
    explanation=Explanation(method="linear", estimators=_estimators),
)
