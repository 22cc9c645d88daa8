"""Bundle: copy the gated model, what serving it needs and the explanations' background into models/bundle/
(the deployable artifact), with the model compiled to ONNX when it compiles and matches scikit-learn on the test split."""
from __future__ import annotations

import joblib

from tabular_mlops.compiled.compile import compiled_for_bundle
from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.tables import read_table
from tabular_mlops.deployment.bundle import BACKGROUND_FILE, bundle_manifest, compiled_section, write_bundle
from tabular_mlops.errors import run_stage
from tabular_mlops.explanations.background import background_rows
from tabular_mlops.files import read_json, sha256_of

MODEL = "models/model.joblib"
METADATA = "models/model.json"
EVALUATION = "metrics/evaluate/metrics.json"
GATES = "metrics/gates.json"
BUNDLE = "models/bundle"
TRAIN = "data/prepared/train.parquet"  # the explanations' background: a seeded sample of its rows
TEST = "data/prepared/test.parquet"  # the rows the compiled model is checked on against scikit-learn


def main() -> None:
    params = load_params()
    metadata, contract, evaluation = read_json(METADATA), read_contract(params.data.contract), read_json(EVALUATION)
    background = background_rows(read_table(TRAIN), metadata["input_columns"], params.seed, personal=contract.personal)
    problem = "multiclass" if metadata.get("classes") else metadata["task"]
    compiled, checked = compiled_for_bundle(joblib.load(MODEL), problem, read_table(TEST)[metadata["input_columns"]],
                                            evaluation.get("threshold"), sha256_of(MODEL))
    if compiled is None:
        print(f"bundle: the model is served by scikit-learn, not compiled: {checked['reason']}")
    scorecard = params.scorecard.model_dump(exclude={"enabled"}) if params.scorecard.enabled and problem == "classification" else None
    manifest = bundle_manifest(metadata, contract, evaluation, read_json(GATES), sha256_of(MODEL),
                               {"file": BACKGROUND_FILE, "rows": len(background), "seed": params.seed},
                               compiled_section(compiled, checked), scorecard)
    write_bundle(BUNDLE, MODEL, manifest, background, compiled)


if __name__ == "__main__":
    run_stage(main)
