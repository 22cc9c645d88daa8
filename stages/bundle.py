"""Bundle: copy the gated model, what serving it needs and the explanations' background into models/bundle/ (the deployable artifact)."""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.tables import read_table
from tabular_mlops.deployment.bundle import BACKGROUND_FILE, bundle_manifest, write_bundle
from tabular_mlops.errors import run_stage
from tabular_mlops.explanations.background import background_rows
from tabular_mlops.files import read_json, sha256_of

MODEL = "models/model.joblib"
METADATA = "models/model.json"
EVALUATION = "metrics/evaluate/metrics.json"
GATES = "metrics/gates.json"
BUNDLE = "models/bundle"
TRAIN = "data/prepared/train.parquet"  # the explanations' background: a seeded sample of its rows


def main() -> None:
    params = load_params()
    metadata, contract = read_json(METADATA), read_contract(params.data.contract)
    background = background_rows(read_table(TRAIN), metadata["input_columns"], params.seed, personal=contract.personal)
    manifest = bundle_manifest(metadata, contract, read_json(EVALUATION), read_json(GATES), sha256_of(MODEL),
                               {"file": BACKGROUND_FILE, "rows": len(background), "seed": params.seed})
    write_bundle(BUNDLE, MODEL, manifest, background)


if __name__ == "__main__":
    run_stage(main)
