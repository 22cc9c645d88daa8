"""Cross-validate one model family for the leaderboard (DVC runs it once per family: `foreach`).

The family's pipeline (unfitted preprocessing + estimator) is cross-validated on the training
split and, for the leaderboard's test column, refitted on all of it and scored on the test split.
A family whose CV fails is recorded as failed with the reason, not raised. A family that cannot
do data.task (leaderboard.families lists both tasks' families) writes a result marked not
applicable; the leaderboard skips both.

    python -m stages.cross_validate FAMILY
"""
from __future__ import annotations

import sys

from tabular_mlops.config.params import Params, load_params
from tabular_mlops.errors import StageError, run_stage
from tabular_mlops.files import write_json

TRAIN = "data/prepared/train.parquet"
TEST = "data/prepared/test.parquet"
RESULT = "metrics/leaderboard/{family}.json"


def main() -> None:
    if len(sys.argv) != 2:
        raise StageError("usage: python -m stages.cross_validate FAMILY")
    family, params = sys.argv[1], load_params()
    if family not in params.leaderboard.families:
        raise StageError(f"params.yaml: '{family}' is not in leaderboard.families ({', '.join(params.leaderboard.families)})")
    if family not in params.task_families:
        write_json(RESULT.format(family=family), {"family": family, "not_applicable_to": params.data.task})
        print(f"{family}: not applicable to {params.data.task}; the leaderboard skips it")
        return
    cross_validate(params, family)


def cross_validate(params: Params, family: str) -> None:
    # Imported here, so a family that does not apply to the task skips pandas and scikit-learn.
    from tabular_mlops.data.contract import read_contract
    from tabular_mlops.data.dataset import split_inputs_target
    from tabular_mlops.data.tables import read_table
    from tabular_mlops.evaluation.metrics import PRIMARY_METRIC
    from tabular_mlops.models.assessment import assess_family
    from tabular_mlops.models.pipeline import family_pipeline

    task = params.data.problem
    pipeline = family_pipeline(params, read_contract(params.data.contract), family)
    train = split_inputs_target(read_table(TRAIN), params.data)
    test = split_inputs_target(read_table(TEST), params.data)
    result, fit_seconds = assess_family(task, family, pipeline, train, test, params.leaderboard.cv_folds, params.seed)
    # A failed family is recorded, not raised: the leaderboard ranks the others and lists it apart.
    write_json(RESULT.format(family=family), result)
    if result["status"] != "ok":
        print(f"{family}: FAILED, not ranked: {result['reason']}", file=sys.stderr)
        return
    # Wall time differs between runs, so it is reported here, not in the committed files.
    metric = PRIMARY_METRIC[task]
    cv, test_score = result["cv"], result["test"][metric]
    print(f"{family}: CV {metric} {cv[metric + '_mean']:.4f} ± {cv[metric + '_std']:.4f}, "
          f"test {test_score:.4f}, fit {fit_seconds:.2f} s")


if __name__ == "__main__":
    run_stage(main)
