"""The model card: what the model is, how well it does, where it does worse, and what not to use it for.

Built only from the pipeline's artifacts (model.json, metrics, leaderboard) and params, so it
can never disagree with them.
"""
from __future__ import annotations

from tabular_mlops.config.params import Params
from tabular_mlops.evaluation.metrics import CV_METRICS_BY_TASK, METRICS_BY_TASK

INTENDED_USE = (
    "Scoring rows drawn from the same population, with the same columns, as the training table, "
    "to support (not replace) a person's decision."
)
LIMITATIONS = [
    "Trained on one historical table; its scores are only as representative as that table.",
    "Probabilities are calibrated on the training population; check the calibration plot before using them as rates.",
    "Segments with few rows have noisy metrics; gaps between segments are shown, not corrected.",
    "No causal meaning: permutation importance says what the model uses, not what drives the outcome.",
]


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join("" if cell is None else f"{cell:.4f}" if isinstance(cell, float) else str(cell) for cell in row) + " |" for row in rows]


def model_card(params: Params, metadata: dict, metrics: dict, gates: list[dict], segments: dict, importance: list[dict], leaderboard: dict) -> str:
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
    rows = []
    for name in METRICS_BY_TASK[task]:
        cv = metrics["cv"].get(f"{name}_mean") if name in CV_METRICS_BY_TASK[task] else None
        cv_std = metrics["cv"].get(f"{name}_std") if name in CV_METRICS_BY_TASK[task] else None
        rows.append([name, metrics["test"][name], cv, cv_std, metrics["baseline"][name]])
    lines += _table(["metric", "test", "CV mean", "CV std", "baseline (dummy)"], rows)
    lines += ["", f"## Leaderboard ({leaderboard['cv_folds']}-fold CV {leaderboard['metric']})", ""]
    lines += _table(["rank", "family", "CV mean", "CV std", "test"], [[r["rank"], r["family"], r["cv_mean"], r["cv_std"], r["test"]] for r in leaderboard["ranking"]])
    if segments["column"]:
        present = {key for row in segments["segments"] for key in row}
        keys = [key for key in ("rows", "positive_rate", "roc_auc", "log_loss", "brier", "accuracy", "f1_macro", "rmse", "mae", "r2") if key in present]
        lines += ["", f"## Segments by `{segments['column']}` (test split)", ""]
        lines += _table(["segment", *keys], [[row["segment"], *(row.get(key) for key in keys)] for row in segments["segments"]])
    lines += ["", "## Permutation importance (test split, top 10)", ""]
    lines += _table(["column", "importance", "std"], [[row["column"], row["importance"], row["std"]] for row in importance[:10]])
    lines += ["", "## Intended use", "", INTENDED_USE, "", "## Limitations", ""]
    lines += [f"- {item}" for item in LIMITATIONS]
    return "\n".join(lines) + "\n"
