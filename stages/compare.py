"""Compare: the challenger (models/bundle) against the champion (promote.champion, a registered
version) on the same rows, the test split, and decide whether to promote it.

The decision is a recorded result, not a failure: "keep" exits 0 like "promote", and
`tabular-mlops promote` acts on metrics/compare.json. Latency varies from run to run, so no
versioned file holds it, and the stage does not measure it: `tabular-mlops compare` prints it.
"""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.tables import read_table
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.errors import run_stage
from tabular_mlops.files import read_json, write_json, write_json_folder, write_text
from tabular_mlops.promotion.compare import compare, load_champion
from tabular_mlops.promotion.report import markdown, summary_line
from tabular_mlops.reporting.headline import PROMOTION, promotion_rows

BUNDLE = "models/bundle"
GATES = "metrics/gates.json"
TRAIN, TEST = "data/prepared/train.parquet", "data/prepared/test.parquet"
DETAIL, TABLE = "metrics/compare.json", "metrics/compare.md"


def main() -> None:
    params = load_params()
    # Checked against its manifest; not against dvc.lock, which DVC writes as the stages finish:
    # the bundle is this stage's dependency, so DVC has it from the bundle stage.
    challenger = load_bundle(BUNDLE)
    version = params.promote.champion
    champion = None if version is None else load_champion(".", version)
    rows = read_table(TEST)
    training_target = read_table(TRAIN)[params.data.target]
    result = compare(params, rows, challenger, read_json(GATES), champion, version, training_target)
    write_json(DETAIL, result)
    write_text(TABLE, markdown(result))
    write_json_folder(PROMOTION, promotion_rows(result))
    print(summary_line(result))


if __name__ == "__main__":
    run_stage(main)
