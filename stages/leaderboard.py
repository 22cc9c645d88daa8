"""Leaderboard: rank the cross-validated families; `train.model: auto` trains the winner.

Writes metrics/leaderboard.json (read by train) and metrics/leaderboard.md (for people).
Families whose cross-validation failed are listed apart, never ranked; if all failed, it stops.
Families that cannot do data.task are listed as not applicable, families over their
leaderboard.max_rows_per_family limit as skipped for size; a screening sample
(leaderboard.sample_rows) is named in both files. With train.monotonic, each family says whether it
honours the constraints, and auto's choice is the best one that does.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.errors import StageError, run_stage
from tabular_mlops.files import read_json, write_json, write_text
from tabular_mlops.metrics import PRIMARY_METRIC
from tabular_mlops.models.leaderboard import leaderboard, markdown

RESULT = "metrics/leaderboard/{family}.json"
LEADERBOARD = "metrics/leaderboard.json"
MARKDOWN = "metrics/leaderboard.md"


def main() -> None:
    params = load_params()
    metric, folds = PRIMARY_METRIC[params.data.problem], params.leaderboard.cv_folds
    results = []
    for family in params.task_families:
        path = RESULT.format(family=family)
        try:
            results.append(read_json(path))
        except FileNotFoundError:
            raise StageError(f"{path}: missing; run `dvc repro` so every family in leaderboard.families is cross-validated") from None
    skipped = [family for family in params.leaderboard.families if family not in params.task_families]
    table = leaderboard(results, metric, folds, skipped, params.train.monotonic)
    text = markdown(table["ranking"], metric, folds, table["failed"], skipped, params.data.task,
                    table.get("screened_on"), table.get("skipped_for_size", []), params.train.monotonic)
    write_json(LEADERBOARD, table)
    write_text(MARKDOWN, text)
    print(text)


if __name__ == "__main__":
    run_stage(main)
