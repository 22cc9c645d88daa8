"""The leaderboard: the cross-validated families ranked; `train.model: auto` trains the winner."""
from __future__ import annotations

from tabular_mlops.evaluation.metrics import LOWER_IS_BETTER


def rank(results: list[dict], metric: str) -> list[dict]:
    """Best CV mean first; a tie keeps the order of leaderboard.families."""
    sign = 1 if metric in LOWER_IS_BETTER else -1
    ordered = sorted(results, key=lambda result: sign * result["cv"][f"{metric}_mean"])
    return [
        {"rank": place, "family": result["family"], "cv_mean": result["cv"][f"{metric}_mean"],
         "cv_std": result["cv"][f"{metric}_std"], "test": result["test"][metric]}
        for place, result in enumerate(ordered, start=1)
    ]


def markdown(ranking: list[dict], metric: str, folds: int, skipped: list[str] = (), task: str = "") -> str:
    lines = [
        f"# Leaderboard: {folds}-fold CV {metric} on the training split",
        "",
        f"| rank | family | CV {metric} mean | CV {metric} std | test {metric} |",
        "|---:|---|---:|---:|---:|",
    ]
    lines += [f"| {r['rank']} | {r['family']} | {r['cv_mean']:.4f} | {r['cv_std']:.4f} | {r['test']:.4f} |" for r in ranking]
    if skipped:
        lines += ["", f"Not applicable to {task}, so not ranked: {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"
