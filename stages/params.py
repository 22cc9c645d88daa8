"""params.yaml, parsed once into typed, validated objects.

Every stage calls `load_params()` first, so a misspelt key, a wrong type or an unknown model
name is refused before any work starts, with a message naming the key, what is allowed and
what was given. (DVC itself accepts any `-S name=value`, so the check has to live here.)
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stages.errors import StageError
from stages.files import read_yaml_mapping

PARAMS_FILE = "params.yaml"

ModelName = Literal["logistic_regression", "hist_gradient_boosting", "random_forest"]


class Section(BaseModel):
    # strict: YAML `"0.2"` is a string, not a number, and `1` is not `true`.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DataParams(Section):
    path: str
    target: str
    task: Literal["classification"]
    positive_class: str
    drop_columns: list[str] = Field(default_factory=list)
    contract: str

    @field_validator("positive_class", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        # YAML reads `positive_class: 1` as an int; class labels are compared as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _target_is_kept(self) -> "DataParams":
        if self.target in self.drop_columns:
            raise ValueError(f"data.drop_columns must not contain the target '{self.target}'")
        return self


class PrepareParams(Section):
    test_size: float = Field(gt=0, lt=1)
    drop_duplicates: bool


class OutlierParams(Section):
    method: Literal["none", "iqr", "quantile"]
    iqr_factor: float = Field(gt=0)
    quantiles: list[float] = Field(min_length=2, max_length=2)

    @model_validator(mode="after")
    def _quantiles_ordered(self) -> "OutlierParams":
        low, high = self.quantiles
        if not 0 <= low < high <= 1:
            raise ValueError(
                f"featurize.numeric.outliers.quantiles must be [low, high] with 0 <= low < high <= 1,"
                f" got [{low}, {high}]"
            )
        return self


class NumericParams(Section):
    impute: Literal["mean", "median", "most_frequent"]
    add_indicator: bool
    transform: Literal["none", "signed_log"]
    scale: Literal["standard", "robust", "minmax", "none"]
    outliers: OutlierParams


class CategoricalParams(Section):
    impute: Literal["most_frequent", "constant"]
    min_frequency: Optional[int] = Field(default=None, ge=1)


class FeaturizeParams(Section):
    numeric: NumericParams
    categorical: CategoricalParams


class LogisticRegressionParams(Section):
    C: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    class_weight: Literal["none", "balanced"]


class HistGradientBoostingParams(Section):
    learning_rate: float = Field(gt=0)
    max_iter: int = Field(ge=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0)


class RandomForestParams(Section):
    n_estimators: int = Field(ge=1)
    max_depth: Optional[int] = Field(default=None, ge=1)
    min_samples_leaf: int = Field(ge=1)
    n_jobs: int = Field(ge=1)


class TrainParams(Section):
    model: ModelName
    logistic_regression: LogisticRegressionParams
    hist_gradient_boosting: HistGradientBoostingParams
    random_forest: RandomForestParams


class EvaluateParams(Section):
    cv_folds: int = Field(ge=2)
    threshold: float = Field(gt=0, lt=1)
    n_jobs: int = Field(ge=1)


class Params(Section):
    seed: int = Field(ge=0)
    data: DataParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    train: TrainParams
    evaluate: EvaluateParams


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml; raise StageError naming the first bad key."""
    raw = read_yaml_mapping(path, "sections")
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        raise StageError(f"{path}: {_describe(error)}") from None


def _describe(error: ValidationError) -> str:
    """One line for the first problem, in the words of scikit-learn's parameter errors."""
    # A misspelt key shows up as an unknown key *and* a missing one: name the misspelling.
    first = min(error.errors(), key=lambda problem: problem["type"] != "extra_forbidden")
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    kind, given = first["type"], first.get("input")
    if kind == "extra_forbidden":
        parent, _, name = key.rpartition(".")
        allowed = _allowed_keys(parent)
        guess = difflib.get_close_matches(name, allowed, n=1)
        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
        return f"unknown key '{key}'{hint}; allowed keys{_under(parent)}: {', '.join(allowed)}"
    if kind == "missing":
        return f"missing key '{key}'"
    if kind == "value_error":
        return first["msg"].removeprefix("Value error, ")
    if first["msg"].startswith("Input should be "):
        return f"key '{key}' must be {first['msg'].removeprefix('Input should be ')}; got {given!r}"
    return f"key '{key}': {first['msg']}; got {given!r}"


def _under(parent: str) -> str:
    return f" under '{parent}'" if parent else ""


def _allowed_keys(parent: str) -> list[str]:
    model: type[BaseModel] = Params
    for part in filter(None, parent.split(".")):
        model = model.model_fields[part].annotation  # type: ignore[assignment]
    return list(model.model_fields)


if __name__ == "__main__":
    from stages.errors import run_stage

    run_stage(lambda: print(f"{PARAMS_FILE}: ok ({load_params().train.model})"))
