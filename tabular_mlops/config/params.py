"""params.yaml, parsed once into typed, validated objects.

Every stage calls `load_params()` first, so a misspelt key, a wrong type or an unknown model
name is refused before any work starts, with a message naming the key, what is allowed and
what was given. (DVC itself accepts any `-S name=value`, so the check has to live here.)
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path, PurePosixPath
from types import UnionType
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from tabular_mlops.config.train_params import FAMILIES_BY_TASK, FamilyName, TrainParams
from tabular_mlops.errors import StageError
from tabular_mlops.families.registry import honours_monotonic
from tabular_mlops.files import read_yaml_mapping
from tabular_mlops.metrics import FAIRNESS_GAPS, METRICS_BY_TASK, MONOTONIC_FIGURES, gate_metric_names, problem
from tabular_mlops.params_section import Section

PARAMS_FILE = "params.yaml"
SCHEDULER_ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx|inproc)://\S+")
Task = Literal["classification", "regression"]  # the keys of FAMILIES_BY_TASK and of `gates`
# Where data.extra_paths must lie: validate depends on this folder, since a DVC dependency cannot list a param's items.
RETURNED_FOLDER = "data/returned"
TABLE_SUFFIXES = (".csv", ".parquet")

class DataParams(Section):
    """The table and what to predict: the only section another table needs changed."""

    path: str  # the table, CSV or Parquet
    target: str  # the column to predict
    task: Task  # classification (two classes or more) or regression
    positive_class: Optional[str] = None  # classification: the class whose probability is output; null: every class
    drop_columns: list[str] = Field(default_factory=list)  # identifiers and leaks, removed before training
    contract: str  # the data contract (YAML): what each column must hold
    # Metrics per value of this input column, to show gaps between groups; part of the data, so
    # another table changes only data.*.
    segment_column: Optional[str] = None
    # Tables of labelled rows added to data.path's (CSV or Parquet), e.g. what `tabular-mlops export-labels`
    # writes: each is checked against the contract and split on its own, so data.path's rows keep their split.
    extra_paths: list[str] = Field(default_factory=list)

    @field_validator("extra_paths")
    @classmethod
    def _under_returned(cls, paths: list[str]) -> list[str]:
        for number, path in enumerate(paths):
            parts = PurePosixPath(path).parts
            if parts[:2] != tuple(RETURNED_FOLDER.split("/")) or len(parts) < 3 or ".." in parts:
                raise ValueError(f"data.extra_paths[{number}] must lie under {RETURNED_FOLDER}/ (validate depends on that folder:"
                                 f" dvc.yaml cannot list a param's paths, so a table elsewhere would not rerun it); got '{path}'")
            if PurePosixPath(path).suffix not in TABLE_SUFFIXES:
                raise ValueError(f"data.extra_paths[{number}] must end in {' or '.join(TABLE_SUFFIXES)}; got '{path}'")
        repeated = sorted({path for path in paths if paths.count(path) > 1})
        if repeated:
            raise ValueError(f"data.extra_paths lists {', '.join(repeated)} more than once")
        return paths

    @field_validator("positive_class", mode="before")
    @classmethod
    def _label_as_text(cls, value: Any) -> Any:
        # YAML reads `positive_class: 1` as an int; class labels are compared as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _consistent(self) -> "DataParams":
        if self.target in self.drop_columns:
            raise ValueError(f"data.drop_columns must not contain the target '{self.target}'")
        if self.segment_column is not None and self.segment_column == self.target:
            raise ValueError("data.segment_column must not be the target")
        if self.task == "regression" and self.positive_class is not None:
            raise ValueError(f"data.positive_class must be null when data.task is 'regression'; got '{self.positive_class}'")
        return self

    @property
    def problem(self) -> str:
        """'classification' (binary), 'multiclass' (positive_class null) or 'regression': what is scored."""
        return problem(self.task, self.positive_class)


class PrepareParams(Section):
    """Cleaning and the train/test split."""

    test_size: float = Field(gt=0, lt=1)  # the share of rows held out as the test split
    drop_duplicates: bool  # drop exact duplicate rows (counted in the prepare metrics)
    # The train/test split's own seed, apart from `seed` (models, CV folds): a seed sweep keeps the test set.
    split_seed: int = Field(default=42, ge=0)


class OutlierParams(Section):
    """Clipping numeric columns to fences learnt on the training rows (a column with zero-width fences is left unclipped)."""

    method: Literal["none", "iqr", "quantile"]
    iqr_factor: float = Field(gt=0)  # iqr: the fences are Q1 - factor x IQR and Q3 + factor x IQR
    quantiles: list[float] = Field(min_length=2, max_length=2)  # quantile: the [low, high] training quantiles

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
    """Numeric columns: impute, clip, transform, scale, in that order, all fitted on training rows."""

    impute: Literal["mean", "median", "most_frequent"]
    add_indicator: bool  # a "was missing" column per numeric column with gaps in training
    transform: Literal["none", "signed_log"]  # signed_log: sign(x) * log(1 + |x|), for skewed money columns
    scale: Literal["standard", "robust", "minmax", "none"]
    outliers: OutlierParams


class CategoricalParams(Section):
    """Category columns: impute, then one-hot; a category unseen in training scores as the infrequent one."""

    impute: Literal["most_frequent", "constant"]  # constant: "missing" becomes a category of its own
    min_frequency: Optional[int] = Field(default=None, ge=1)  # categories rarer than this are grouped as infrequent
    # One-hot columns per categorical column, the infrequent bucket included: an identifier with
    # thousands of values must not become thousands of columns. null: no bound.
    max_categories: Optional[int] = Field(default=20, ge=2)


class FeaturizeParams(Section):
    """The preprocessing inside the model pipeline, fitted on the training split only."""

    numeric: NumericParams
    categorical: CategoricalParams


class LeaderboardParams(Section):
    """Every listed family cross-validated on the training split; train.model: auto takes the best."""

    # Families of every task may be listed (dvc.yaml's foreach needs one list whatever the
    # task); cross_validate marks the ones that cannot do data.task and the leaderboard skips them.
    families: list[FamilyName] = Field(min_length=1)
    cv_folds: int = Field(ge=2)  # stratified for classification
    # A training split of more rows: every family is screened on the same seeded sample of this many
    # (stratified by the target for classification); train still fits the winner on all rows. null: all rows.
    sample_rows: Optional[int] = Field(default=100_000, ge=2)
    # family -> the most rows it is screened on; beyond it the family is skipped, saying so in the leaderboard.
    max_rows_per_family: dict[FamilyName, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _sample_holds_the_folds(self) -> "LeaderboardParams":
        if self.sample_rows is not None and self.sample_rows < self.cv_folds:
            raise ValueError(f"leaderboard.sample_rows must be at least leaderboard.cv_folds ({self.cv_folds}) or null; got {self.sample_rows}")
        return self


class ThresholdParams(Section):
    """How the decision threshold is chosen, always on out-of-fold training predictions."""

    # max_f1: the best F1; min_cost: the lowest total cost of errors; min_sensitivity, min_specificity,
    # min_precision: the threshold that reaches `target` of that rate and gives up least of the other side
    method: Literal["fixed", "max_f1", "min_cost", "min_sensitivity", "min_specificity", "min_precision"]
    value: float = Field(gt=0, lt=1)  # used by "fixed"
    cost_false_positive: float = Field(ge=0)  # used by "min_cost"
    cost_false_negative: float = Field(ge=0)  # used by "min_cost"
    target: float = Field(default=0.95, gt=0, le=1)  # used by "min_sensitivity", "min_specificity" and "min_precision"


class DecisionCurveParams(Section):
    """The threshold probabilities a decision curve covers (binary classification)."""

    start: float = Field(default=0.01, gt=0, lt=1)
    stop: float = Field(default=0.6, gt=0, lt=1)
    step: float = Field(default=0.01, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> "DecisionCurveParams":
        if self.stop < self.start:
            raise ValueError(f"evaluate.decision_curve.stop must be at least start ({self.start:g}); got {self.stop:g}")
        return self


class EvaluateParams(Section):
    """The evaluation stages: test metrics, cross-validation and the baseline (evaluate), importances and
    explanations (explain), nested CV (nested_cv) of the trained model."""

    cv_folds: int = Field(ge=2)  # k-fold cross-validation of the whole pipeline on the training split
    n_jobs: int = Field(ge=1)  # CV folds in parallel; never changes a result
    threshold: ThresholdParams
    # binary classification: the intervals of the operating point's rates and of the calibration intercept and slope
    confidence: float = Field(default=0.95, gt=0, lt=1)
    decision_curve: DecisionCurveParams = Field(default_factory=DecisionCurveParams)
    importance_repeats: int = Field(ge=1)  # permutation importance: shuffles per column
    # permutation importance on a seeded sample of at most this many test rows (null: every row)
    importance_rows: Optional[int] = Field(default=20_000, ge=1)
    # global explanations (mean |SHAP contribution|) on a seeded sample of at most this many test rows (null: every row)
    explain_rows: Optional[int] = Field(default=200, ge=1)
    nested_cv: bool = False  # repeat the selection inside outer folds: an unbiased CV figure, at many times the cost
    # train.monotonic checked on the fitted model: each constrained column swept, the other columns held fixed,
    monotonic_rows: Optional[int] = Field(default=200, ge=1)  # on a seeded sample of this many test rows (null: every row)
    monotonic_grid: int = Field(default=20, ge=2)  # each sweep: at most this many of the column's training values (quantiles, smallest to largest)


class FairnessParams(Section):
    """The fairness report per protected column of the contract (the fairness stage, the monitor)."""

    min_group_rows: int = Field(default=30, ge=1)  # a smaller group is reported as "too few rows", not as a number
    bootstrap_rounds: int = Field(default=100, ge=10)  # resamples behind each group's confidence interval
    confidence: float = Field(default=0.95, gt=0, lt=1)  # of the bootstrap intervals


class Gate(Section):
    """A bound the evaluated model must meet, or the pipeline stops at the gate stage."""

    # test.*, cv.*_mean, cv.*_std, over_baseline.*, nested_cv.*, fairness.<protected column>.<gap> or
    # monotonic.<column of train.monotonic>.violations | rows_violating
    metric: str
    min: Optional[float] = None  # at least one of min and max
    max: Optional[float] = None


class ReviewParams(Section):
    """`tabular-mlops review`, run on pull requests against the base branch."""

    tolerance: float = Field(ge=0)  # `tabular-mlops review`: how much worse a gated metric may get


class DriftParams(Section):
    """Evidently's defaults: statistical tests for a small reference, distances for a larger one."""

    small_reference_rows: int = Field(default=1000, ge=1)  # at most this many reference rows: tests (p-values); more: distances
    p_value: float = Field(default=0.05, gt=0, lt=1)  # a test's column drifts when p < this
    distance: float = Field(default=0.1, gt=0)  # a distance's column drifts when distance >= this
    numeric_min_unique: int = Field(default=5, ge=2)  # a numeric column with at most this many values is tested as categories
    dataset_share: float = Field(default=0.5, gt=0, le=1)  # the batch drifts when this share of its columns does
    psi_bins: int = Field(default=10, ge=2)  # reference quantile bins of a numeric column's PSI (reported, not a verdict)


class CalibrationParams(Section):
    """The scores' calibration, checked once on the test split, before the monitor estimates performance."""

    max_ece: float = Field(default=0.05, ge=0)  # beyond it, a calibration map fitted on the test split corrects the scores
    method: Literal["isotonic", "sigmoid"] = "isotonic"
    bins: int = Field(default=10, ge=2)  # equal-width reliability bins


EstimatedMetric = Literal["roc_auc", "accuracy", "precision", "recall", "f1"]


class MonitorParams(Section):
    """The reference profile (stage reference) and the monitor stage."""

    current: str = "data/scored/batch.parquet"  # the scored table to check (CSV or Parquet)
    reference_rows: int = Field(default=5000, ge=1)  # training rows kept as the drift reference (a seeded sample beyond it)
    min_rows: int = Field(default=300, ge=1)  # fewer current rows: "not enough data", no verdict
    drift: DriftParams = Field(default_factory=DriftParams)
    calibration: CalibrationParams = Field(default_factory=CalibrationParams)
    # Binary classification: largest tolerated drop, the test split's estimate minus the current estimate.
    max_estimated_drop: dict[EstimatedMetric, float] = Field(default_factory=lambda: {"roc_auc": 0.05})
    fail_on_dataset_drift: bool = False  # true: the monitor stage fails (after writing its report) on dataset drift
    fail_on_estimated_drop: bool = False  # true: ... on an estimated drop beyond max_estimated_drop


class ServeParams(Section):
    """`tabular-mlops serve`: where predictions are logged and how large a request may be."""

    log: str  # SQLite file (WAL mode) of predictions and feedback
    max_body_bytes: int = Field(ge=1)  # larger request bodies get 413
    max_rows: int = Field(ge=1)  # rows per /predict/batch request
    # The secret key of the pseudonyms that the log and batch scoring keep instead of personal values
    # (32 random bytes, mode 0600, created on first use; $TABULAR_MLOPS_PSEUDONYM_KEY overrides it).
    key_file: str = "logs/pseudonym.key"

    @model_validator(mode="after")
    def _key_apart(self) -> "ServeParams":
        if Path(self.key_file) == Path(self.log):
            raise ValueError(f"serve.key_file must be a file of its own, not serve.log; got '{self.key_file}' for both")
        return self


class ScorecardParams(Section):
    """Scorecard points beside a binary model's probability, in the service and batch scoring
    (tabular_mlops/deployment/scorecard.py); the monitor compares their distribution too."""

    enabled: bool = False
    points_to_double_odds: float = Field(default=20.0, gt=0)  # points that double the odds against the positive class
    base_score: float = 600.0  # the points at base_odds
    base_odds: float = Field(default=50.0, gt=0)  # odds against the positive class (e.g. 50 good to 1 bad) that score base_score


class ScoreParams(Section):
    """The score stage: batch scoring of a table with the bundle (as `tabular-mlops score` does)."""

    input: str  # the table to score, CSV or Parquet; a target column, if present, passes through
    output: str  # the scored table, CSV or Parquet
    rejects: str  # the rows that break the data contract, with the rules they break (CSV)
    chunk_rows: int = Field(ge=1)  # rows read and scored at a time: memory grows with this, not with the file

    @model_validator(mode="after")
    def _file_types(self) -> "ScoreParams":
        for key, path, allowed in (("input", self.input, (".csv", ".parquet")), ("output", self.output, (".csv", ".parquet")),
                                   ("rejects", self.rejects, (".csv",))):
            if Path(path).suffix not in allowed:
                raise ValueError(f"score.{key} must end in {' or '.join(allowed)}; got '{path}'")
        if len({self.input, self.output, self.rejects}) < 3:
            raise ValueError("score.input, score.output and score.rejects must be three different files")
        return self


VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")  # a registered version of the model: v<major>.<minor>.<patch>


class PromoteParams(Section):
    """Champion and challenger on the same rows (the compare stage) and what `tabular-mlops promote` assigns."""

    stage: str = "prod"  # the registry stage the champion is at, and that promote assigns
    # The registered version the challenger is compared with, e.g. v1.2.0 (promote and rollback write it,
    # so the same commit always compares with the same champion); null: no champion yet.
    champion: Optional[str] = None
    metric: Optional[str] = None  # the figure compared; null: the task's primary metric (roc_auc; rmse for regression)
    min_gain: float = Field(default=0.005, ge=0)  # the challenger must beat the champion by more than this ...
    bootstrap_rounds: int = Field(default=1000, ge=100)  # ... and the paired bootstrap interval of the gain must lie above 0
    confidence: float = Field(default=0.95, gt=0, lt=1)  # of that interval

    @field_validator("champion")
    @classmethod
    def _a_version(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not VERSION.fullmatch(value):
            raise ValueError(f"promote.champion must be a registered version such as 'v1.2.0', or null; got {value!r}")
        return value

    @field_validator("stage")
    @classmethod
    def _a_stage(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", value):
            raise ValueError(f"promote.stage must be a stage name such as 'prod' (lower-case letters, digits, '-'); got {value!r}")
        return value


class EngineParams(Section):
    """Which engine runs validate, prepare, featurize, batch scoring and the cross-validations."""

    name: Literal["pandas", "dask"] = "pandas"  # dask: partition-wise on a Dask cluster (pip install -e '.[dask]')
    # A running scheduler, e.g. tcp://10.0.0.5:8786 (its workers need this package at this version);
    # null: a LocalCluster of `workers` processes with `threads_per_worker` threads each, started per stage.
    scheduler: Optional[str] = None
    workers: int = Field(default=2, ge=1)  # the LocalCluster's worker processes
    threads_per_worker: int = Field(default=1, ge=1)  # the LocalCluster's threads per worker
    partition_rows: int = Field(default=1_000_000, ge=1)  # rows per partition (batch scoring: score.chunk_rows)

    @field_validator("scheduler")
    @classmethod
    def _an_address(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not SCHEDULER_ADDRESS.fullmatch(value):
            raise ValueError(f"engine.scheduler must be a scheduler address such as 'tcp://10.0.0.5:8786', or null; got {value!r}")
        return value


class Params(Section):
    seed: int = Field(ge=0)  # seeds the models and the CV folds (the split has prepare.split_seed)
    data: DataParams
    prepare: PrepareParams
    featurize: FeaturizeParams
    train: TrainParams
    leaderboard: LeaderboardParams
    evaluate: EvaluateParams
    fairness: FairnessParams = Field(default_factory=FairnessParams)
    gates: dict[Task, list[Gate]]  # one list per task, so switching data.task needs no edit here
    review: ReviewParams
    monitor: MonitorParams = Field(default_factory=MonitorParams)
    serve: ServeParams
    score: ScoreParams
    scorecard: ScorecardParams = Field(default_factory=ScorecardParams)
    engine: EngineParams = Field(default_factory=EngineParams)
    promote: PromoteParams = Field(default_factory=PromoteParams)

    @property
    def task_gates(self) -> list[Gate]:
        """The gates that hold for data.task."""
        return self.gates[self.data.task]

    @property
    def task_families(self) -> list[str]:
        """leaderboard.families that can do data.task, in the listed order."""
        return [family for family in self.leaderboard.families if family in FAMILIES_BY_TASK[self.data.task]]

    @model_validator(mode="before")
    @classmethod
    def _one_list_of_gates_is_for_the_task(cls, raw: Any) -> Any:
        # `gates: [...]` (one list) still works: it holds for whatever data.task is.
        task = raw.get("data", {}).get("task") if isinstance(raw, dict) and isinstance(raw.get("data"), dict) else None
        if isinstance(raw, dict) and isinstance(raw.get("gates"), list) and task in FAMILIES_BY_TASK:
            return {**raw, "gates": {task: raw["gates"]}}
        return raw

    @model_validator(mode="after")
    def _fits_the_task(self) -> "Params":
        task, allowed = self.data.task, FAMILIES_BY_TASK[self.data.task]
        if self.train.model != "auto" and self.train.model not in allowed:
            raise ValueError(
                f"train.model must be 'auto' or a {task} family: {', '.join(allowed)}; got '{self.train.model}'"
            )
        families = self.leaderboard.families
        repeated = sorted({family for family in families if families.count(family) > 1})
        if repeated:
            raise ValueError(f"leaderboard.families lists {', '.join(repeated)} more than once")
        if not self.task_families:
            raise ValueError(f"leaderboard.families: none of {', '.join(families)} can do {task}; add one of: {', '.join(allowed)}")
        _check_monotonic(self)
        if self.train.model == "auto" and self.train.search.method != "none":
            raise ValueError("train.search.method must be 'none' when train.model is 'auto' (search one named family)")
        if task not in self.gates:
            raise ValueError(f"gates has no list for data.task '{task}'; add gates.{task}: [...] (an empty list for no gates)")
        for gates_task, gates in self.gates.items():
            # The active list is checked against what this run reports (multiclass included).
            problem = self.data.problem if gates_task == task else gates_task
            metrics = gate_metric_names(problem, self.evaluate.nested_cv)
            for number, gate in enumerate(gates):
                where = f"gates.{gates_task}[{number}]"
                if gate.metric not in metrics and gate.metric in gate_metric_names(problem, nested_cv=True):
                    raise ValueError(f"{where}.metric '{gate.metric}' needs evaluate.nested_cv: true; got false")
                if gate.metric.startswith("fairness."):
                    _check_fairness_gate(where, gate.metric, problem)
                elif gate.metric.startswith("monotonic."):
                    _check_monotonic_gate(where, gate.metric, self.train.monotonic)
                elif gate.metric not in metrics:
                    raise ValueError(f"{where}.metric must be one of {', '.join(metrics)}, fairness.<protected column>.<gap>"
                                     f" or monotonic.<column>.<figure>; got '{gate.metric}'")
                if gate.min is None and gate.max is None:
                    raise ValueError(f"{where} ({gate.metric}) needs a min or a max")
        if self.data.extra_paths and self.engine.name != "pandas":
            raise ValueError("data.extra_paths needs engine.name: pandas (the dask engine validates and splits data.path alone);"
                             f" got engine.name '{self.engine.name}' with {len(self.data.extra_paths)} extra path(s)")
        compared = METRICS_BY_TASK[self.data.problem]
        if self.promote.metric is not None and self.promote.metric not in compared:
            raise ValueError(f"promote.metric must be one of {', '.join(compared)} (data.task {task}), or null; got '{self.promote.metric}'")
        return self


def _check_fairness_gate(where: str, metric: str, problem: str) -> None:
    """fairness.<column>.<gap>: the column is checked against the contract by the gate stage."""
    column, _, gap = metric.removeprefix("fairness.").rpartition(".")
    gaps = FAIRNESS_GAPS.get(problem, ())
    if not column or gap not in gaps:
        raise ValueError(f"{where}.metric '{metric}' must be fairness.<protected column>.<gap>, the gap one of {', '.join(gaps) or 'none for ' + problem}")


def _check_monotonic(params: "Params") -> None:
    """train.monotonic: a problem with a direction, and a family that honours it (its columns: tabular_mlops/models/pipeline.py)."""
    constrained = params.train.monotonic
    if not constrained:
        return
    columns = ", ".join(constrained)
    if params.data.problem == "multiclass":
        raise ValueError(f"train.monotonic ({columns}) needs data.positive_class, the class whose probability the direction is of;"
                         " got null (every class)")
    model = params.train.model
    if model != "auto" and not honours_monotonic(model):
        honouring = [family for family in FAMILIES_BY_TASK[params.data.task] if honours_monotonic(family)]
        raise ValueError(f"train.model '{model}' cannot enforce train.monotonic ({columns}); use one of {', '.join(honouring)} or auto,"
                         " or empty train.monotonic")
    if model == "auto" and not any(honours_monotonic(family) for family in params.task_families):
        honouring = [family for family in FAMILIES_BY_TASK[params.data.task] if honours_monotonic(family)]
        raise ValueError(f"leaderboard.families: none of {', '.join(params.task_families)} honours train.monotonic ({columns}),"
                         f" so train.model: auto has nothing to choose; add one of: {', '.join(honouring)}")


def _check_monotonic_gate(where: str, metric: str, constrained: dict[str, str]) -> None:
    """monotonic.<column>.<figure>: the column must be constrained, or evaluate writes no figure for it."""
    column, _, figure = metric.removeprefix("monotonic.").rpartition(".")
    if not column or figure not in MONOTONIC_FIGURES:
        raise ValueError(f"{where}.metric '{metric}' must be monotonic.<column>.<figure>, the figure one of {', '.join(MONOTONIC_FIGURES)}")
    if column not in constrained:
        raise ValueError(f"{where}.metric '{metric}': '{column}' is not a column of train.monotonic"
                         f" ({', '.join(constrained) or 'empty'}), so evaluate checks no direction for it")


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate params.yaml; raise StageError naming the first bad key."""
    raw = read_yaml_mapping(path, "sections", text_where=lambda where: expects_text(Params, where))
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
    if key.endswith(".[key]") and first["msg"].startswith("Input should be "):  # a mapping's key, e.g. a task under gates
        parent, _, name = key.removesuffix(".[key]").rpartition(".")
        return f"unknown key '{parent}.{name}'; the keys under '{parent}' must be {first['msg'].removeprefix('Input should be ')}; got {given!r}"
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
    annotations = _walk(Params, [int(part) if part.isdigit() else part for part in filter(None, parent.split("."))])
    models = [model for model in annotations if _is_model(model)]
    return list(models[0].model_fields) if models else []


def expects_text(model: type[BaseModel], where: tuple) -> bool:
    """Whether `model` holds a string at `where` (keys and list indexes), e.g. ("data", "target")."""
    return str in _walk(model, list(where))


def _walk(annotation: Any, where: list) -> list[Any]:
    """The types that may sit at `where` under `annotation` (Optional, lists and dicts unwrapped)."""
    found = [annotation]
    for part in where:
        inner = []
        for candidate in found:
            if _is_model(candidate) and isinstance(part, str) and part in candidate.model_fields:
                inner += _unwrap(candidate.model_fields[part].annotation)
            elif get_origin(candidate) is list and isinstance(part, int):
                inner += _unwrap(get_args(candidate)[0])
            elif get_origin(candidate) is dict:
                inner += _unwrap(get_args(candidate)[1])
        found = inner
    return found


def _unwrap(annotation: Any) -> list[Any]:
    """Optional[X] / Union[X, Y] -> [X, Y]; anything else -> [itself]."""
    if get_origin(annotation) in (Union, UnionType):
        return [arg for arg in get_args(annotation) if arg is not type(None)]
    return [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


if __name__ == "__main__":
    from tabular_mlops.errors import run_stage

    run_stage(lambda: print(f"{PARAMS_FILE}: ok (task {load_params().data.task}, model {load_params().train.model})"))
