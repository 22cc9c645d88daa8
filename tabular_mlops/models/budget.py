"""Model selection with a budget: the rows the leaderboard screens on, and families too costly to screen.

On a training split of more than `leaderboard.sample_rows` rows, every family is cross-validated
on the same seeded sample: stratified by the target for classification (each class keeps its
share, to within a row), a plain random sample for regression. The sample depends only on the
target, its size and the seed, so each family's stage (a process of its own) draws the same rows
and the ranking compares like with like; `train` then fits the winner on every row.
A family listed in `leaderboard.max_rows_per_family` is skipped, with the reason in the
leaderboard, when the rows it would be screened on exceed its limit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tabular_mlops.errors import StageError


def screening_rows(target: pd.Series, stratify: bool, sample_rows: int | None, seed: int, min_class_rows: int = 1) -> np.ndarray | None:
    """Sorted positions of the rows to screen on, or None when the split has at most sample_rows rows.

    Stratified: each class gets its share of sample_rows rounded down, and the rows left over go
    to the classes with the largest remainders (ties: the first class in sorted order).
    """
    if sample_rows is None or len(target) <= sample_rows:
        return None
    rng = np.random.default_rng(seed)
    if not stratify:
        return np.sort(rng.choice(len(target), size=sample_rows, replace=False))
    codes, labels = pd.factorize(target, sort=True)
    counts = np.bincount(codes, minlength=len(labels))
    quota = counts * sample_rows / len(target)
    take = np.floor(quota).astype(int)
    take[np.argsort(-(quota - take), kind="stable")[: sample_rows - take.sum()]] += 1
    short = [(label, rows) for label, rows in zip(labels, take) if rows < min_class_rows]
    if short:
        label, rows = short[0]
        raise StageError(f"params.yaml: leaderboard.sample_rows ({sample_rows}) leaves {rows} rows of class '{label}' in the sample, "
                         f"fewer than leaderboard.cv_folds ({min_class_rows}); raise sample_rows or set it to null")
    chosen = [rng.choice(np.flatnonzero(codes == code), size=rows, replace=False) for code, rows in enumerate(take)]
    return np.sort(np.concatenate(chosen))


def screening_sample(inputs: pd.DataFrame, target: pd.Series, stratify: bool, sample_rows: int | None,
                     seed: int, min_class_rows: int = 1) -> tuple[pd.DataFrame, pd.Series, dict | None]:
    """The rows to screen on and, when they are a sample, how they were drawn (for the leaderboard)."""
    rows = screening_rows(target, stratify, sample_rows, seed, min_class_rows)
    if rows is None:
        return inputs, target, None
    how = f"stratified by {target.name}" if stratify else "random"
    screened_on = {"rows": len(rows), "of": len(target), "sample": f"{how}, seed {seed}"}
    return inputs.iloc[rows], target.iloc[rows], screened_on


def family_budget(family: str, inputs: pd.DataFrame, target: pd.Series, stratify: bool, spec, seed: int
                  ) -> tuple[pd.DataFrame, pd.Series, dict, str | None]:
    """For one family's stage, with `spec` the leaderboard params: the rows to screen on, how they
    were drawn ({} for every row, else {"screened_on": ...}), and why the family is skipped (None
    when it is within its limit)."""
    inputs, target, screened_on = screening_sample(inputs, target, stratify, spec.sample_rows, seed, min_class_rows=spec.cv_folds)
    sampled = {} if screened_on is None else {"screened_on": screened_on}
    return inputs, target, sampled, over_limit(family, len(target), spec.max_rows_per_family)


def over_limit(family: str, rows: int, limits: dict[str, int]) -> str | None:
    """Why the family is skipped, or None when it is within its leaderboard.max_rows_per_family limit."""
    limit = limits.get(family)
    if limit is None or rows <= limit:
        return None
    return (f"skipped: {rows:,} screening rows exceed leaderboard.max_rows_per_family.{family} ({limit:,}); "
            f"lower leaderboard.sample_rows or raise the limit to screen it")
