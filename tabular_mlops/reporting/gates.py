"""Holding the evaluation to the thresholds in `gates`."""
from __future__ import annotations

from tabular_mlops.config.params import Gate

GATES = "metrics/gates.json"


def check_gates(gates: list[Gate], metrics: dict) -> list[dict]:
    """One row per gate: the metric, its bound, the value and whether it passed."""
    results = []
    for gate in gates:
        section, name = gate.metric.split(".", 1)
        value = metrics[section][name]
        passed = (gate.min is None or value >= gate.min) and (gate.max is None or value <= gate.max)
        results.append({"metric": gate.metric, "min": gate.min, "max": gate.max, "value": value, "passed": passed})
    return results


def failure_message(results: list[dict]) -> str:
    failed = [row for row in results if not row["passed"]]
    parts = []
    for row in failed:
        if row["value"] != row["value"]:  # NaN: a fold failed, so the metric could not be computed
            parts.append(f"{row['metric']} is not a number (a fit or a score failed)")
        elif row["min"] is not None and row["value"] < row["min"]:
            parts.append(f"{row['metric']} = {row['value']:g} is below the minimum {row['min']:g}")
        else:
            parts.append(f"{row['metric']} = {row['value']:g} is above the maximum {row['max']:g}")
    return f"gate failed ({len(failed)} of {len(results)}): " + "; ".join(parts) + f" (see {GATES}; thresholds under 'gates' in params.yaml)"

