"""Champion and challenger scored on the very same rows: every figure of each, the paired
bootstrap interval of the gain in the compared metric, and the decision (metrics/compare.json).

Used by the compare stage (the test split) and `tabular-mlops compare` (the test split, plus the
labelled rows of a window of the prediction log). Every figure is rounded to 6 decimals, and
nothing timed is in the result, so the same models and rows give the same bytes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.deployment.artifact import Bundle, load_bundle
from tabular_mlops.errors import StageError
from tabular_mlops.metrics import PRIMARY_METRIC
from tabular_mlops.promotion.bootstrap import paired_gain
from tabular_mlops.promotion.decision import decide
from tabular_mlops.promotion.fairness import fairness_gates, gap_holds, gap_values, group_columns
from tabular_mlops.promotion.metric import LABELS, calibration, metric_function
from tabular_mlops.promotion.scores import Scores, scores_of, truth_of
from tabular_mlops.registry.fetch import fetch

DIGITS = 6


def load_champion(repo: str | Path, version: str) -> Bundle:
    """The registered version `version`, fetched by `dvc artifacts get` and verified against the
    dvc.lock committed with it."""
    fetched = fetch(repo, version=version)
    return load_bundle(fetched.directory, fetched.lock)


def compared_metric(params: Params) -> str:
    """promote.metric, or the task's primary metric."""
    return params.promote.metric or PRIMARY_METRIC[params.data.problem]


def require_inputs(rows: pd.DataFrame, bundle: Bundle, who: str) -> None:
    """StageError naming the first input column of the model that the rows lack."""
    missing = [column for column in bundle.input_columns if column not in rows.columns]
    if missing:
        raise StageError(f"{who}: the compared rows lack its input column '{missing[0]}'"
                         + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))


def compare(params: Params, rows: pd.DataFrame, challenger: Bundle, gates: dict, champion: Bundle | None = None,
            champion_version: str | None = None, training_target: pd.Series | None = None) -> dict:
    """The result as metrics/compare.json holds it. `rows`: input columns and the target;
    `gates`: metrics/gates.json; `training_target`: the training split's target (for brier_skill's baseline)."""
    data, spec, problem = params.data, params.promote, params.data.problem
    _same_problem(challenger, "the challenger (models/bundle)", params)
    require_inputs(rows, challenger, "the challenger (models/bundle)")
    if champion is not None:
        _same_problem(champion, f"the champion {champion_version}", params)
        require_inputs(rows, champion, f"the champion {champion_version}")
    if data.target not in rows.columns:
        raise StageError(f"the compared rows have no target column '{data.target}' (data.target)")
    rows = rows.reset_index(drop=True)
    truth = truth_of(rows[data.target], problem, data.positive_class)
    name = compared_metric(params)
    baseline = _class_shares(training_target, problem, data.positive_class, challenger) if name == "brier_skill" else None
    metric = metric_function(problem, name, baseline)
    gated = fairness_gates(params.task_gates)
    bands = {column: challenger.contract.columns[column].bands for _, column, _ in gated if column in challenger.contract.columns}
    groups = group_columns(rows, gated, bands)

    def figures(scores: Scores) -> dict:
        values = {name: metric(truth, scores)}
        if problem != "regression":
            values.update(calibration(truth, scores, params.monitor.calibration.bins))
        gaps = gap_values(truth, scores, gated, groups, params.fairness.min_group_rows)
        return {**values, "fairness": {key: gap["value"] for key, gap in gaps.items()}}

    challenger_scores = scores_of(challenger, rows)
    # No model_version for the challenger: its bytes may differ in the last bit between CPUs
    # (docs/explanation/byte-identical.md), and this file must not. promote checks dvc.lock instead.
    result_challenger = {"gates_passed": bool(gates.get("passed")), **figures(challenger_scores)}
    result_champion = {"version": champion_version, "model_version": None}
    difference = None
    if champion is not None:
        champion_scores = scores_of(champion, rows)
        result_champion.update(model_version=champion.version, **figures(champion_scores))
        difference = paired_gain(metric, name, truth, champion_scores, challenger_scores, rounds=spec.bootstrap_rounds,
                                 confidence=spec.confidence, seed=params.seed)
        difference = _rounded(difference)
    challenger_gaps = result_challenger["fairness"]
    broken = [_broken_gap(gate, f"{column}.{gap}", challenger_gaps[f"{column}.{gap}"]) for gate, column, gap in gated
              if not gap_holds(gate, challenger_gaps[f"{column}.{gap}"])]
    decision, reasons = decide(champion_version=champion_version if champion is not None else None,
                               same_model=champion is not None and champion.version == challenger.version,
                               failed_gates=_failed_gates(gates), broken_gaps=broken, difference=difference,
                               metric_label=LABELS[name], min_gain=spec.min_gain)
    return {"decision": decision, "reasons": reasons, "stage": spec.stage, "metric": name, "rows": len(rows),
            "champion": _rounded(result_champion), "challenger": _rounded(result_challenger), "difference": difference,
            "min_gain": spec.min_gain}


def _same_problem(bundle: Bundle, who: str, params: Params) -> None:
    metadata = bundle.manifest["model"]
    if bundle.problem != params.data.problem or metadata["target"] != params.data.target:
        raise StageError(f"{who} predicts {metadata['target']} ({bundle.problem}), but params.yaml's data asks for "
                         f"{params.data.target} ({params.data.problem}): the two cannot be compared on one metric")


def _class_shares(target: pd.Series | None, problem: str, positive_class: str | None, bundle: Bundle) -> np.ndarray:
    if target is None:
        raise StageError("promote.metric brier_skill needs the training split (data/prepared/train.parquet) for its baseline")
    labels = target.astype(str)
    if problem == "classification":
        return np.array([(labels == positive_class).mean()])
    return np.array([(labels == label).mean() for label in bundle.manifest["model"]["classes"]])


def _failed_gates(gates: dict) -> list[str]:
    failed = [row for row in gates.get("gates", []) if not row.get("passed")]
    reasons = [f"the challenger failed its gate on {row['metric']} (value {row['value']}; "
               f"{'min ' + format(row['min'], 'g') if row.get('min') is not None else 'max ' + format(row['max'], 'g')}) "
               "in metrics/gates.json" for row in failed]
    if not gates.get("passed") and not reasons:
        reasons.append("the challenger did not pass its gates (metrics/gates.json)")
    return reasons


def _broken_gap(gate, key: str, value: float | None) -> str:
    if value is None:
        return f"the challenger's fairness.{key} could not be computed on the compared rows (too few rows per group?), so its gate cannot hold"
    bound = f"above its gate's maximum {gate.max:g}" if gate.max is not None and value > gate.max else f"below its gate's minimum {gate.min:g}"
    return f"the challenger's fairness.{key} on the compared rows, {value:.3f}, is {bound}"


def _rounded(value):
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, float):
        return round(value, DIGITS) + 0.0 if np.isfinite(value) else None
    return value
