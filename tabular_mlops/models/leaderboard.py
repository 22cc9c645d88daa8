"""The leaderboard: the cross-validated families ranked; `train.model: auto` trains the winner.

Only families whose cross-validation succeeded are ranked; failed ones are listed apart with
their reason. The test score is shown for reference only: choosing on it would make it optimistic.
"""
from __future__ import annotations

import math

from tabular_mlops.errors import StageError
from tabular_mlops.evaluation.metrics import LOWER_IS_BETTER

TEST_NOTE = ("test: the test-split score, for reference only, not used to choose; families are ranked "
             "and train.model: auto chooses by the CV mean on the training split")


def succeeded(result: dict, metric: str) -> bool:
    """status ok and a real CV mean: a NaN must never be ranked, whatever wrote it."""
    mean = result.get("cv", {}).get(f"{metric}_mean")
    return result.get("status", "ok") == "ok" and isinstance(mean, (int, float)) and math.isfinite(mean)


def rank(results: list[dict], metric: str) -> list[dict]:
    """The successful families, best CV mean first; a tie keeps the order of leaderboard.families."""
    sign = 1 if metric in LOWER_IS_BETTER else -1
    ordered = sorted((result for result in results if succeeded(result, metric)), key=lambda result: sign * result["cv"][f"{metric}_mean"])
    return [
        {"rank": place, "family": result["family"], "cv_mean": result["cv"][f"{metric}_mean"],
         "cv_std": result["cv"][f"{metric}_std"], "test": result["test"][metric]}
        for place, result in enumerate(ordered, start=1)
    ]


def failures(results: list[dict], metric: str) -> list[dict]:
    """The families left out of the ranking, in the order of leaderboard.families, with why."""
    return [
        {"family": result["family"], "reason": result.get("reason") or f"CV {metric} mean is not a number"}
        for result in results if not succeeded(result, metric)
    ]


def leaderboard(results: list[dict], metric: str, folds: int, skipped: list[str] = ()) -> dict:
    """metrics/leaderboard.json; raises StageError naming every family when none succeeded."""
    ranking, failed = rank(results, metric), failures(results, metric)
    if not ranking:
        reasons = "; ".join(f"{row['family']}: {row['reason']}" for row in failed)
        raise StageError(f"metrics/leaderboard: every family failed cross-validation, so there is nothing to rank ({reasons})")
    return {"metric": metric, "cv_folds": folds, "best": ranking[0]["family"], "ranking": ranking, "failed": failed,
            "not_applicable": list(skipped), "note": TEST_NOTE}


def markdown(ranking: list[dict], metric: str, folds: int, failed: list[dict] = (), skipped: list[str] = (), task: str = "") -> str:
    lines = [
        f"# Leaderboard: {folds}-fold CV {metric} on the training split",
        "",
        f"| rank | family | CV {metric} mean | CV {metric} std | test {metric} (reference only, not used to choose) |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {r['rank']} | {r['family']} | {r['cv_mean']:.4f} | {r['cv_std']:.4f} | {r['test']:.4f} |" for r in ranking]
    if failed:
        lines += ["", "## Failed, not ranked", "", "| family | reason |", "|---|---|"]
        lines += [f"| {row['family']} | {row['reason'].replace('|', '&#124;')} |" for row in failed]
    if skipped:
        lines += ["", f"Not applicable to {task}, so not ranked: {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"
