"""How long a model takes to score: one row at a time (as the service answers), and a batch.

Timings vary from run to run and machine to machine, so they are printed, never written to a
versioned file.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

SINGLE_ROW_CALLS = 50
BATCH_ROWS = 1000
BATCH_REPEATS = 3


def latency(bundle, inputs: pd.DataFrame) -> dict[str, float]:
    """{"median_ms_per_row": median of SINGLE_ROW_CALLS one-row calls, "ms_per_1000_rows": the median
    of BATCH_REPEATS calls on 1,000 rows (the rows repeated when there are fewer)}. One call first warms up."""
    inputs = inputs[bundle.input_columns].reset_index(drop=True)
    bundle.predict(inputs.iloc[:1])
    single = [_milliseconds(bundle, inputs.iloc[[position % len(inputs)]]) for position in range(SINGLE_ROW_CALLS)]
    batch = inputs.iloc[np.arange(BATCH_ROWS) % len(inputs)]
    return {"median_ms_per_row": float(np.median(single)),
            "ms_per_1000_rows": float(np.median([_milliseconds(bundle, batch) for _ in range(BATCH_REPEATS)]))}


def _milliseconds(bundle, inputs: pd.DataFrame) -> float:
    start = time.perf_counter()
    bundle.predict(inputs)
    return (time.perf_counter() - start) * 1000
