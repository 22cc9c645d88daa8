"""Leaderboard: rank the cross-validated families; `train.model: auto` trains the winner.

Writes metrics/leaderboard.json (read by train) and metrics/leaderboard.md (for people).
"""
from __future__ import annotations

import json

from stages.errors import StageError, run_stage
from stages.files import write_json, write_text
from stages.params import load_params
from stages.scoring import LOWER_IS_BETTER, PRIMARY_METRIC

RESULT = "metrics/leaderboard/{family}.json"
LEADERBOARD = "metrics/leaderboard.json"
MARKDOWN = "metrics/leaderboard.md"


def rank(results: list[dict], metric: str) -> list[dict]:
    """Best CV mean first; a tie keeps the order of leaderboard.families."""
    sign = 1 if metric in LOWER_IS_BETTER else -1
    ordered = sorted(results, key=lambda result: sign * result["cv"][f"{metric}_mean"])
    return [
        {"rank": place, "family": result["family"], "cv_mean": result["cv"][f"{metric}_mean"],
         "cv_std": result["cv"][f"{metric}_std"], "test": result["test"][metric]}
        for place, result in enumerate(ordered, start=1)
    ]


def markdown(ranking: list[dict], metric: str, folds: int) -> str:
    lines = [
        f"# Leaderboard: {folds}-fold CV {metric} on the training split",
        "",
        f"| rank | family | CV {metric} mean | CV {metric} std | test {metric} |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {r['rank']} | {r['family']} | {r['cv_mean']:.4f} | {r['cv_std']:.4f} | {r['test']:.4f} |" for r in ranking]
    return "\n".join(lines) + "\n"


def main() -> None:
    params = load_params()
    metric = PRIMARY_METRIC[params.data.task]
    results = []
    for family in params.leaderboard.families:
        path = RESULT.format(family=family)
        try:
            results.append(json.loads(open(path, encoding="utf-8").read()))
        except FileNotFoundError:
            raise StageError(f"{path}: missing; run `dvc repro` so every family in leaderboard.families is cross-validated") from None
    ranking = rank(results, metric)
    write_json(LEADERBOARD, {"metric": metric, "cv_folds": params.leaderboard.cv_folds, "best": ranking[0]["family"], "ranking": ranking})
    write_text(MARKDOWN, markdown(ranking, metric, params.leaderboard.cv_folds))
    print(markdown(ranking, metric, params.leaderboard.cv_folds))


if __name__ == "__main__":
    run_stage(main)
