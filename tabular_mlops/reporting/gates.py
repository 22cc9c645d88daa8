"""Holding the evaluation to the thresholds in `gates`."""
from __future__ import annotations

from tabular_mlops.config.params import Gate
from tabular_mlops.errors import StageError

GATES = "metrics/gates.json"


def check_gates(gates: list[Gate], metrics: dict) -> list[dict]:
    """One row per gate: the metric, its bound, the value and whether it passed."""
    results = []
    for gate in gates:
        value = metric_value(metrics, gate.metric)
        passed = value is not None and (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
        results.append({"metric": gate.metric, "min": gate.min, "max": gate.max, "value": value, "passed": passed})
    return results


def metric_value(metrics: dict, name: str) -> float | None:
    """`test.roc_auc` -> metrics["test"]["roc_auc"]; `fairness.Marital.demographic_parity_difference`
    -> metrics["fairness"]["Marital"][...]; `monotonic.Income.violations` -> metrics["monotonic"]["Income"][...].
    A column name may hold dots: the gap (the figure) is the last part."""
    section, rest = name.split(".", 1)
    if section == "fairness":
        column, gap = rest.rsplit(".", 1)
        if column not in metrics.get(section, {}):
            known = ", ".join(metrics.get(section, {})) or "none"
            raise StageError(f"params.yaml: gate metric '{name}': '{column}' is not a protected column of the data contract"
                             f" (protected columns: {known})")
        return metrics[section][column].get(gap)
    if section == "monotonic":
        # The params check ties the column to train.monotonic, which evaluate checks: a KeyError here means a
        # revision evaluated without it (review compares with such a base and reads it as not reported).
        column, figure = rest.rsplit(".", 1)
        return metrics[section][column][figure]
    return metrics[section][rest]


def failure_message(results: list[dict]) -> str:
    failed = [row for row in results if not row["passed"]]
    parts = []
    for row in failed:
        if row["value"] is None:  # a fairness gap with fewer than two groups of fairness.min_group_rows rows
            parts.append(f"{row['metric']} could not be computed (fewer than two groups with fairness.min_group_rows rows)")
        elif row["value"] != row["value"]:  # NaN: a fold failed, so the metric could not be computed
            parts.append(f"{row['metric']} is not a number (a fit or a score failed)")
        elif row["min"] is not None and row["value"] < row["min"]:
            parts.append(f"{row['metric']} = {row['value']:g} is below the minimum {row['min']:g}")
        else:
            parts.append(f"{row['metric']} = {row['value']:g} is above the maximum {row['max']:g}")
    return f"gate failed ({len(failed)} of {len(results)}): " + "; ".join(parts) + f" (see {GATES}; thresholds under 'gates' in params.yaml)"

