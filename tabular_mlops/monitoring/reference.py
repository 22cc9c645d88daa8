"""The reference profile, written at training time: what the monitor compares a batch with.

`models/reference/` holds, in the scored-table format (inputs, the bundle's prediction columns,
`unseen_categories`, the target where known):
- `training.parquet`: the training inputs (a seeded sample of `monitor.reference_rows` when there
  are more), scored: the drift reference of the inputs, the distribution the model learnt from;
- `test.parquet`: the test split, scored and labelled: rows the model did not learn from, the
  drift reference of the prediction columns (a model's scores on its own training rows are more
  extreme than on new rows, so they would make an unshifted batch look drifted), and the base
  for calibration and for the performance a batch's estimate is compared with;
- `profile.json`: column kinds, the categories seen in training, the threshold, the calibration
  check on the test split (and the map when it is needed) and the test split's performance.
The monitor reads only this folder and the batch: it never unpickles the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tabular_mlops.config.params import CalibrationParams
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.errors import StageError
from tabular_mlops.files import read_json, write_json
from tabular_mlops.monitoring.calibration import apply_calibration, fit_calibration, reliability
from tabular_mlops.monitoring.drift import CATEGORICAL, NUMERIC
from tabular_mlops.monitoring.estimation import estimate, realised

TRAINING, TEST, PROFILE = "training.parquet", "test.parquet", "profile.json"
KINDS = {"integer": NUMERIC, "float": NUMERIC, "category": CATEGORICAL, "datetime": "datetime"}


@dataclass(frozen=True)
class Reference:
    training: pd.DataFrame
    test: pd.DataFrame
    profile: dict


def score_columns(profile: dict) -> list[str]:
    """The prediction columns of the scored-table format that the monitor compares."""
    if profile["problem"] == "classification":
        return ["probability", *(["points"] if profile.get("scorecard") else [])]  # the score's PSI, beside the probability's
    if profile["problem"] == "multiclass":
        return [f"probability:{label}" for label in profile["classes"]]
    return ["prediction"]


def scored(bundle, table: pd.DataFrame, target: str, extra: list[str] = ()) -> pd.DataFrame:
    """`table` in the scored-table format: its inputs as given (and the `extra` columns), the
    bundle's prediction columns, `unseen_categories` (column names joined by ';') and the target when present."""
    inputs = table[bundle.input_columns]
    passed = table[[name for name in extra if name not in inputs.columns]]
    output = pd.concat([inputs, passed, bundle.scored(inputs)], axis=1)
    return output.assign(**{target: table[target]}) if target in table.columns else output


def drift_baseline(reference: Reference, column: str) -> pd.Series:
    """What a batch's `column` is compared with: the training sample for an input, the test split
    (held out) for a prediction column."""
    held_out = column in score_columns(reference.profile)
    return (reference.test if held_out else reference.training)[column]


def positive_labels(profile: dict, labels: pd.Series) -> np.ndarray:
    return (labels.astype(str) == profile["positive_class"]).to_numpy(dtype=int)


def served_positive(profile: dict, scored_rows: pd.DataFrame) -> np.ndarray:
    """The decisions people were given (the scored table's `decision` column, a fairness-mitigated
    model's randomised ones included), as True for the positive class."""
    return (scored_rows["decision"].astype(str) == profile["positive_class"]).to_numpy()


def build_reference(bundle, train: pd.DataFrame, test: pd.DataFrame, rows: int, seed: int,
                    calibration: CalibrationParams) -> Reference:
    """Score the training sample and the test split; check calibration on the test split."""
    metadata = bundle.manifest["model"]
    target = metadata["target"]
    sample = train.sample(n=rows, random_state=seed).sort_index() if len(train) > rows else train
    # A personal column that the contract makes a model input is scored, then left out: the
    # prediction log and batch scoring keep only its pseudonyms, so there is nothing to compare
    # it with, and the monitor's report must not show its values.
    personal = [name for name in bundle.input_columns if name in bundle.contract.personal]
    # Protected columns ride along (not model inputs): the monitor compares groups' selection rates.
    protected = [name for name in bundle.contract.protected if name in test.columns and name not in bundle.contract.personal]
    training, labelled = (scored(bundle, table, target, protected).drop(columns=personal) for table in (sample, test))
    profile = {
        "model_version": bundle.version,
        "problem": bundle.problem,
        "target": target,
        "positive_class": metadata.get("positive_class"),
        "classes": metadata.get("classes"),
        "threshold": bundle.threshold,
        "columns": {name: KINDS[bundle.contract.columns[name].type] for name in bundle.input_columns if name not in personal},
        "seen_categories": {name: sorted(values) for name, values in bundle.seen_categories.items() if name not in personal},
        "rows": {"training": len(training), "training_split": len(train), "test": len(labelled)},
        "protected": {name: bundle.contract.columns[name].bands for name in protected},
        **({"scorecard": bundle.manifest["scorecard"]} if bundle.manifest.get("scorecard") else {}),
    }
    if bundle.problem == "classification":
        profile.update(binary_checks(profile, labelled, calibration))
    else:
        profile["performance"] = {"realised": realised_other(profile, labelled[labelled[target].notna()])}
    return Reference(training, labelled, profile)


def binary_checks(profile: dict, labelled: pd.DataFrame, spec: CalibrationParams) -> dict:
    """Calibration on the test split (a map when ECE > max_ece) and the test split's realised
    and estimated performance, with the decisions the bundle serves."""
    labelled = labelled[labelled[profile["target"]].notna()]
    target, probability = positive_labels(profile, labelled[profile["target"]]), labelled["probability"].to_numpy()
    before = reliability(target, probability, spec.bins)
    mapping = fit_calibration(target, probability, spec.method) if before["ece"] > spec.max_ece else None
    calibrated = apply_calibration(mapping, probability)
    decided = served_positive(profile, labelled)
    return {
        "calibration": {"ece": before["ece"], "max_ece": spec.max_ece, "bins": before["bins"], "map": mapping,
                        "ece_calibrated": reliability(target, calibrated, spec.bins)["ece"]},
        "performance": {"realised": realised(target, probability, decided), "estimated": estimate(calibrated, decided)},
    }


def realised_other(profile: dict, labelled: pd.DataFrame) -> dict:
    """Regression or multiclass metrics of labelled scored rows, by the pipeline's own scoring (scikit-learn)."""
    from tabular_mlops.models.scoring import score

    target = labelled[profile["target"]]
    if profile["problem"] == "regression":
        return score("regression", target.astype("float64"), labelled["prediction"].to_numpy())
    classes = profile["classes"]
    probabilities = labelled[[f"probability:{label}" for label in classes]].set_axis(classes, axis=1)
    metrics = score("multiclass", target.astype(str), probabilities)
    return {name: None if np.isnan(value) else float(value) for name, value in metrics.items()}


def write_reference(directory: str | Path, reference: Reference) -> None:
    directory = Path(directory)
    write_parquet(directory / TRAINING, reference.training)
    write_parquet(directory / TEST, reference.test)
    write_json(directory / PROFILE, reference.profile)


def read_reference(directory: str | Path) -> Reference:
    directory = Path(directory)
    if not (directory / PROFILE).is_file():
        raise StageError(f"{directory}: no reference profile (expected {PROFILE}); `dvc repro reference` writes it")
    return Reference(read_table(directory / TRAINING), read_table(directory / TEST), read_json(directory / PROFILE))
