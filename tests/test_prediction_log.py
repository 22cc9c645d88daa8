"""The prediction log on its own: several connections writing at once, and the scored-table window."""
from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from tabular_mlops.deployment.prediction_log import PredictionLog, read_scored

CONTRACT = {"target": "Status", "columns": {
    "Status": {"type": "category", "nullable": True, "categories": ["bad", "good"]},
    "Income": {"type": "integer", "nullable": True, "min": 0.0},
    "Home": {"type": "category", "nullable": True, "categories": ["owner", "rent"]},
    "Opened": {"type": "datetime", "nullable": True}}}


def test_connections_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """What several uvicorn workers do: each its own connection, WAL and busy_timeout serialise the commits."""
    path = tmp_path / "log.sqlite"
    PredictionLog(path).register_model("v1", "Status", CONTRACT)

    def write(worker: int) -> None:
        log = PredictionLog(path)  # its own connection, as in its own process
        for request in range(25):
            ids = [f"{worker}-{request}-{row}" for row in range(4)]
            log.log("v1", ids, [{"Income": 1.0}] * 4, [{"probability": 0.5, "decision": "bad", "unseen_categories": []}] * 4)
        log.close()

    workers = [threading.Thread(target=write, args=(number,)) for number in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    table = read_scored(path)
    assert len(table) == 4 * 25 * 4 and table["prediction_id"].is_unique


def test_read_scored_is_the_scored_table_with_outcomes_in_a_time_window(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = PredictionLog(path)
    log.register_model("v1", "Status", CONTRACT)
    records = [{"Income": 100, "Home": "rent", "Opened": "2024-01-31T00:00:00+00:00"}, {"Income": None, "Home": None, "Opened": None}]
    outputs = [{"probability": 0.9, "decision": "bad", "unseen_categories": ["Home", "Job"]},
               {"probability": 0.1, "decision": "good", "unseen_categories": []}]
    log.log("v1", ["a", "b"], records, outputs)
    middle = pd.Timestamp.now(tz="UTC")
    log.log("v1", ["c"], records[:1], outputs[:1])
    log.feedback("a", "good")
    log.feedback("a", "bad")  # a later outcome replaces the earlier one
    table = read_scored(path, until=middle)
    assert list(table.columns) == ["Income", "Home", "Opened", "probability", "decision", "unseen_categories",
                                   "Status", "prediction_id", "time"]
    assert list(table["prediction_id"]) == ["a", "b"]
    assert table["Income"].dtype == "float64" and pd.isna(table.loc[1, "Income"]) and pd.isna(table.loc[1, "Home"])
    assert table.loc[0, "Opened"] == pd.Timestamp("2024-01-31", tz="UTC")
    assert list(table["unseen_categories"]) == ["Home;Job", ""]
    assert table.loc[0, "Status"] == "bad" and pd.isna(table.loc[1, "Status"])
    assert list(read_scored(path, since=middle)["prediction_id"]) == ["c"]
    assert read_scored(path, since=middle.tz_convert(None)).equals(read_scored(path, since=middle))  # naive means UTC
    assert read_scored(path, model_version="v2").empty


def test_prediction_ids_are_uuid7_hex_in_time_order() -> None:
    """Version 7 (RFC 9562): unique, and later ids sort after earlier ones, so the log's primary
    key grows at its end instead of rewriting pages all over its B-tree."""
    import time
    import uuid

    from tabular_mlops.serving.outputs import new_ids

    before_ms = time.time_ns() // 1_000_000
    ids = new_ids(500)
    time.sleep(0.002)
    later = new_ids(500)
    parsed = [uuid.UUID(text) for text in ids]
    assert all(value.version == 7 and value.variant == uuid.RFC_4122 and value.hex == text for value, text in zip(parsed, ids))
    assert len(set(ids + later)) == 1000
    assert max(ids) < min(later)
    assert before_ms <= int(ids[0][:12], 16) <= time.time_ns() // 1_000_000  # the first 48 bits: Unix milliseconds


def test_erase_deletes_a_persons_predictions_feedback_and_pseudonyms_and_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    log = PredictionLog(path)
    log.register_model("v1", "Status", CONTRACT)
    person, other = "a1" * 32, "b2" * 32  # pseudonyms (64 hex digits), as the service makes them
    output = {"probability": 0.5, "decision": "bad", "unseen_categories": []}
    # Enough rows for several pages, so deleted cells sit among kept ones.
    for request in range(50):
        ids = [f"p{request:03d}r{row:02d}" for row in range(20)]
        subjects = [{"Email": person if request % 10 == 3 and row < 2 else other, "Name": f"{request:03d}{row:02d}" * 8}
                    for row in range(20)]
        log.log("v1", ids, [{"Income": 100 + row} for row in range(20)], [output] * 20, subjects)
    log.feedback("p013r01", "good")
    log.feedback("p014r01", "bad")
    found = log.predictions_of(person)
    assert found == [f"p{request:03d}r{row:02d}" for request in (3, 13, 23, 33, 43) for row in (0, 1)]
    files = lambda: b"".join(item.read_bytes() for item in tmp_path.iterdir())  # noqa: E731 - main, -wal and -shm
    assert person.encode() in files()

    assert log.erase(person) == 10
    assert log.predictions_of(person) == [] and len(log.predictions_of(other)) == 990
    table = read_scored(path)
    assert len(table) == 990 and not table["prediction_id"].isin(found).any()
    assert table.set_index("prediction_id").loc["p014r01", "Status"] == "bad"  # other people's feedback stays
    assert (tmp_path / "log.sqlite-wal").stat().st_size == 0  # checkpointed and truncated
    leftover = files()
    assert person.encode() not in leftover and not any(prediction_id.encode() in leftover for prediction_id in found)
    assert "03300" * 8 not in leftover.decode("latin-1")  # the erased rows' other pseudonyms are gone too
    assert log.erase(person) == 0  # nobody left: not an error
    log.close()
