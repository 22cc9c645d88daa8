"""One family's leaderboard entry: its cross-validated and test scores, or why it failed.

A family whose fit raises, or whose CV gives NaN in any fold, is recorded as failed with the
reason instead of stopping the leaderboard, so the other families can still be ranked and
`train.model: auto` can never pick a family without a real CV score.
"""
from __future__ import annotations

import time
from typing import Callable

import pandas as pd
from sklearn.base import BaseEstimator

from tabular_mlops.errors import StageError
from tabular_mlops.metrics import PRIMARY_METRIC
from tabular_mlops.models.scoring import cross_validation, predict, rounded, score


def assess_family(task: str, family: str, pipeline: BaseEstimator, train: tuple[pd.DataFrame, pd.Series],
                  test: tuple[pd.DataFrame, pd.Series], folds: int, seed: int,
                  progress: Callable[[str], object] | None = None) -> tuple[dict, float]:
    """The entry for metrics/leaderboard/<family>.json, and the seconds the refit on the training rows took.

    status "ok": `cv` (mean and std per metric) and `test` (reference only); status "failed": `reason`.
    `progress(what)` is told of each finished fold and of the refit (folds + 1 steps).
    """
    (train_inputs, train_target), (test_inputs, test_target) = train, test
    on_fold = None if progress is None else (lambda number: progress(f"fold {number}/{folds} done"))
    started = time.perf_counter()
    try:
        cv = cross_validation(task, pipeline, train_inputs, train_target, folds, seed, on_fold=on_fold)
        started = time.perf_counter()
        pipeline.fit(train_inputs, train_target)
        fit_seconds = time.perf_counter() - started
        if progress is not None:
            progress(f"refit on {len(train_target):,} rows done")
        test_scores = score(task, test_target, predict(task, pipeline, test_inputs))
    # Whatever the family's own code raises is that family's failure, not the leaderboard's.
    except Exception as error:  # noqa: BLE001
        return {"family": family, "status": "failed", "reason": failure_reason(error)}, time.perf_counter() - started
    return {"family": family, "status": "ok", "cv": rounded(cv), "test": rounded(test_scores)}, fit_seconds


def log_line(task: str, result: dict, fit_seconds: float) -> str:
    """What the stage prints about an entry: its CV and test scores and the fit time (wall time
    differs between runs, so it is reported here, not in the committed files), or why it failed."""
    family = result["family"]
    if result["status"] != "ok":
        return f"{family}: FAILED, not ranked: {result['reason']}"
    metric = PRIMARY_METRIC[task]
    cv = result["cv"]
    return (f"{family}: CV {metric} {cv[metric + '_mean']:.4f} ± {cv[metric + '_std']:.4f}, "
            f"test {result['test'][metric]:.4f}, fit {fit_seconds:.2f} s")


def failure_reason(error: Exception) -> str:
    """One line: our own messages as they are, anything else prefixed with its type."""
    message = " ".join(str(error).split()) or "(no message)"
    return message if isinstance(error, StageError) else f"{type(error).__name__}: {message}"
