"""params.yaml, parsed once into typed, validated objects.

Every stage calls `load_params()` first, so a misspelt key, a wrong type or an unknown model
name is refused before any work starts, with a message naming the key, what is allowed and
what was given. (DVC itself accepts any `-S name=value`, so the check has to live here.)
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, Optional, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tabular_mlops.errors import StageError
from tabular_mlops.files import read_yaml_mapping
from tabular_mlops.config.section import Section
from tabular_mlops.config.train_params import FAMILIES_BY_TASK, FamilyName, TrainParams
from tabular_mlops.evaluation.metrics import gate_metric_names, problem

PARAMS_FILE = "params.yaml"

class DataParams(Section):
    path: str
    target: str
    task: Literal["classification", "regression"]
    positive_class: Optional[str] = None  # classification: the class whose probability is output; null: every class
    drop_columns: list[str] = Field(default_factory=list)
    contract: str

    @field_validator("positive_class", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        # YAML reads `positive_class: 1` as an int; class labels are compared as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _consistent(self) -> "DataParams":
        if self.target in self.drop_columns:
            raise ValueError(f"data.drop_columns must not contain the target '{self.target}'")
        if self.task == "regression" and self.positive_class is not None:
            raise ValueError(f"data.positive_class must be null when data.task is 'regression'; got '{self.positive_class}'")
        return self

    @property
    def problem(self) -> str:
        """'classification' (binary), 'multiclass' (positive_class null) or 'regression': what is scored."""
        return problem(self.task, self.positive_class)


class PrepareParams(Section):
    test_size: float = Field(gt=0, lt=1)
    drop_duplicates: bool
    # The train/test split's own seed, apart from `seed` (models, CV folds): a seed sweep keeps the test set.
    split_seed: int = Field(default=42, ge=0)


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
    # One-hot columns per categorical column, the infrequent bucket included: an identifier with
    # thousands of values must not become thousands of columns. null: no bound.
    max_categories: Optional[int] = Field(default=20, ge=2)


class FeaturizeParams(Section):
    numeric: NumericParams
    categorical: CategoricalParams


class LeaderboardParams(Section):
    families: list[FamilyName] = Field(min_length=1)
    cv_folds: int = Field(ge=2)


class ThresholdParams(Section):
    """How the decision threshold is chosen, always on out-of-fold training predictions."""

    method: Literal["fixed", "max_f1", "min_cost"]
    value: float = Field(gt=0, lt=1)  # used by "fixed"
    cost_false_positive: float = Field(ge=0)  # used by "min_cost"
    cost_false_negative: float = Field(ge=0)


class EvaluateParams(Section):
    cv_folds: int = Field(ge=2)
    n_jobs: int = Field(ge=1)
    threshold: ThresholdParams
    segment_column: Optional[str] = None
    importance_repeats: int = Field(ge=1)
    nested_cv: bool = False  # repeat the selection inside outer folds: an unbiased CV figure, at many times the cost


class Gate(Section):
    metric: str
    min: Optional[float] = None
    max: Optional[float] = None


class ReviewParams(Section):
    tolerance: float = Field(ge=0)  # tools/review.py: how much worse a gated metric may get


class Params(Section):
    seed: int = Field(ge=0)
    data: DataParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    train: TrainParams
    leaderboard: LeaderboardParams
    evaluate: EvaluateParams
    gates: list[Gate]
    review: ReviewParams

    @model_validator(mode="after")
    def _fits_the_task(self) -> "Params":
        task, allowed = self.data.task, FAMILIES_BY_TASK[self.data.task]
        if self.train.model != "auto" and self.train.model not in allowed:
            raise ValueError(
                f"train.model must be 'auto' or a {task} family: {', '.join(allowed)}; got '{self.train.model}'"
            )
        wrong = [family for family in self.leaderboard.families if family not in allowed]
        if wrong:
            raise ValueError(f"leaderboard.families: {', '.join(wrong)} cannot do {task}; allowed: {', '.join(allowed)}")
        if self.train.model == "auto" and self.train.search.method != "none":
            raise ValueError("train.search.method must be 'none' when train.model is 'auto' (search one named family)")
        metrics = gate_metric_names(self.data.problem, self.evaluate.nested_cv)
        for number, gate in enumerate(self.gates):
            if gate.metric not in metrics and gate.metric in gate_metric_names(self.data.problem, nested_cv=True):
                raise ValueError(f"gates[{number}].metric '{gate.metric}' needs evaluate.nested_cv: true; got false")
            if gate.metric not in metrics:
                raise ValueError(f"gates[{number}].metric must be one of {', '.join(metrics)}; got '{gate.metric}'")
            if gate.min is None and gate.max is None:
                raise ValueError(f"gates[{number}] ({gate.metric}) needs a min or a max")
        if self.evaluate.segment_column == self.data.target:
            raise ValueError("evaluate.segment_column must not be the target")
        return self


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
    model: Any = Params
    for part in filter(None, parent.split(".")):
        if part.isdigit():
            continue  # an index into a list of sections, e.g. gates.0
        annotation = model.model_fields[part].annotation
        model = next((arg for arg in (annotation, *get_args(annotation)) if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
        if model is None:
            return []
    return list(model.model_fields)


if __name__ == "__main__":
    from tabular_mlops.errors import run_stage

    run_stage(lambda: print(f"{PARAMS_FILE}: ok (task {load_params().data.task}, model {load_params().train.model})"))
