"""The leaderboard: the cross-validated families ranked; `train.model: auto` trains the winner.

Only families whose cross-validation succeeded are ranked; failed ones are listed apart with
their reason. The test score is shown for reference only: choosing on it would make it optimistic.
With train.monotonic, each ranked family says whether it honours the constraints, and the best is
the first ranked one that does: the families above it show what the constraints cost.
"""
from __future__ import annotations

import json
import math

from tabular_mlops.errors import StageError
from tabular_mlops.families.family import MONOTONIC_LABELS
from tabular_mlops.families.registry import BY_NAME
from tabular_mlops.metrics import LOWER_IS_BETTER

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
    """The families whose CV failed, in the order of leaderboard.families, with why."""
    return [
        {"family": result["family"], "reason": result.get("reason") or f"CV {metric} mean is not a number"}
        for result in results if not succeeded(result, metric) and result.get("status") != "skipped"
    ]


def too_large(results: list[dict]) -> list[dict]:
    """The families skipped for their leaderboard.max_rows_per_family limit, with the message."""
    return [{"family": result["family"], "reason": result["reason"]} for result in results if result.get("status") == "skipped"]


def screening(results: list[dict]) -> dict | None:
    """How the training rows were sampled for screening (the same for every family), or None: all rows."""
    samples = {json.dumps(result["screened_on"], sort_keys=True) for result in results if "screened_on" in result}
    if len(samples) > 1:
        raise StageError(f"metrics/leaderboard: the families were screened on different samples ({'; '.join(sorted(samples))}); "
                         "run `dvc repro` so every family is cross-validated again")
    return json.loads(samples.pop()) if samples else None


def leaderboard(results: list[dict], metric: str, folds: int, skipped: list[str] = (), monotonic: dict[str, str] | None = None) -> dict:
    """metrics/leaderboard.json; raises StageError naming every family when none succeeded.

    The keys `screened_on` and `skipped_for_size` appear only when a sample or a row limit was used;
    `monotonic` (train.monotonic) and each row's mark only with constraints, and then the best is the
    first ranked family that honours them (StageError when none does).
    """
    ranking, failed, oversized = rank(results, metric), failures(results, metric), too_large(results)
    if not ranking:
        reasons = "; ".join(f"{row['family']}: {row['reason']}" for row in failed + oversized)
        what = "failed cross-validation or was skipped for size" if oversized else "failed cross-validation"
        raise StageError(f"metrics/leaderboard: every family {what}, so there is nothing to rank ({reasons})")
    best = ranking[0]["family"]
    if monotonic:
        for row in ranking:
            row["monotonic"] = MONOTONIC_LABELS[BY_NAME[row["family"]].monotonic]
        honouring = [row["family"] for row in ranking if BY_NAME[row["family"]].monotonic != "cannot"]
        if not honouring:
            raise StageError(f"metrics/leaderboard: no ranked family ({', '.join(row['family'] for row in ranking)}) honours train.monotonic"
                             f" ({', '.join(monotonic)}), so train.model: auto has nothing to choose")
        best = honouring[0]
    table = {"metric": metric, "cv_folds": folds, "best": best, "ranking": ranking, "failed": failed,
             "not_applicable": list(skipped), "note": TEST_NOTE}
    if monotonic:
        table["monotonic"] = dict(monotonic)
    sample = screening(results)
    if sample is not None:
        table["screened_on"] = sample
    if oversized:
        table["skipped_for_size"] = oversized
    return table


def markdown(ranking: list[dict], metric: str, folds: int, failed: list[dict] = (), skipped: list[str] = (), task: str = "",
             screened_on: dict | None = None, skipped_for_size: list[dict] = (), monotonic: dict[str, str] | None = None) -> str:
    where = "the training split" if screened_on is None else f"a sample of {screened_on['rows']:,} of the {screened_on['of']:,} training rows"
    lines = [f"# Leaderboard: {folds}-fold CV {metric} on {where}", ""]
    if screened_on is not None:
        lines += [f"Screened on a sample (leaderboard.sample_rows; {screened_on['sample']}), the same rows for every family; "
                  f"train fits the chosen family on all {screened_on['of']:,} rows.", ""]
    if monotonic:
        lines += [f"Monotonic constraints (train.monotonic): {', '.join(f'{column} {direction}' for column, direction in monotonic.items())}."
                  " train.model: auto takes the best family that honours them; a family that cannot enforce them was cross-validated"
                  " without them, to show what they cost.", ""]
    header, rule = (" monotonic constraints |", "---|") if monotonic else ("", "")
    lines += [
        f"| rank | family | CV {metric} mean | CV {metric} std | test {metric} (reference only, not used to choose) |{header}",
        f"|---:|---|---:|---:|---:|{rule}",
    ]
    lines += [f"| {r['rank']} | {r['family']} | {r['cv_mean']:.4f} | {r['cv_std']:.4f} | {r['test']:.4f} |"
              + (f" {r['monotonic']} |" if monotonic else "") for r in ranking]
    if failed:
        lines += ["", "## Failed, not ranked", "", "| family | reason |", "|---|---|"]
        lines += [f"| {row['family']} | {row['reason'].replace('|', '&#124;')} |" for row in failed]
    if skipped_for_size:
        lines += ["", "## Skipped for size, not ranked", "", "| family | reason |", "|---|---|"]
        lines += [f"| {row['family']} | {row['reason']} |" for row in skipped_for_size]
    if skipped:
        lines += ["", f"Not applicable to {task}, so not ranked: {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"
