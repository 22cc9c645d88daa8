"""Cross-validate one model family for the leaderboard (DVC runs it once per family: `foreach`).

The family's pipeline (unfitted preprocessing + estimator) is cross-validated on the training
split and, for the leaderboard's test column, refitted on all of it and scored on the test split.

    python -m stages.cross_validate FAMILY
"""
from __future__ import annotations

import sys
import time

from sklearn.pipeline import Pipeline

from stages.contract import read_contract
from stages.dataset import split_inputs_target
from stages.errors import StageError, run_stage
from stages.files import write_json
from stages.models import build_estimator
from stages.params import Params, load_params
from stages.preprocessing import preprocessor_for
from stages.scoring import PRIMARY_METRIC, cross_validation, predict, rounded, score
from stages.tables import read_table

TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
RESULT = "metrics/leaderboard/{family}.json"


def family_pipeline(params: Params, contract, family: str) -> Pipeline:
    """Unfitted: cloning it per fold keeps preprocessing inside the folds."""
    spec = params.train.family_params(family)
    estimator = build_estimator(params.data.task, family, spec, params.seed)
    preprocessor = preprocessor_for(contract, params.data.drop_columns, params.featurize)
    return Pipeline([("preprocess", preprocessor), ("model", estimator)])


def main() -> None:
    if len(sys.argv) != 2:
        raise StageError("usage: python -m stages.cross_validate FAMILY")
    family, params = sys.argv[1], load_params()
    if family not in params.leaderboard.families:
        raise StageError(f"params.yaml: '{family}' is not in leaderboard.families ({', '.join(params.leaderboard.families)})")
    task = params.data.task
    pipeline = family_pipeline(params, read_contract(params.data.contract), family)
    train_inputs, train_target = split_inputs_target(read_table(TRAIN), params.data)
    test_inputs, test_target = split_inputs_target(read_table(TEST), params.data)
    cv = cross_validation(task, pipeline, train_inputs, train_target, params.leaderboard.cv_folds, params.seed)
    started = time.perf_counter()
    pipeline.fit(train_inputs, train_target)
    fit_seconds = time.perf_counter() - started
    test = score(task, test_target, predict(task, pipeline, test_inputs))
    write_json(RESULT.format(family=family), {"family": family, "cv": rounded(cv), "test": rounded(test)})
    # Wall time differs between runs, so it is reported here, not in the committed files.
    metric = PRIMARY_METRIC[task]
    print(f"{family}: CV {metric} {cv[metric + '_mean']:.4f} ± {cv[metric + '_std']:.4f}, "
          f"test {test[metric]:.4f}, fit {fit_seconds:.2f} s")


if __name__ == "__main__":
    run_stage(main)
