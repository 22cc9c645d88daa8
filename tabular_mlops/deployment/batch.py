"""Batch scoring: a CSV or Parquet file of any size, a chunk at a time, into the scored-table format.

Each chunk is checked against the bundle's data contract row by row (the rules of `validate`).
A row that breaks a rule goes to the rejects file (CSV: `row`, the 0-based data row of INPUT;
`column` and `rule`, every broken rule joined by "; "; then the row as read); the other rows are
scored and written to OUTPUT (CSV or Parquet by suffix): the input columns, then `probability`
and `decision` (binary), `probability:<class>` and `decision` (multiclass) or `prediction`
(regression), then `unseen_categories`; with `explain`, then each row's explanation (explain.py:
`explanation_output_space`, `explanation_base_value`, `contribution:<column>`, `reason_codes`). Personal columns (the contract's `personal`) are
written to both files only as keyed pseudonyms (tabular_mlops/privacy/pseudonyms.py), never as
read, so a person's scored rows can be found by whoever holds the key. A missing input column, or a column the contract does
not know, stops the run before any scoring; the target column, when present, is checked and
passed through. Both files are written beside their destination and renamed into place at the
end, so a failure leaves no half output. Memory grows with the chunk, not with the file: two
chunks are scored at once in threads while the next is read and the last written (chunks.py).
The command is `tabular-mlops score` (score_command.py), the DVC stage `score`.
"""
from __future__ import annotations

import sys
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from tabular_mlops.data.rows import check_rows
from tabular_mlops.data.tables import SUFFIXES, require_file
from tabular_mlops.deployment.artifact import UNSEEN, Bundle, join_unseen
from tabular_mlops.deployment.chunks import ArrowRefused, ChunkWriter, check_csv, read_chunks, read_header
from tabular_mlops.errors import StageError
from tabular_mlops.files import atomic_path
from tabular_mlops.privacy.pseudonyms import DEFAULT_KEY_FILE, pseudonym_key, pseudonymise

REJECT_COLUMNS = ["row", "column", "rule"]
JOIN = "; "
# Chunks scored at once, in threads: Arrow, numpy and the compiled model release the GIL, so the
# two cores share a chunk's work (benchmarks/scoring.py); the results are written in order.
SCORING_THREADS = 2


@dataclass
class ScoreCounts:
    read: int = 0
    scored: int = 0
    rejected: int = 0
    by_rule: Counter = field(default_factory=Counter)  # (column, rule) -> rejected rows that break it

    def line(self) -> str:
        return f"scored {self.scored} rows, rejected {self.rejected} rows (of {self.read} read)"

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.read if self.read else 0.0

    def metrics(self) -> dict:
        by_column: dict[str, dict[str, int]] = {}
        for (column, rule), count in sorted(self.by_rule.items()):
            by_column.setdefault(column, {})[rule] = count
        return {"rows_read": self.read, "rows_scored": self.scored, "rows_rejected": self.rejected, "rejected_by_rule": by_column}


def score_file(bundle: Bundle, source: str | Path, output: str | Path, rejects: str | Path,
               chunk_rows: int = 50_000, progress: bool = False, client=None, key_file: str | Path = DEFAULT_KEY_FILE,
               explain: bool = False) -> ScoreCounts:
    """Score `source` into `output`, rejected rows into `rejects`; return the counts.

    With a Dask `client` (engine.name: dask), the chunks are partitions scored on the workers by
    the same score_chunk, in chunks of the same rows, and written here in order: the same files.
    The pseudonym key (`key_file`, or its variable) is read only when `source` has personal columns.
    `explain`: add each row's explanation (StageError first when the model cannot be explained)."""
    source, output, rejects = Path(source), Path(output), Path(rejects)
    _check_paths(source, output, rejects)
    header, total = read_header(source)
    checked = _plan(bundle, header, source)
    personal = [name for name in header if name in bundle.contract.personal]
    key = pseudonym_key(key_file) if personal else None
    if explain and client is None:  # (a cluster's workers build their own: the bundle travels without it)
        bundle.explainer  # noqa: B018 -- a model that cannot be explained stops the run before any output
    written = partial(_write, output=output, rejects=rejects, personal=personal, key=key, total=total, progress=progress)
    if client is not None:
        if source.suffix == ".csv":
            check_csv(source)  # a partition of lines is read by pandas, which would pad a short row
        return written(_cluster_chunks(client, bundle, source, header, chunk_rows, checked, explain))
    try:
        return written(_local_chunks(bundle, source, header, chunk_rows, checked, explain))
    except ArrowRefused:  # nothing is kept of that first pass: pandas reads the file from the start, or names its bad line
        check_csv(source)
        return written(_local_chunks(bundle, source, header, chunk_rows, checked, explain, arrow=False))


def _write(chunks, output: Path, rejects: Path, personal: list[str], key: bytes | None, total: int | None,
           progress: bool) -> ScoreCounts:
    from tqdm import tqdm

    counts = ScoreCounts()
    with ExitStack() as stack:
        scored_writer = stack.enter_context(ChunkWriter(stack.enter_context(atomic_path(output)), output.suffix == ".parquet"))
        rejects_writer = stack.enter_context(ChunkWriter(stack.enter_context(atomic_path(rejects)), parquet=False))
        bar = stack.enter_context(tqdm(total=total, unit="rows", unit_scale=True, disable=not progress, file=sys.stderr))
        # A chunk is written in a thread while the next is scored: Parquet's encoding and the
        # compiled model both release the GIL, so the two cores share the work. Closed first (the
        # stack unwinds in reverse), so every write has finished when the files are closed.
        writing, pending = stack.enter_context(ThreadPoolExecutor(max_workers=1)), None
        for scored, rejected, violations, read in chunks:
            if pending is not None:
                pending.result()  # one chunk in writing at a time: memory stays bounded
            pending = writing.submit(_write_chunk, scored_writer, rejects_writer, scored, rejected, personal, key)
            counts.read += read
            counts.scored += len(scored)
            counts.rejected += len(rejected)
            counts.by_rule.update(zip(violations["column"], violations["rule"]))
            bar.update(read)
        if pending is not None:
            pending.result()
    return counts


def _write_chunk(scored_writer: ChunkWriter, rejects_writer: ChunkWriter, scored: pd.DataFrame, rejected: pd.DataFrame,
                 personal: list[str], key: bytes | None) -> None:
    scored_writer.write(pseudonymise(scored, personal, key))
    rejects_writer.write(pseudonymise(rejected, personal, key))


def _local_chunks(bundle: Bundle, source: Path, header: list[str], chunk_rows: int, checked: list[str], explain: bool = False,
                  arrow: bool = True):
    """score_chunk's results and each chunk's rows, in order. SCORING_THREADS chunks are scored at
    once while the next is read (explanations: one at a time); memory holds that many chunks."""
    threads = 1 if explain else SCORING_THREADS
    if threads == 1:
        first_row = 0
        for chunk in read_chunks(source, header, chunk_rows, arrow):
            yield *score_chunk(bundle, chunk, checked, first_row, explain), len(chunk)
            first_row += len(chunk)
        return
    with ThreadPoolExecutor(max_workers=threads) as scoring:
        running, first_row = deque(), 0
        for chunk in read_chunks(source, header, chunk_rows, arrow):
            running.append((scoring.submit(score_chunk, bundle, chunk, checked, first_row, explain), len(chunk)))
            first_row += len(chunk)
            if len(running) > threads:
                future, rows = running.popleft()
                yield *future.result(), rows
        while running:
            future, rows = running.popleft()
            yield *future.result(), rows


def _cluster_chunks(client, bundle: Bundle, source: Path, header: list[str], chunk_rows: int, checked: list[str], explain: bool = False):
    from tabular_mlops.engine.partitions import in_order, partitions

    parts = partitions(source, chunk_rows)
    if not parts:  # no rows: the empty chunk, for the output's columns
        yield from _local_chunks(bundle, source, header, chunk_rows, checked, explain, arrow=False)
    yield from in_order(client, _score_partition, parts, bundle, checked, explain)


def _score_partition(part, bundle: Bundle, checked: list[str], explain: bool = False):
    from tabular_mlops.engine.partitions import read_partition

    # A CSV as text, as read_chunks reads it.
    chunk = read_partition(part, dtype="str" if part.path.endswith(".csv") else None)
    return *score_chunk(bundle, chunk, checked, part.first_row, explain), len(chunk)


def score_chunk(bundle: Bundle, chunk: pd.DataFrame, checked: list[str], first_row: int,
                explain: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The scored rows (scored-table format), the rejected ones (with `row`, `column`, `rule`)
    and the violations (position, column, rule) of one chunk whose first row is data row
    `first_row` of the file. `checked`: the columns held to the contract."""
    chunk = chunk.reset_index(drop=True)
    coerced, violations = check_rows(chunk, bundle.contract, checked)
    unseen = pd.DataFrame(bundle.unseen_groups(coerced), columns=["row", "field", "rule"])
    violations = pd.concat([violations, unseen.rename(columns={"row": "position", "field": "column"})], ignore_index=True)
    reasons = violations.groupby("position", sort=True).agg({"column": JOIN.join, "rule": JOIN.join})
    bad = chunk.index.isin(reasons.index)
    rows = ~bad if bad.any() else slice(None)  # (most chunks: every row, and no copy)
    good = chunk.loc[rows].assign(**coerced.loc[rows, checked])
    predicted = _predictions(bundle, good)
    parts = [good, predicted]
    if explain:
        from tabular_mlops.deployment.explain import explanation_columns  # SHAP: only when asked for

        parts.append(explanation_columns(bundle, good, predicted["decision"] if "decision" in predicted else [None] * len(good)))
    scored = pd.concat(parts, axis=1)
    rejected = pd.concat([pd.DataFrame({"row": reasons.index + first_row, "column": reasons["column"], "rule": reasons["rule"]},
                                       index=reasons.index), chunk[bad]], axis=1)
    return scored.reset_index(drop=True), rejected.reset_index(drop=True), violations


def _predictions(bundle: Bundle, rows: pd.DataFrame) -> pd.DataFrame:
    if len(rows):
        predicted = bundle.predict(rows).assign(**{UNSEEN: unseen_column(bundle, rows)})
    else:  # scikit-learn refuses zero rows; the columns are still written (a CSV header, a Parquet schema)
        predicted = pd.DataFrame({name: pd.Series(dtype="str" if name == "decision" else "float64")
                                  for name in bundle.prediction_columns}, index=rows.index)
        predicted[UNSEEN] = pd.Series(dtype="str")
    if "decision" in predicted:
        predicted["decision"] = predicted["decision"].astype("str")  # one Parquet type whatever the chunk
    return predicted


def unseen_column(bundle: Bundle, rows: pd.DataFrame) -> pd.Series:
    """`Bundle.scored`'s `unseen_categories` a column at a time: per row, the columns holding a
    category the model never saw in training, joined by ';' (join_unseen); '' for most rows."""
    flags = {column: (rows[column].notna() & ~rows[column].astype("str").isin(seen)).to_numpy()
             for column, seen in bundle.seen_categories.items()}
    joined = np.full(len(rows), "", dtype=object)
    for position in np.flatnonzero(np.logical_or.reduce(list(flags.values()))) if flags else ():
        joined[position] = join_unseen([[column for column, flagged in flags.items() if flagged[position]]])[0]
    return pd.Series(joined, index=rows.index, dtype="str")


def _check_paths(source: Path, output: Path, rejects: Path) -> None:
    for path, role in ((source, "input"), (output, "output")):
        if path.suffix not in SUFFIXES:
            raise StageError(f"{path}: unsupported {role} file type '{path.suffix}'; expected one of {', '.join(SUFFIXES)}")
    if rejects.suffix != ".csv":
        raise StageError(f"{rejects}: the rejects file must be a .csv; got '{rejects.suffix}'")
    require_file(source)
    if len({source.resolve(), output.resolve(), rejects.resolve()}) < 3:
        raise StageError(f"{source}, {output}, {rejects}: the input, the output and the rejects must be three different files")


def _plan(bundle: Bundle, header: list[str], source: Path) -> list[str]:
    """The columns checked against the contract: the model's inputs and the target. The others
    the contract knows (data.drop_columns, left out of the model) pass through as given."""
    contract = bundle.contract
    missing = [name for name in bundle.input_columns if name not in header]
    if missing:
        raise StageError(f"{source}: column{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                         f"missing; the model needs {', '.join(bundle.input_columns)}")
    unknown = [name for name in header if name not in contract.columns]
    if unknown:
        raise StageError(f"{source}: column{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                         "not in the model's data contract; remove them from the table")
    return [name for name in header if name in bundle.input_columns or name == contract.target]
