"""Nested CV: the model choice (leaderboard or search) redone inside each CV fold of the training split.

With `evaluate.nested_cv` on, `nested_cv.*` is free of the selection bias that `cv.*` carries when
a choice was made; off (the default), the stage writes that it is off and costs nothing. It reads
what the choice reads (featurize, train, leaderboard), and nothing that evaluate writes.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.data.tables import read_table
from tabular_mlops.engine.cluster import folds_on_cluster
from tabular_mlops.errors import run_stage
from tabular_mlops.evaluation.nested import nested_cv_report
from tabular_mlops.models.scoring import rounded
from tabular_mlops.files import write_json

TRAIN = "data/prepared/train.parquet"
METRICS = "metrics/nested_cv/metrics.json"
FOLDS = "metrics/nested_cv/folds.json"


def main() -> None:
    params = load_params()
    if not params.evaluate.nested_cv:
        write_json(METRICS, {})
        write_json(FOLDS, {"enabled": False})
        return
    with folds_on_cluster(params.engine):
        summary, folds = nested_cv_report(params, read_contract(params.data.contract),
                                          *split_inputs_target(read_table(TRAIN), params.data))
    write_json(METRICS, {"nested_cv": rounded(summary)})
    write_json(FOLDS, folds)


if __name__ == "__main__":
    run_stage(main)
