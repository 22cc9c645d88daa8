"""Reference: the profile the monitor compares batches with, written when the model is bundled.

Scores a seeded sample of the training split (the drift reference) and the labelled test split
with the bundle, checks calibration on the test split, and writes models/reference/.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.tables import read_table
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.errors import run_stage
from tabular_mlops.monitoring.reference import build_reference, write_reference

BUNDLE = "models/bundle"
TRAIN, TEST = "data/prepared/train.parquet", "data/prepared/test.parquet"
REFERENCE = "models/reference"


def main() -> None:
    params = load_params()
    bundle = load_bundle(BUNDLE)
    reference = build_reference(bundle, read_table(TRAIN), read_table(TEST), params.monitor.reference_rows, params.seed,
                                params.monitor.calibration)
    write_reference(REFERENCE, reference)


if __name__ == "__main__":
    run_stage(main)
