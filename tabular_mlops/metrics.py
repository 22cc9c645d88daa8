"""The one table of metric definitions: which metrics each task reports, and which way is better.

Everything that ranks or compares (the leaderboard, the search, the sweep, the review, the
gates) asks `higher_is_better` here, so no two places can disagree about a direction.
It imports nothing of ours and nothing heavy: the params loader checks gate names here.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # classification (binary: data.positive_class named), multiclass (positive_class null), regression
    higher_is_better: bool
    needs_threshold: bool = False  # accuracy and F1 depend on the decision threshold; CV reports the others
    # Relative to evaluate's no-skill baseline (fitted on the training split, scored on the test split): not cross-validated.
    needs_baseline: bool = False


DEFINITIONS: tuple[Metric, ...] = (
    Metric("roc_auc", "classification", higher_is_better=True),
    Metric("average_precision", "classification", higher_is_better=True),
    Metric("log_loss", "classification", higher_is_better=False),
    Metric("brier", "classification", higher_is_better=False),
    Metric("accuracy", "classification", higher_is_better=True, needs_threshold=True),
    Metric("f1", "classification", higher_is_better=True, needs_threshold=True),
    # The Brier skill score, 1 - brier / baseline brier: 1 perfect, 0 no better than forecasting the training
    # class shares for every row, negative worse. A ratio, so one bound means the same for two classes or many.
    Metric("brier_skill", "classification", higher_is_better=True, needs_baseline=True),
    # Multiclass decides by the most probable class (no threshold), so CV reports all but brier_skill.
    Metric("roc_auc", "multiclass", higher_is_better=True),  # one-vs-rest, macro average
    Metric("log_loss", "multiclass", higher_is_better=False),
    Metric("brier", "multiclass", higher_is_better=False),  # summed over classes: 0 best, 2 worst
    Metric("accuracy", "multiclass", higher_is_better=True),
    Metric("f1_macro", "multiclass", higher_is_better=True),
    Metric("brier_skill", "multiclass", higher_is_better=True, needs_baseline=True),
    Metric("rmse", "regression", higher_is_better=False),
    Metric("mae", "regression", higher_is_better=False),
    Metric("r2", "regression", higher_is_better=True),
)
BY_NAME = {metric.name: metric for metric in DEFINITIONS}
# A name shared by two tasks must point the same way, since directions are looked up by name.
assert all(m.higher_is_better == BY_NAME[m.name].higher_is_better for m in DEFINITIONS)

# The metric that ranks families on the leaderboard and candidates in the search.
PRIMARY_METRIC = {"classification": "roc_auc", "multiclass": "roc_auc", "regression": "rmse"}
# What evaluate writes: test.<metric>, cv.<metric>_mean / _std (nested_cv.* too when on), baseline.<metric>, over_baseline.<metric>
METRICS_BY_TASK = {task: tuple(m.name for m in DEFINITIONS if m.task == task) for task in PRIMARY_METRIC}
CV_METRICS_BY_TASK = {task: tuple(m.name for m in DEFINITIONS if m.task == task and not (m.needs_threshold or m.needs_baseline))
                      for task in PRIMARY_METRIC}
LOWER_IS_BETTER = frozenset(m.name for m in DEFINITIONS if not m.higher_is_better)


# Gaps between the groups of a protected column: fairness.<column>.<gap> in evaluate's metrics.
FAIRNESS_GAPS = {
    "classification": ("demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference", "equalized_odds_ratio"),
    "regression": ("mae_difference", "mae_ratio"),
}


# What evaluate counts per column of train.monotonic: monotonic.<column>.<figure>, lower is better (0: none).
MONOTONIC_FIGURES = ("violations", "rows_violating")
MONOTONIC_TOLERANCE = 1e-9  # a smaller move against the direction is float noise, not a violation


def problem(task: str, positive_class: str | None) -> str:
    """The key of the tables above: data.task, except that classification with no
    data.positive_class predicts every class of the target ('multiclass')."""
    return "multiclass" if task == "classification" and positive_class is None else task


def higher_is_better(reported: str) -> bool:
    """Direction of a reported metric, by its full name as evaluate writes it.

    `test.brier`: as brier (lower). `over_baseline.brier`: an improvement (higher).
    `cv.roc_auc_mean`: as roc_auc. `cv.roc_auc_std`: a spread (lower). A bare name: as defined.
    Raises KeyError for a name that is not a metric.
    """
    section, _, name = reported.rpartition(".")
    if section.endswith("operating_point"):
        if name.removesuffix("_low").removesuffix("_high") not in OPERATING_POINT_FIGURES:
            raise KeyError(reported)
        return True  # rates and the net benefit: more is better
    if section.endswith("calibration"):
        raise KeyError(reported)  # 0 (intercept) and 1 (slope) are ideal: no direction to rank by
    if section.startswith("monotonic"):
        if name not in MONOTONIC_FIGURES:
            raise KeyError(reported)
        return False  # counts of steps against the direction
    if section.startswith("fairness"):
        if not any(name in gaps for gaps in FAIRNESS_GAPS.values()):
            raise KeyError(reported)
        return name.endswith("_ratio")  # a ratio of 1 and a difference of 0 mean equal groups
    if section.endswith("over_baseline"):
        BY_NAME[name]  # noqa: B018 - refuse names that are not metrics
        return True
    if name.endswith("_std"):
        BY_NAME[name.removesuffix("_std")]  # noqa: B018
        return False
    return BY_NAME[name.removesuffix("_mean")].higher_is_better


# Binary classification's operating point (at the chosen threshold, on the test split) and calibration,
# each with its interval's bounds (evaluate.confidence): a screening model may require, e.g.,
# operating_point.sensitivity_low >= 0.9, or calibration.slope between 0.8 and 1.2.
OPERATING_POINT_FIGURES = ("sensitivity", "specificity", "precision", "npv", "net_benefit")
BINARY_GATES = [f"{section}.{name}{bound}" for section, names in (("operating_point", ("sensitivity", "specificity", "precision", "npv")),
                                                                   ("calibration", ("intercept", "slope")))
                for name in names for bound in ("", "_low", "_high")] + ["operating_point.net_benefit"]


def gate_metric_names(task: str, nested_cv: bool = False) -> list[str]:
    """What a gate may name; nested_cv.* only when evaluate.nested_cv writes it."""
    test = [f"test.{m}" for m in METRICS_BY_TASK[task]]
    sections = ("cv", "nested_cv") if nested_cv else ("cv",)
    cv = [f"{section}.{m}_{stat}" for section in sections for m in CV_METRICS_BY_TASK[task] for stat in ("mean", "std")]
    return test + cv + [f"over_baseline.{m}" for m in METRICS_BY_TASK[task]] + (BINARY_GATES if task == "classification" else [])
