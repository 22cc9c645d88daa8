"""Group selection rates in production: per protected column of the contract, each group's share
of positive decisions in the batch beside the test split's, and the gap between the groups.

The decisions are the scored table's own `decision` column (a mitigated model's included), so
the rates are what people were told. Groups of fewer than fairness.min_group_rows rows are
"too few rows" and take no part in the gap, as in evaluate's fairness report.
"""
from __future__ import annotations

import pandas as pd

from tabular_mlops.fairness.groups import TOO_FEW_ROWS, group_labels, group_sort_key
from tabular_mlops.monitoring.reference import served_positive


def group_rates(current: pd.DataFrame, reference_test: pd.DataFrame, profile: dict, min_group_rows: int) -> dict:
    """{column: {"groups": [...], "gap": {"current", "reference"}}} for binary classification."""
    if profile["problem"] != "classification":
        return {}
    report = {}
    for column, bands in profile.get("protected", {}).items():
        if column not in current.columns:
            report[column] = {"status": "not in the batch"}
            continue
        now, then = _rates(current, column, bands, profile), _rates(reference_test, column, bands, profile)
        groups = []
        for label in sorted(set(now) | set(then), key=group_sort_key):
            rows, rate = now.get(label, (0, None))
            reference_rows, reference_rate = then.get(label, (0, None))
            entry = {"group": label, "rows": rows, "reference_rows": reference_rows}
            if rows < min_group_rows:
                entry["status"] = TOO_FEW_ROWS
            else:
                entry.update(status="ok", selection_rate=rate,
                             reference_selection_rate=reference_rate if reference_rows >= min_group_rows else None)
            groups.append(entry)
        report[column] = {"status": "ok", "groups": groups,
                          "gap": {"current": _gap([g["selection_rate"] for g in groups if g["status"] == "ok"]),
                                  "reference": _gap([rate for rows, rate in then.values() if rows >= min_group_rows])}}
    return report


def _rates(table: pd.DataFrame, column: str, bands: list[float] | None, profile: dict) -> dict[str, tuple[int, float]]:
    positive = pd.Series(served_positive(profile, table), index=table.index)
    labels = group_labels(table[column], bands)
    return {label: (int(len(part)), float(part.mean())) for label, part in positive.groupby(labels.to_numpy())}


def _gap(rates: list[float]) -> float | None:
    """Largest minus smallest selection rate (demographic parity difference); None below two groups."""
    return max(rates) - min(rates) if len(rates) >= 2 else None
