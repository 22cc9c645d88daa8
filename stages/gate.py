"""Gate: hold the evaluation to the thresholds in `gates`, write the headline and the model card.

The figures come from evaluate, nested_cv and fairness (reporting/figures.py gathers them).
metrics/gates.json, the headline (metrics/evaluation/, what `dvc metrics show` lists) and
metrics/model_card.md are written before a failing gate stops the pipeline (exit 1), so a
failed run's numbers stay visible to `dvc metrics show`.
"""
from __future__ import annotations

from pathlib import Path

from tabular_mlops.config.params import load_params
from tabular_mlops.errors import Verdict, run_stage
from tabular_mlops.files import read_json, write_json, write_json_folder, write_text
from tabular_mlops.reporting.figures import read_figures
from tabular_mlops.reporting.gates import GATES, check_gates, failure_message
from tabular_mlops.reporting.headline import EVALUATION, evaluation_rows
from tabular_mlops.reporting.model_card import model_card

SEGMENTS = "metrics/fairness/segments.json"
FAIRNESS = "metrics/fairness/groups.json"
MITIGATION = "metrics/fairness/mitigation.json"
IMPORTANCE = "metrics/explain/importance.json"
EXPLANATIONS = "metrics/explain/explanations.json"
LEADERBOARD = "metrics/leaderboard.json"
PREPARED = "metrics/prepare.json"
METADATA = "models/model.json"
CARD = "metrics/model_card.md"


def main() -> None:
    params = load_params()
    metrics = read_figures(lambda path: Path(path).read_text())
    results = check_gates(params.task_gates, metrics)
    passed = all(row["passed"] for row in results)
    write_json(GATES, {"passed": passed, "gates": results})
    # What `dvc metrics show` lists: one file per figure (reporting/headline.py)
    write_json_folder(EVALUATION, evaluation_rows(metrics))
    card = model_card(params, read_json(METADATA), metrics, results, read_json(SEGMENTS), read_json(IMPORTANCE), read_json(LEADERBOARD),
                      test_rows=read_json(PREPARED)["test_rows"], fairness=read_json(FAIRNESS), mitigation=read_json(MITIGATION),
                      explanations=read_json(EXPLANATIONS))
    write_text(CARD, card)
    if not passed:
        raise Verdict(failure_message(results))


if __name__ == "__main__":
    run_stage(main)
