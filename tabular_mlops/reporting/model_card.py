"""The model card: what the model is, how well it does, where it does worse, and what not to use it for.

Built only from the pipeline's artifacts (model.json, metrics, leaderboard) and params, so it
can never disagree with them.
"""
from __future__ import annotations

import os

from tabular_mlops.config.params import Params
from tabular_mlops.metrics import CV_METRICS_BY_TASK, METRICS_BY_TASK
from tabular_mlops.reporting.fairness_card import fairness_lines
from tabular_mlops.reporting.monotonic_card import monotonic_lines
from tabular_mlops.reporting.operating_card import operating_lines
from tabular_mlops.reporting.headline import DETAILS

INTENDED_USE = (
    "Scoring rows drawn from the same population, with the same columns, as the training table, "
    "to support (not replace) a person's decision."
)
LIMITATIONS = [
    "Trained on one historical table; its scores are only as representative as that table.",
    "Segments with few rows have noisy metrics; gaps between segments are shown, not corrected.",
    "No causal meaning: permutation importance says what the model uses, not what drives the outcome.",
]


CALIBRATION_PLOT = "metrics/evaluate/plots/sklearn/calibration.json"


def selection(params: Params, family: str) -> str | None:
    """How the training split's CV chose the model, or None when nothing was chosen."""
    if params.train.model == "auto":
        return f"the leaderboard chose `{family}` as the best of {len(params.task_families)} families by CV on the training split"
    if params.train.search.method != "none":
        return f"train.search tuned `{family}` by CV on the training split, keeping the best candidate (models/search.json)"
    return None


def figure_labels(params: Params, family: str, metrics: dict) -> list[str]:
    """Which figures are unbiased and which were used to choose the model."""
    chosen = selection(params, family)
    labels = ["- **test**: unbiased; the test split chose nothing and fitted nothing."]
    if "nested_cv" in metrics:
        how = ("the leaderboard's choice" if params.train.model == "auto" else "the search") + " redone inside each outer fold"
        labels.append(f"- **nested CV**: unbiased estimate of the whole procedure, {how}; what each fold chose: metrics/nested_cv/folds.json."
                      if chosen else "- **nested CV**: equals plain CV, since nothing is chosen (train.model names the family, train.search is off).")
    if chosen:
        hint = "" if "nested_cv" in metrics else " Set evaluate.nested_cv: true for an unbiased CV figure."
        labels.append(f"- **CV**: selection score, optimistic: {chosen}, so it is the best of several noisy estimates.{hint}")
    else:
        labels.append("- **CV**: unbiased for this fixed family and hyperparameters: the pipeline chose nothing on these folds.")
    return labels


def calibration(params: Params, metadata: dict, metrics: dict) -> str:
    """What the probabilities are, per family: only linear_svm is calibrated by the pipeline."""
    family = metadata["model_family"]
    slope = (metrics.get("calibration") or {}).get("slope")
    check = (f"check the calibration plot ({CALIBRATION_PLOT}), the calibration slope ({'not defined' if slope is None else f'{slope:.3f}'},"
             f" above) and the Brier score (test {metrics['test']['brier']:.4f}, dummy {metrics['baseline']['brier']:.4f}) before reading them as rates.")
    if family == "dummy":
        return "Probabilities: `dummy` gives every row the training share of the positive class; it ranks nothing."
    if family == "linear_svm":
        method = metadata.get("hyperparameters", {}).get("calibration", params.train.linear_svm.calibration)
        return f"Probabilities: the linear SVM's margins are calibrated by CalibratedClassifierCV ({method}, on internal folds of the training split); {check}"
    return (f"Probabilities: `{family}`'s own predict_proba, not calibrated by the pipeline"
            f" (only `linear_svm` is wrapped in CalibratedClassifierCV); {check}")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join("" if cell is None else f"{cell:.4f}" if isinstance(cell, float) else str(cell) for cell in row) + " |" for row in rows]


SPACES = {"log_odds": "log-odds of the positive class", "probability": "probability of the positive class", "value": "the predicted value"}


def explanation_lines(explanations: dict | None) -> list[str]:
    """The global SHAP explanations beside permutation importance: the output space, the sample, the top 10."""
    lines = ["", "## Explanations (SHAP, mean |contribution|, top 10)", ""]
    if not explanations or "skipped" in explanations:
        why = {"multiclass": "explanations cover binary classification and regression, not multiclass models",
               "mitigated": "explanations are not available for a fairness-mitigated model"}
        return lines + [f"Not computed: {why.get((explanations or {}).get('skipped'), 'metrics/explain/explanations.json is missing')}."]
    space = explanations["output_space"]
    lines += [f"Output space: `{space}` ({SPACES.get(space, space)}); each row's contributions add up from the base value (the mean "
              f"output over the bundle's background rows; trees: over the training rows) to its own output. Averaged over {explanations['rows']:,} test rows.", ""]
    return lines + _table(["column", "mean abs contribution"], [[row["column"], row["mean_abs_contribution"]] for row in explanations["columns"][:10]])


def detail_lines() -> list[str]:
    """Links to the detail files, relative to the card (metrics/model_card.md)."""
    lines = ["", "## Detailed figures", "", "`dvc metrics show` lists the headline figures; the others are in these files:", ""]
    return lines + [f"- [{path}]({os.path.relpath(path, 'metrics')}): {what}" for path, what in DETAILS.items()]


def model_card(params: Params, metadata: dict, metrics: dict, gates: list[dict], segments: dict, importance: list[dict], leaderboard: dict,
               test_rows: int | None = None, fairness: dict | None = None, mitigation: dict | None = None,
               explanations: dict | None = None) -> str:
    task, data = params.data.problem, params.data
    family = metadata["model_family"]
    lines = [
        f"# Model card: {family} predicting {data.target}",
        "",
        f"- **Output**: {metadata['output']}",
        f"- **Family**: `{family}`, chosen by {metadata['chosen_by']}; `{' '.join(metadata['estimator'].split())}`",
        f"- **Data**: `{data.path}`; training split sha256 `{metadata['training_data_sha256']}`",
        f"- **Inputs**: {', '.join(metadata['input_columns'])}",
        f"- **Seed**: {params.seed} (models, CV folds); split seed {params.prepare.split_seed}, test share {params.prepare.test_size}; libraries: "
        + ", ".join(f"{name} {version}" for name, version in metadata["libraries"].items()),
    ]
    if task == "classification":
        lines.append(f"- **Decision threshold**: {metrics['threshold']:g} ({params.evaluate.threshold.method}, chosen on out-of-fold training predictions)")
    lines += ["", "## Gates", ""]
    lines += _table(["metric", "min", "max", "value", "result"], [[g["metric"], g["min"], g["max"], g["value"], "pass" if g["passed"] else "FAIL"] for g in gates])
    lines += ["", f"## Test split and {params.evaluate.cv_folds}-fold cross-validation", ""]
    sections = [section for section in ("nested_cv", "cv") if section in metrics]
    cv_label = " (selection score, optimistic)" if selection(params, family) else ""
    rows = []
    for name in METRICS_BY_TASK[task]:
        cross_validated = name in CV_METRICS_BY_TASK[task]
        spread = [metrics[section].get(f"{name}_{stat}") if cross_validated else None for section in sections for stat in ("mean", "std")]
        rows.append([name, metrics["test"][name], *spread, metrics["baseline"][name]])
    titles = {"nested_cv": ["nested CV mean", "nested CV std"], "cv": [f"CV mean{cv_label}", "CV std"]}
    lines += _table(["metric", "test", *(title for section in sections for title in titles[section]), "baseline (dummy)"], rows)
    lines += ["", *figure_labels(params, family, metrics)]
    lines += operating_lines(params, metrics)
    lines += monotonic_lines(params, family, metrics)
    lines += ["", f"## Leaderboard ({leaderboard['cv_folds']}-fold CV {leaderboard['metric']})", ""]
    if "screened_on" in leaderboard:  # leaderboard.sample_rows: the families were compared on a sample
        sample = leaderboard["screened_on"]
        lines += [f"Screened on {sample['rows']:,} of the {sample['of']:,} training rows (leaderboard.sample_rows; {sample['sample']}); "
                  "the model was trained on all of them, and evaluate's cross-validation and threshold used the same sample.", ""]
    used = " (used to choose)" if params.train.model == "auto" else ""
    marked = "monotonic" in leaderboard  # train.monotonic: whether each family honours the constraints
    lines += _table(["rank", "family", f"CV mean{used}", "CV std", "test (reference only)", *(["monotonic constraints"] if marked else [])],
                    [[r["rank"], r["family"], r["cv_mean"], r["cv_std"], r["test"], *([r["monotonic"]] if marked else [])]
                     for r in leaderboard["ranking"]])
    lines += ["", ("The CV mean chose the family (train.model: auto), so the winner's CV is optimistic. " if used else
                   "train.model names the family; the leaderboard did not choose it. ")
              + "The test column is for reference only: choosing by it would make the test figure optimistic too."]
    if segments["column"]:
        present = {key for row in segments["segments"] for key in row}
        keys = [key for key in ("rows", "status", "positive_rate", "roc_auc", "log_loss", "brier", "accuracy", "f1_macro", "rmse", "mae", "r2")
                if key in present]
        lines += ["", f"## Segments by `{segments['column']}` (test split)", ""]
        lines += _table(["segment", *keys], [[row["segment"], *(row.get(key) for key in keys)] for row in segments["segments"]])
    lines += fairness_lines(fairness or {}, mitigation or {}, params.fairness.min_group_rows, params.fairness.confidence)
    rows, sample = test_rows, params.evaluate.importance_rows
    drawn = (f"a sample of {sample:,} of the {rows:,} test rows ({'stratified, ' if task != 'regression' else ''}seed {params.seed})"
             if rows is not None and sample is not None and rows > sample else "test split")
    lines += ["", f"## Permutation importance ({drawn}, top 10)", ""]
    lines += _table(["column", "importance", "std"], [[row["column"], row["importance"], row["std"]] for row in importance[:10]])
    lines += explanation_lines(explanations)
    lines += ["", "## Intended use", "", INTENDED_USE, "", "## Limitations", ""]
    limitations = [calibration(params, metadata, metrics), *LIMITATIONS] if task == "classification" else LIMITATIONS
    lines += [f"- {item}" for item in limitations]
    lines += detail_lines()
    return "\n".join(lines) + "\n"
