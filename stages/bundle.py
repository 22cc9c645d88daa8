"""Bundle: copy the gated model and what serving it needs into models/bundle/ (the deployable artifact)."""
from __future__ import annotations

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.deployment.bundle import bundle_manifest, write_bundle
from tabular_mlops.errors import run_stage
from tabular_mlops.files import read_json, sha256_of

MODEL = "models/model.joblib"
METADATA = "models/model.json"
EVALUATION = "metrics/evaluate/metrics.json"
GATES = "metrics/gates.json"
BUNDLE = "models/bundle"


def main() -> None:
    params = load_params()
    manifest = bundle_manifest(read_json(METADATA), read_contract(params.data.contract), read_json(EVALUATION),
                               read_json(GATES), sha256_of(MODEL))
    write_bundle(BUNDLE, MODEL, manifest)


if __name__ == "__main__":
    run_stage(main)
