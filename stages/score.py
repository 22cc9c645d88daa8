"""Score: the params-named table through the bundle, in chunks; bad rows to the rejects file, counts to metrics."""
from __future__ import annotations

import sys

from tabular_mlops.config.params import load_params
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.batch import score_file
from tabular_mlops.engine.cluster import engine_client
from tabular_mlops.errors import run_stage
from tabular_mlops.files import write_json

BUNDLE = "models/bundle"
METRICS = "metrics/score.json"


def main() -> None:
    everything = load_params()
    params = everything.score
    bundle = load_bundle(BUNDLE)
    for warning in bundle.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with engine_client(everything.engine) as client:
        counts = score_file(bundle, params.input, params.output, params.rejects, params.chunk_rows, client=client,
                            key_file=everything.serve.key_file)
    write_json(METRICS, counts.metrics())
    print(counts.line())


if __name__ == "__main__":
    run_stage(main)
