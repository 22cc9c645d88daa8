"""validate with the Dask engine: each partition checked by validate_table's own code on a worker,
the failures of all partitions described as validate_table describes the whole table's (the same
line, the file's row or line numbers), the validated partitions written in order."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tabular_mlops.data.contract import Contract, as_labels
from tabular_mlops.data.tables import write_parquet_parts
from tabular_mlops.data.validation import SOME_VALUE_RULE, TWO_CLASSES_RULE, check_table, describe_violation, summarize_parts
from tabular_mlops.engine.duplicates import duplicated_rows
from tabular_mlops.engine.partitions import Partition, in_order, partitions, read_partition
from tabular_mlops.errors import StageError


def validate_partitioned(client, source: str, contract: Contract, target: str, destination: str, partition_rows: int) -> dict:
    """Check `source` against the contract a partition at a time, with validate_table's own code,
    write the validated rows to `destination` and return validate's summary. A violation raises
    validate_table's message, with the file's row (or line) numbers."""
    _check_file(Path(source))
    parts = partitions(source, partition_rows)
    if not parts:
        raise StageError(f"{source}: the table has no data rows")
    failures: list[pd.DataFrame] = []
    classes: set[str] = set()

    def validated():
        for checked, failed, part_classes in in_order(client, _check_partition, parts, contract):
            if failed is not None:
                failures.append(failed)
                classes.update(part_classes)
            elif not failures:
                yield checked
        if failures:
            raise StageError(describe_violation(_whole_table_failures(failures, len(parts), classes), list(contract.columns), source,
                                                    masked=contract.personal))

    write_parquet_parts(destination, validated())
    written = partitions(destination, partition_rows)
    missing, duplicates, target_values = _summary_parts(client, written, target)
    return summarize_parts(duplicates, missing, target_values)


def _check_file(path: Path) -> None:
    """What read_table refuses before it reads: the file type, a missing or empty file, repeated
    column names, a CSV row with too few or too many fields (one pass over the file, as read_table)."""
    from tabular_mlops.data.tables import SUFFIXES, check_csv_shape, refuse_duplicate_columns, require_file

    if path.suffix not in SUFFIXES:
        raise StageError(f"{path}: unsupported file type '{path.suffix}'; expected one of {', '.join(SUFFIXES)}")
    require_file(path)
    if path.suffix == ".csv":
        check_csv_shape(path)
    else:
        import pyarrow.parquet as pq

        refuse_duplicate_columns(path, pq.read_schema(path).names)


def _check_partition(part: Partition, contract: Contract) -> tuple[pd.DataFrame | None, pd.DataFrame | None, set[str]]:
    """validate_table's check of one partition, and its target's classes (for the "two classes" rule)."""
    table = read_partition(part)
    checked, failures = check_table(table, contract)
    classes = set(map(str, as_labels(table[contract.target]).dropna().unique())) if failures is not None and contract.target in table else set()
    return checked, failures, classes


def _whole_table_failures(failed: list[pd.DataFrame], partition_count: int, classes: set[str]) -> pd.DataFrame:
    """The failures of the whole table from those of its partitions: rows as they are; a rule on
    a column as a whole only when the whole column breaks it; a failure about the table's
    columns (missing, unknown) once. In pandera's order: coercion first, then the checks."""
    combined = pd.concat(failed, ignore_index=True)
    whole = combined["check"].isin([SOME_VALUE_RULE, TWO_CLASSES_RULE])
    kept = [combined[~whole]]
    for (column, check), rows in combined[whole].groupby(["column", "check"], sort=False):
        if check == SOME_VALUE_RULE and rows["failure_case"].size == partition_count:
            kept.append(rows.iloc[:1])
        if check == TWO_CLASSES_RULE and rows["failure_case"].size == partition_count and len(classes) < 2:
            kept.append(rows.iloc[:1])
    combined = pd.concat(kept).sort_index(kind="stable")
    once = combined["index"].isna() & combined.drop(columns=["index"]).astype(str).duplicated()
    combined = combined[~once]
    phase = (~combined["check"].astype(str).str.startswith("coerce_dtype")).to_numpy()
    return combined.iloc[np.argsort(phase, kind="stable")].reset_index(drop=True)


def _summary_parts(client, parts: list[Partition], target: str) -> tuple[list[pd.Series], int, pd.Series]:
    missing, targets = [], []
    for part_missing, part_target in in_order(client, _missing_and_target, parts, target):
        missing.append(part_missing)
        targets.append(part_target)
    duplicates = int(duplicated_rows(client, parts, None).sum())
    return missing, duplicates, pd.concat(targets)


def _missing_and_target(part: Partition, target: str) -> tuple[pd.Series, pd.Series]:
    table = read_partition(part)
    return table.isna().sum(), table[target]
