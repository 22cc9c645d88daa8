"""Cleaning the validated table and splitting it, deterministically, into train and test.

Missing feature values are left in place: they are imputed inside the fitted pipeline, so
nothing learnt from test rows leaks into training. Outlier fences are learnt there too.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from tabular_mlops.config.params import DataParams, Params, PrepareParams
from tabular_mlops.errors import StageError

VALIDATED = "data/validated.parquet"
SOURCES = "data/validated.sources.json"  # validate's count of the rows each table gave (data/extra_tables.py)
TRAIN = "data/prepared/train.parquet"


def clean(table: pd.DataFrame, data: DataParams, spec: PrepareParams) -> tuple[pd.DataFrame, dict]:
    """Drop the configured columns, exact duplicate rows and unlabelled rows; count each.

    Duplicates are judged after dropping data.drop_columns, so a record entered twice under
    two identifiers counts as a duplicate.
    """
    cleaned = table.drop(columns=data.drop_columns)
    before = len(cleaned)
    if spec.drop_duplicates:
        cleaned = cleaned.drop_duplicates(keep="first")
    duplicates = before - len(cleaned)
    unlabelled = int(cleaned[data.target].isna().sum())
    cleaned = cleaned.dropna(subset=[data.target]).reset_index(drop=True)
    return cleaned, clean_report(before, duplicates, unlabelled)


def clean_report(rows_in: int, duplicates: int, unlabelled: int) -> dict:
    """What `clean` dropped, counted."""
    return {
        "rows_in": int(rows_in),
        "duplicate_rows_dropped": int(duplicates),
        "unlabelled_rows_dropped": int(unlabelled),
        "rows_out": int(rows_in - duplicates - unlabelled),
    }


def split(table: pd.DataFrame, target: str, test_size: float, seed: int, task: str = "classification") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classification is stratified on the target, so both splits keep the class balance."""
    if task == "regression":
        if math.ceil(test_size * len(table)) < 2 or len(table) - math.ceil(test_size * len(table)) < 2:
            raise StageError(f"params.yaml: prepare.test_size={test_size} leaves fewer than 2 rows on a side of {len(table)} rows")
        train, test = train_test_split(table, test_size=test_size, random_state=seed)
        return train.reset_index(drop=True), test.reset_index(drop=True)
    counts = table[target].value_counts()
    if len(counts) < 2:
        raise StageError(f"{VALIDATED}: the target '{target}' has one class after cleaning ({counts.index[0]!r}); need two")
    test_rows = math.ceil(test_size * len(table))  # as train_test_split counts them
    if counts.min() < 2 or test_rows < len(counts) or len(table) - test_rows < len(counts):
        raise StageError(
            f"params.yaml: prepare.test_size={test_size} cannot give a stratified split of {len(table)} rows"
            f" with class counts {counts.to_dict()}"
        )
    train, test = train_test_split(table, test_size=test_size, stratify=table[target], random_state=seed)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def split_sources(table: pd.DataFrame, rows_per_source: list[int], data: DataParams,
                  spec: PrepareParams) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """clean and split, each source on its own: `table` holds data.path's rows, then each extra
    table's (`rows_per_source`, in that order). data.path's rows get exactly the train and test rows
    they get alone, so a model trained without the extra rows is never tested on rows it learnt
    from; each extra table's test_size share joins the test split. A duplicate of an earlier row
    (data.path's first) is dropped wherever it comes from. Returns train, test and the clean report
    with `train_rows`, `test_rows` and, with extra tables, their counts under `sources`."""
    if len(rows_per_source) == 1:
        cleaned, report = clean(table, data, spec)
        train, test = split(cleaned, data.target, spec.test_size, spec.split_seed, data.task)
        return train, test, {**report, "train_rows": len(train), "test_rows": len(test)}
    if sum(rows_per_source) != len(table):
        raise StageError(f"{VALIDATED}: holds {len(table)} rows, but its sources list {sum(rows_per_source)}; rerun validate")
    source = np.repeat(np.arange(len(rows_per_source)), rows_per_source)
    dropped = table.drop(columns=data.drop_columns)
    duplicate = dropped.duplicated(keep="first").to_numpy() if spec.drop_duplicates else np.zeros(len(table), dtype=bool)
    unlabelled = dropped[data.target].isna().to_numpy() & ~duplicate
    kept = ~duplicate & ~unlabelled
    report = clean_report(len(table), int(duplicate.sum()), int(unlabelled.sum()))
    trains, tests, counts = [], [], []
    for number in range(len(rows_per_source)):
        rows = dropped[kept & (source == number)].reset_index(drop=True)
        train, test = (split if number == 0 else _split_extra)(rows, data.target, spec.test_size, spec.split_seed, data.task)
        trains.append(train)
        tests.append(test)
        counts.append({"rows_in": int((source == number).sum()), "rows_out": len(rows), "train_rows": len(train), "test_rows": len(test)})
    train, test = pd.concat(trains, ignore_index=True), pd.concat(tests, ignore_index=True)
    return train, test, {**report, "train_rows": len(train), "test_rows": len(test), "sources": counts}


def _split_extra(table: pd.DataFrame, target: str, test_size: float, seed: int, task: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An extra table's split: stratified where its classes allow, else a plain seeded one; too
    few rows for a test row and a training row: every row trains."""
    test_rows = math.ceil(test_size * len(table))
    if test_rows < 1 or len(table) - test_rows < 1:
        return table.reset_index(drop=True), table.iloc[:0].reset_index(drop=True)
    try:
        return split(table, target, test_size, seed, task)
    except StageError:  # one class, or a class of one row: no stratified split of so few rows
        train, test = train_test_split(table, test_size=test_size, random_state=seed)
        return train.reset_index(drop=True), test.reset_index(drop=True)


def read_sources(path: str | Path = SOURCES) -> list[dict]:
    """The tables behind the validated one, data.path first: [{"path", "rows"}, ...]."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))["sources"]
    except FileNotFoundError:
        raise StageError(f"{path}: file not found; run the validate stage (dvc repro)") from None


def cv_folds_asked(params: Params) -> dict[str, int]:
    """{params key: folds} of every cross-validation the pipeline will run on the training split."""
    asked = {"leaderboard.cv_folds": params.leaderboard.cv_folds, "evaluate.cv_folds": params.evaluate.cv_folds}
    if params.train.search.method != "none":
        asked["train.search.cv_folds"] = params.train.search.cv_folds
    return asked


def check_classes_fill_folds(train: pd.DataFrame, target: str, folds: dict[str, int]) -> None:
    """Refuse a class with fewer training rows than folds: some fold would lack it, and its ROC-AUC be NaN."""
    key, most = max(folds.items(), key=lambda item: item[1])
    counts = train[target].value_counts()
    rare, count = counts.index[-1], int(counts.iloc[-1])
    if count < most:
        too_many = ", ".join(name for name, asked in folds.items() if asked > count)
        raise StageError(
            f"{TRAIN}: class '{rare}' of '{target}' has {count} rows in the training split, fewer than the"
            f" {most} cross-validation folds of {key}, so some fold would have none of it (NaN ROC-AUC);"
            f" lower {too_many} to at most {count}, or add rows of that class"
        )
