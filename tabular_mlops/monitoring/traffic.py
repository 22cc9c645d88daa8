"""`tabular-mlops demo-traffic`: a changed world arriving through the service, outcomes included.

The walkthrough of the whole loop (docs/tutorials/close-the-loop.md) needs traffic the model has
not seen, whose outcomes come back, and where retraining can help. The rows are:

- drawn from the training split with `synth` (whole rows resampled, numbers jittered by 5 %), so
  no test row is copied into what may later be trained on, and the comparison of champion and
  challenger on the test split stays fair to both;
- shifted as `demo-drift` shifts (monitoring.shift), but drawn without replacement: the category
  the model is least sure of weighs 15 times, one numeric input moves, so the monitor sees the
  population move;
- given a changed outcome in that category: the positive class with probability CHANGED_RATE, a
  world the champion never learnt (binary classification only).

Each chunk is scored through the service (POST /predict/batch, as a client would), then every
outcome is posted to /feedback, as returned labels would be.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from tabular_mlops.config.params import Params
from tabular_mlops.data.contract import Contract, read_contract
from tabular_mlops.data.synth import synth_table
from tabular_mlops.data.tables import read_table, write_parquet
from tabular_mlops.errors import StageError
from tabular_mlops.monitoring.demo import REFERENCE, answers_table, post_json, request_columns, score_through_service
from tabular_mlops.monitoring.reference import Reference, read_reference
from tabular_mlops.monitoring.shift import moved, plan_shift, shift_weights

CHANGED_RATE = 0.9  # the positive share of the changed category's rows
DRAWN_PER_ROW = 4
TRAIN_SPLIT = "data/prepared/train.parquet"
CHUNK_ROWS = 1000  # rows per /predict/batch request (serve.max_rows is 10,000 by default)


def run_traffic(params: Params, url: str, rows: int, seed: int, output: str, api_key: str | None = None) -> Iterator[str]:
    """Make the changed world, send it through the service with its outcomes, write the answers to
    `output` (Parquet); the lines to print, the change first (before the requests go out)."""
    if not output.endswith(".parquet"):
        raise StageError(f"--output must be a .parquet file; got '{output}'")
    reference = read_reference(REFERENCE)
    batch, change = changed_world(read_table(TRAIN_SPLIT), read_contract(params.data.contract), reference, rows, seed)
    yield change
    scored, since, until = send_with_outcomes(url, batch, request_columns(reference), params.data.target, api_key)
    write_parquet(output, scored)
    yield f"scored {len(scored)} rows through {url} and fed back their outcomes; wrote {output}"
    yield f"window: --since {since} --until {until}"


def changed_world(train: pd.DataFrame, contract: Contract, reference: Reference, rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    """`rows` new labelled rows and a line describing the change."""
    profile = reference.profile
    if profile["problem"] != "classification":
        raise StageError(f"demo-traffic: the changed outcome is defined for binary classification; this model does {profile['problem']}")
    target, positive = profile["target"], profile["positive_class"]
    shift = plan_shift(reference)
    if shift.category is None:
        raise StageError("demo-traffic: the changed outcome needs a categorical input with two or more categories; the model has none")
    # Drawn without replacement from four times as many synthetic rows: a resample with
    # replacement would repeat rows, and prepare keeps one of each.
    drawn = synth_table(train, contract, DRAWN_PER_ROW * rows, seed)
    weights = shift_weights(drawn, shift)
    chosen = np.random.default_rng(seed).choice(len(drawn), size=rows, replace=False, p=weights / weights.sum())
    batch = moved(drawn.iloc[np.sort(chosen)].reset_index(drop=True), shift, drawn[shift.numeric].dtype if shift.numeric else None)
    column, category = shift.category
    changed = (batch[column].astype("string") == category).fillna(False).to_numpy()
    negative = next(label for label in contract.columns[target].categories if label != positive)
    draws = np.random.default_rng([seed, 1]).random(len(batch)) < CHANGED_RATE
    batch[target] = batch[target].astype("object").where(~changed, np.where(draws, positive, negative))
    was = float((train[target].astype("string")[train[column].astype("string") == category] == positive).mean())
    now = float((batch.loc[changed, target] == positive).mean()) if changed.any() else float("nan")
    return batch, (f"changed: {shift.describe()}; the outcome of {column} = {category} rows is {positive} "
                   f"in {now:.0%} of them (training split: {was:.0%})")


def send_with_outcomes(url: str, batch: pd.DataFrame, columns: list[str], target: str,
                       api_key: str | None = None) -> tuple[pd.DataFrame, str, str]:
    """Score `batch` through the service and feed every outcome back; (the scored table, since, until)
    where [since, until) is the window of the prediction log that holds these rows (UTC, ISO 8601)."""
    since = _now()
    answers = []
    for start in range(0, len(batch), CHUNK_ROWS):
        answers.extend(score_through_service(url, batch[columns].iloc[start:start + CHUNK_ROWS], api_key))
    for answer, outcome in zip(answers, batch[target].tolist()):
        post_json(url, "/feedback", {"prediction_id": answer["prediction_id"], "outcome": outcome}, api_key, timeout=30)
    until = _now()
    scored = pd.concat([batch[columns].reset_index(drop=True), answers_table(answers)], axis=1)
    return scored.assign(**{target: batch[target].to_numpy()}), since, until


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
