"""Cross-validate one model family for the leaderboard (DVC runs it once per family: `foreach`).

The family's pipeline (unfitted preprocessing + estimator) is cross-validated on the training
split and, for the leaderboard's test column, refitted on it and scored on the test split.
A training split of more than leaderboard.sample_rows rows is replaced by the same seeded sample
for every family (tabular_mlops/models/budget.py), and a family over its
leaderboard.max_rows_per_family limit is skipped with the reason. A family whose CV fails is
recorded as failed with the reason, not raised. A family that cannot do data.task
(leaderboard.families lists both tasks' families) writes a result marked not applicable; the
leaderboard skips both. Progress (each fold, time elapsed and left) goes to stderr.

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
    from tabular_mlops.engine.cluster import folds_on_cluster
    from tabular_mlops.models.assessment import assess_family, log_line
    from tabular_mlops.models.budget import family_budget
    from tabular_mlops.models.pipeline import family_pipeline
    from tabular_mlops.progress import Progress

    task, spec = params.data.problem, params.leaderboard
    inputs, target = split_inputs_target(read_table(TRAIN), params.data)
    inputs, target, sampled, reason = family_budget(family, inputs, target, params.data.task == "classification", spec, params.seed)
    if sampled:
        drawn = sampled["screened_on"]
        print(f"{family}: screening on {drawn['rows']:,} of {drawn['of']:,} training rows (leaderboard.sample_rows; {drawn['sample']})", file=sys.stderr)
    if reason is not None:
        write_json(RESULT.format(family=family), {"family": family, "status": "skipped", "reason": reason, **sampled})
        print(f"{family}: {reason}", file=sys.stderr)
        return
    pipeline = family_pipeline(params, read_contract(params.data.contract), family)
    test = split_inputs_target(read_table(TEST), params.data)
    progress = Progress(f"cross_validate {family}", spec.cv_folds + 1)
    with folds_on_cluster(params.engine):
        result, fit_seconds = assess_family(task, family, pipeline, (inputs, target), test, spec.cv_folds, params.seed, progress.step)
    result.update(sampled)
    # A failed family is recorded, not raised: the leaderboard ranks the others and lists it apart.
    write_json(RESULT.format(family=family), result)
    print(log_line(task, result, fit_seconds), file=sys.stderr if result["status"] != "ok" else sys.stdout)


if __name__ == "__main__":
    run_stage(main)
