"""The prediction log: every answered prediction and the outcomes fed back, in one SQLite file.

Personal values are never stored: a prediction's personal fields become rows of `subjects`
(its id, the column, the value's keyed pseudonym, tabular_mlops/privacy/pseudonyms.py), so a
person's predictions can be found and `erase`d from their value, by whoever holds the key.

WAL mode lets the readers (the monitor, `read_scored`) work while a writer commits, and several
uvicorn workers each hold their own connection; `busy_timeout` makes a writer wait for another's
commit instead of failing. The service commits a request's rows before it answers, so every
prediction a client received is in the log.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic_core import to_json  # pydantic's JSON encoder: 4 times json's on records (0.7 ms per 1,000)

from tabular_mlops.data.contract import Contract
from tabular_mlops.deployment.artifact import UNSEEN, join_unseen
from tabular_mlops.errors import StageError

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    model_version TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    contract TEXT NOT NULL              -- JSON: how read_scored types the logged inputs
);
CREATE TABLE IF NOT EXISTS predictions (
    prediction_id TEXT PRIMARY KEY,
    time TEXT NOT NULL,                 -- UTC, ISO 8601 with microseconds: sorts as text
    model_version TEXT NOT NULL,
    inputs TEXT NOT NULL,               -- JSON object: the record as validated
    outputs TEXT NOT NULL,              -- JSON object: Bundle.predict's columns and unseen_categories
    decision TEXT                       -- null for regression
);
CREATE INDEX IF NOT EXISTS predictions_time ON predictions (time);
CREATE TABLE IF NOT EXISTS feedback (
    prediction_id TEXT PRIMARY KEY,     -- a later outcome for the same prediction replaces the earlier
    outcome TEXT NOT NULL,              -- JSON: a class label or a number
    time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subjects (
    prediction_id TEXT NOT NULL,
    "column" TEXT NOT NULL,             -- a personal column of the contract
    pseudonym TEXT NOT NULL,            -- HMAC-SHA256 of its value (hex): never the value itself
    PRIMARY KEY (prediction_id, "column")
);
CREATE INDEX IF NOT EXISTS subjects_pseudonym ON subjects (pseudonym);
CREATE TABLE IF NOT EXISTS shadow_predictions (
    prediction_id TEXT PRIMARY KEY,     -- the champion's prediction this challenger scored too
    model_version TEXT NOT NULL,        -- the challenger's
    outputs TEXT NOT NULL,              -- JSON object, as predictions.outputs
    time TEXT NOT NULL
);
"""
BUSY_TIMEOUT_MS = 10_000


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def connect(path: str | Path) -> sqlite3.Connection:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    connection.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a commit survives the process being killed; only a power cut may lose the last ones.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.executescript(SCHEMA)
    return connection


class PredictionLog:
    """One worker's connection; its methods may be called from several threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._connection = connect(path)
        self._lock = threading.Lock()

    def register_model(self, version: str, target: str, contract: dict) -> None:
        with self._lock:
            self._connection.execute("INSERT OR IGNORE INTO models VALUES (?, ?, ?)", (version, target, json.dumps(contract)))

    def log(self, version: str, ids: list[str], records: list[dict], outputs: list[dict],
            subjects: list[dict[str, str]] | None = None) -> None:
        """One transaction per request: all its rows, or none. `records` hold no personal field
        (privacy.pseudonyms.split_personal); `subjects`, per record, {column: pseudonym}."""
        time = utc_now()
        rows = [(prediction_id, time, version, to_json(record).decode(), to_json(output).decode(), output.get("decision"))
                for prediction_id, record, output in zip(ids, records, outputs)]
        subject_rows = [(prediction_id, column, value) for prediction_id, given in zip(ids, subjects or ())
                        for column, value in given.items()]
        with self._lock:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                self._connection.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?)", rows)
                if subject_rows:
                    self._connection.executemany("INSERT INTO subjects VALUES (?, ?, ?)", subject_rows)
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    def log_shadow(self, version: str, ids: list[str], outputs: list[dict]) -> None:
        """A challenger's outputs for predictions the champion answered (and logged) already."""
        time = utc_now()
        rows = [(prediction_id, version, to_json(output).decode(), time) for prediction_id, output in zip(ids, outputs)]
        with self._lock:
            self._connection.executemany("INSERT OR REPLACE INTO shadow_predictions VALUES (?, ?, ?, ?)", rows)

    def model_of(self, prediction_id: str) -> str | None:
        with self._lock:
            row = self._connection.execute("SELECT model_version FROM predictions WHERE prediction_id = ?", (prediction_id,)).fetchone()
        return None if row is None else row[0]

    def feedback(self, prediction_id: str, outcome: Any) -> None:
        with self._lock:
            self._connection.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?)", (prediction_id, json.dumps(outcome), utc_now()))

    def predictions_of(self, pseudonym: str) -> list[str]:
        """The ids of the predictions whose personal fields hold this pseudonym, oldest first."""
        with self._lock:
            rows = self._connection.execute("SELECT DISTINCT prediction_id FROM subjects WHERE pseudonym = ? ORDER BY prediction_id",
                                            (pseudonym,)).fetchall()
        return [row[0] for row in rows]

    def erase(self, pseudonym: str) -> int:
        """Delete the predictions whose personal fields hold this pseudonym, their feedback and all
        their subjects rows; return how many predictions. secure_delete overwrites the deleted
        cells with zeros, and a TRUNCATE checkpoint copies the zeroed pages into the database and
        empties the -wal file, which still held the rows as first written: the bytes are gone."""
        with self._lock:
            connection = self._connection
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute("BEGIN IMMEDIATE")
            try:
                count = connection.execute("SELECT COUNT(DISTINCT prediction_id) FROM subjects WHERE pseudonym = ?", (pseudonym,)).fetchone()[0]
                for table in ("feedback", "predictions", "subjects"):  # subjects last: it says which predictions
                    connection.execute(f"DELETE FROM {table} WHERE prediction_id IN (SELECT prediction_id FROM subjects WHERE pseudonym = ?)",
                                       (pseudonym,))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StageError(f"{self.path}: erased {count} prediction(s), but another connection kept the log busy past "
                             f"{BUSY_TIMEOUT_MS // 1000} s, so their first-written bytes remain in {self.path.name}-wal "
                             "until its next checkpoint; run erase again when the log is idle")
        return count

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def read_scored(path: str | Path, since: str | datetime | None = None, until: str | datetime | None = None,
                model_version: str | None = None, shadow: bool = False) -> pd.DataFrame:
    """The log's predictions with time in [since, until), in the scored-table format: the input
    columns (typed as the contract says), the prediction columns, `unseen_categories` (names
    joined by ';'), the target column holding the fed-back outcome (NaN where none came back),
    then `prediction_id` and `time`. Times without an offset are UTC.

    `shadow`: also the challenger's outputs for the same predictions, `shadow:<column>` per
    prediction column and `shadow_model_version` (NaN where no challenger scored the row)."""
    query = ("SELECT p.prediction_id, p.time, p.model_version, p.inputs, p.outputs, f.outcome, m.target, m.contract"
             + (", s.model_version, s.outputs" if shadow else "") +
             " FROM predictions p JOIN models m USING (model_version) LEFT JOIN feedback f USING (prediction_id)"
             + (" LEFT JOIN shadow_predictions s USING (prediction_id)" if shadow else "") + " WHERE 1=1")
    arguments: list[Any] = []
    for clause, value in ((" AND p.time >= ?", since), (" AND p.time < ?", until), (" AND p.model_version = ?", model_version)):
        if value is not None:
            query += clause
            arguments.append(value if clause.endswith("model_version = ?") else _as_utc_text(value))
    connection = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        if shadow and connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'shadow_predictions'").fetchone() is None:
            query = query.replace(", s.model_version, s.outputs", ", NULL, NULL").replace(
                " LEFT JOIN shadow_predictions s USING (prediction_id)", "")  # a log written before shadows existed
        rows = connection.execute(query + " ORDER BY p.time, p.rowid", arguments).fetchall()
    finally:
        connection.close()
    table = _scored_table(rows)
    return _with_shadow(table, rows) if shadow else table


def _with_shadow(table: pd.DataFrame, rows: list[tuple]) -> pd.DataFrame:
    outputs = pd.DataFrame([json.loads(row[9]) if row[9] is not None else {} for row in rows], index=table.index)
    outputs = outputs.drop(columns=[UNSEEN], errors="ignore").rename(columns=lambda name: f"shadow:{name}")
    table = pd.concat([table, outputs], axis=1)
    table["shadow_model_version"] = pd.Series([row[8] for row in rows], index=table.index, dtype="object")
    return table


def _scored_table(rows: list[tuple]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=[UNSEEN, "prediction_id", "time"])
    inputs = pd.DataFrame([json.loads(row[3]) for row in rows])
    outputs = pd.DataFrame([json.loads(row[4]) for row in rows])
    outputs[UNSEEN] = join_unseen(outputs[UNSEEN])
    contracts = {row[7] for row in rows}
    for contract_json in contracts:  # one per model version; their columns are typed alike
        contract = Contract.model_validate_json(contract_json)
        for name in inputs.columns:
            if name in contract.columns:
                inputs[name] = _typed(inputs[name], contract.columns[name].type)
    targets = {row[6] for row in rows}
    table = pd.concat([inputs, outputs], axis=1)
    for target in targets:
        table[target] = [json.loads(row[5]) if row[5] is not None and row[6] == target else np.nan for row in rows]
    table["prediction_id"] = [row[0] for row in rows]
    table["time"] = pd.to_datetime([row[1] for row in rows], utc=True, format="ISO8601")
    return table


def _typed(values: pd.Series, kind: str) -> pd.Series:
    if kind == "category":
        return values.astype("object").where(values.notna(), np.nan)
    if kind == "datetime":
        return pd.to_datetime(values, utc=True, format="ISO8601")
    return values.astype("float64")


def _as_utc_text(value: str | datetime) -> str:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime().isoformat(timespec="microseconds")
