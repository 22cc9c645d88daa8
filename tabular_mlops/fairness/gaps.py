"""Gaps between groups, over the rows of the groups that have enough rows.

Classification gaps are fairlearn's own functions of the decisions. Equalized odds compares
true and false positive rates, which fairlearn counts as 0 in a group without positives
(or negatives); here such a gap is None with the reason, rather than a number that only
says the group lacks one class.
"""
from __future__ import annotations

import numpy as np
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
)

from tabular_mlops.fairness.inputs import compared_groups, json_number, report_columns
from tabular_mlops.fairness.measures import mae

CLASSIFICATION_GAPS = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
}
REGRESSION_GAPS = ("mae_difference", "mae_ratio")


def gap_metrics(task, target, probability_or_prediction, decision, groups, *, min_group_rows: int) -> dict:
    """{gap name: value or None, "compared_groups": [labels], "reason": why a gap is None, or None}.

    classification: demographic parity and equalized odds, difference and ratio, of the
    decisions. regression: MAE's max minus min over the groups, and min over max.
    Only groups with at least `min_group_rows` rows take part; with fewer than two, every
    gap is None.
    """
    columns, labels = report_columns(task, target, probability_or_prediction, decision, groups)
    compared = compared_groups(labels, min_group_rows)
    names = list(CLASSIFICATION_GAPS) if task == "classification" else list(REGRESSION_GAPS)
    if len(compared) < 2:
        reason = f"fewer than two groups have at least {min_group_rows} rows (min_group_rows); groups with enough rows: {compared}"
        return {**dict.fromkeys(names), "compared_groups": compared, "reason": reason}
    keep = labels.isin(compared).to_numpy()
    kept = {name: array[keep] for name, array in columns.items()}
    sensitive = labels[keep].to_numpy()
    reason = None
    if task == "regression":
        frame = MetricFrame(metrics=mae, y_true=kept["target"], y_pred=kept["prediction"], sensitive_features=sensitive)
        gaps = {"mae_difference": frame.difference(), "mae_ratio": frame.ratio()}
    else:
        gaps = {name: gap(kept["target"], kept["decision"], sensitive_features=sensitive) for name, gap in CLASSIFICATION_GAPS.items()}
        one_class = [group for group in compared if len(np.unique(kept["target"][sensitive == group])) < 2]
        if one_class:
            gaps["equalized_odds_difference"] = gaps["equalized_odds_ratio"] = None
            reason = f"equalized odds needs positive and negative rows in every compared group; {one_class} hold one class only"
    values = {name: None if gaps[name] is None else json_number(gaps[name]) for name in names}
    return {**values, "compared_groups": compared, "reason": reason}
