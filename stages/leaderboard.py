"""Leaderboard: rank the cross-validated families; `train.model: auto` trains the winner.

Writes metrics/leaderboard.json (read by train) and metrics/leaderboard.md (for people).
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.errors import StageError, run_stage
from tabular_mlops.evaluation.metrics import PRIMARY_METRIC
from tabular_mlops.files import read_json, write_json, write_text
from tabular_mlops.models.leaderboard import markdown, rank

RESULT = "metrics/leaderboard/{family}.json"
LEADERBOARD = "metrics/leaderboard.json"
MARKDOWN = "metrics/leaderboard.md"


def main() -> None:
    params = load_params()
    task, folds = params.data.task, params.leaderboard.cv_folds
    metric = PRIMARY_METRIC[task]
    results = []
    for family in params.task_families:
        path = RESULT.format(family=family)
        try:
            results.append(read_json(path))
        except FileNotFoundError:
            raise StageError(f"{path}: missing; run `dvc repro` so every family in leaderboard.families is cross-validated") from None
    skipped = [family for family in params.leaderboard.families if family not in params.task_families]
    ranking = rank(results, metric)
    write_json(LEADERBOARD, {"metric": metric, "cv_folds": folds, "best": ranking[0]["family"], "ranking": ranking,
                             "not_applicable": skipped})
    write_text(MARKDOWN, markdown(ranking, metric, folds, skipped, task))
    print(markdown(ranking, metric, folds, skipped, task))


if __name__ == "__main__":
    run_stage(main)
