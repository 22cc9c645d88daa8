"""The `train` section of params.yaml: the model family, its hyperparameters, and the search.

Each family registered in tabular_mlops/families/registry.py has its own section, validated by
its params model like every other param; the same section serves its classifier and regressor.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, create_model, model_validator

from tabular_mlops.families.registry import BY_NAME, FAMILIES, FAMILIES_BY_TASK
from tabular_mlops.params_section import Section

FAMILY_PARAMS: dict[str, type[Section]] = {family.name: family.params for family in FAMILIES}
CLASSIFIERS, REGRESSORS = FAMILIES_BY_TASK["classification"], FAMILIES_BY_TASK["regression"]
FamilyName = Literal[tuple(BY_NAME)]
ModelName = Literal[("auto", *BY_NAME)]


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


Direction = Literal["increasing", "decreasing"]


class _TrainSettings(Section):
    model: ModelName
    search: SearchParams
    fairness: MitigationParams = MitigationParams()
    monotonic: dict[str, Direction] = Field(default_factory=dict, description=(
        "numeric input column -> the way the probability of data.positive_class (regression: the prediction) must move as the "
        "column grows; hist_gradient_boosting enforces it and dummy is constant: train.model refuses the other families, and "
        "auto takes the best family that honours it; evaluate counts the violations (gate monotonic.<column>.violations)"))

    def family_params(self, family: str) -> Section:
        return getattr(self, family)

    @model_validator(mode="after")
    def _search_space_fits_the_families(self) -> "_TrainSettings":
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


# One `train.<family>` section per registered family, in the registry's order.
TrainParams = create_model("TrainParams", __base__=_TrainSettings, __module__=__name__,
                           **{family.name: (family.params, ...) for family in FAMILIES})
