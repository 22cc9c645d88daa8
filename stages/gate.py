"""Gate: hold the evaluation to the thresholds in `gates`, and write the model card.

Both metrics/gates.json and metrics/model_card.md are written before a failing gate stops
the pipeline, so a failed run's numbers stay visible to `dvc metrics show`.
"""
from __future__ import annotations

import json

from stages.errors import StageError, run_stage
from stages.files import write_json, write_text
from stages.model_card import model_card
from stages.params import Gate, load_params

EVALUATION = "metrics/evaluate/metrics.json"
SEGMENTS = "metrics/evaluate/segments.json"
IMPORTANCE = "metrics/evaluate/importance.json"
LEADERBOARD = "metrics/leaderboard.json"
METADATA = "models/model.json"
GATES = "metrics/gates.json"
CARD = "metrics/model_card.md"


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


def read_json(path: str):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def main() -> None:
    params = load_params()
    metrics = read_json(EVALUATION)
    results = check_gates(params.gates, metrics)
    passed = all(row["passed"] for row in results)
    write_json(GATES, {"passed": passed, "gates": results})
    card = model_card(params, read_json(METADATA), metrics, results, read_json(SEGMENTS), read_json(IMPORTANCE), read_json(LEADERBOARD))
    write_text(CARD, card)
    if not passed:
        raise StageError(failure_message(results))


if __name__ == "__main__":
    run_stage(main)
