"""One scored batch against the reference: drift per column, dataset drift, performance
estimated without labels (binary) and realised where the batch carries labels.

Like is compared with like: a prediction column with the test split's (held-out) scores, the
estimate with the same estimator's figure on the test split, and decisions are the ones served.

Below `monitor.min_rows` rows the verdict is "not enough data": no drift verdict and no
estimate, since both would mostly measure sampling noise (see README, "Monitoring").
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.config.params import MonitorParams
from tabular_mlops.data.contract import labels_as_written
from tabular_mlops.errors import StageError
from tabular_mlops.monitoring.calibration import apply_calibration
from tabular_mlops.monitoring.drift import NUMERIC, column_drift, dataset_drift
from tabular_mlops.monitoring.estimation import estimate, realised
from tabular_mlops.monitoring.groups import group_rates
from tabular_mlops.monitoring.reference import (Reference, drift_baseline, positive_labels, realised_other, score_columns,
                                                served_positive)

DIGITS = 6  # like the pipeline's metrics: last-bit float noise never changes the committed report


def check_batch(current: pd.DataFrame, reference: Reference, spec: MonitorParams, path: str = "the batch", min_group_rows: int = 30) -> dict:
    profile = reference.profile
    columns = {name: kind for name, kind in profile["columns"].items() if kind != "datetime"}
    columns.update(dict.fromkeys(score_columns(profile), NUMERIC))
    needed = [*columns, "decision"] if profile["problem"] == "classification" else list(columns)
    missing = [name for name in needed if name not in current.columns]
    if missing:
        raise StageError(f"{path}: a scored table needs the columns {', '.join(missing)}; it has {', '.join(map(str, current.columns))}")
    for name in (name for name, kind in columns.items() if kind == NUMERIC):
        _refuse_text(current[name], name, path)
    # Not the model's version (its sha256): the model's bytes may differ between CPUs, and
    # metrics/ may not (README, "Same numbers on every machine").
    report = {"rows": len(current), "min_rows": spec.min_rows, "problem": profile["problem"]}
    if len(current) < spec.min_rows:
        return {**report, "status": "not enough data"}
    seen_categories = profile["seen_categories"]
    current = current.assign(**{name: labels_as_written(current[name], seen) for name, seen in seen_categories.items()})
    drift = {name: column_drift(drift_baseline(reference, name), current[name], kind, spec.drift) for name, kind in columns.items()}
    for name, seen in seen_categories.items():
        drift[name]["unseen_rate"] = _unseen_rate(current[name], seen)
        drift[name]["unseen_rate_reference"] = _unseen_rate(reference.test[name], seen)
    # Scorecard points are a monotone function of the probability: they drift exactly when it does,
    # so they are reported (their PSI is what a risk team tracks) but not counted twice in the share.
    counted = {name: column for name, column in drift.items() if name != "points"}
    report.update(status="ok", columns=drift, **dataset_drift(counted, spec.drift), performance=performance(current, reference, spec))
    groups = group_rates(current, reference.test, profile, min_group_rows)
    if groups:
        report["groups"] = groups
    return _rounded(report)


def performance(current: pd.DataFrame, reference: Reference, spec: MonitorParams) -> dict:
    profile = reference.profile
    target = profile["target"]
    labelled = current[current[target].notna()] if target in current.columns else current.iloc[:0]
    result: dict = {"labelled_rows": len(labelled)}
    if profile["problem"] != "classification":
        result["estimated"] = f"not estimated for {profile['problem']}"
        if len(labelled):
            result["realised"] = realised_other(profile, labelled)
        return result
    mapping = profile["calibration"]["map"]
    estimated = estimate(apply_calibration(mapping, current["probability"]), served_positive(profile, current))
    # The drop is estimate minus estimate: the estimator's own bias on the test split (where the
    # realised figure is known) cancels, so an unshifted batch shows no drop.
    reference_estimated = profile["performance"]["estimated"]
    drop = {name: None if reference_estimated[name] is None or value is None else reference_estimated[name] - value
            for name, value in estimated.items()}
    flagged = sorted(name for name, limit in spec.max_estimated_drop.items() if (drop.get(name) or 0.0) > limit)
    result.update(calibrated=mapping is not None, estimated=estimated, reference_estimated=reference_estimated,
                  reference_realised=profile["performance"]["realised"], estimated_drop=drop,
                  max_estimated_drop=dict(spec.max_estimated_drop), estimated_drop_flagged=bool(flagged), flagged_metrics=flagged)
    if len(labelled):
        result["realised"] = realised(positive_labels(profile, labelled[target]), labelled["probability"].to_numpy(),
                                      served_positive(profile, labelled))
    return result


def gate_failure(report: dict, spec: MonitorParams, path: str) -> str | None:
    """The one-line reason the monitor stage fails, when a gate option asks for it."""
    if report["status"] != "ok":
        return None
    if spec.fail_on_dataset_drift and report["dataset_drift"]:
        return (f"{path}: dataset drift: {report['drifted_columns']} of {report['tested_columns']} columns drifted "
                f"({', '.join(report['drifted'])}), share {report['drift_share']:.2f} >= monitor.drift.dataset_share "
                f"{spec.drift.dataset_share} (monitor.fail_on_dataset_drift: true)")
    flagged = report["performance"].get("flagged_metrics", [])
    if spec.fail_on_estimated_drop and flagged:
        drops = ", ".join(f"{name} by {report['performance']['estimated_drop'][name]:.3f} > {spec.max_estimated_drop[name]}" for name in flagged)
        return f"{path}: estimated performance drop: {drops} (monitor.max_estimated_drop; monitor.fail_on_estimated_drop: true)"
    return None


def _refuse_text(values: pd.Series, name: str, path: str) -> None:
    numbers = pd.to_numeric(values, errors="coerce")
    bad = values.notna() & numbers.isna()
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise StageError(f"{path}: column '{name}' must be numeric, but row {position + 1} holds {values.iloc[position]!r}")


def _unseen_rate(values: pd.Series, seen: list[str]) -> float:
    present = values.dropna().astype(str)
    return float((~present.isin(set(seen))).mean()) if len(present) else 0.0


def _rounded(value):
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), DIGITS)
    if isinstance(value, np.integer):
        return int(value)
    return value
