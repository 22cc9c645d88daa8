"""The deployable bundle: the trained model and what a service needs to call it, in one folder.

The `bundle` stage writes `models/bundle/` once the gates passed: `model.joblib` (a copy of the
trained pipeline) and `manifest.json` (its sha256, the model's metadata, the decision threshold,
the test metrics and the data contract that requests are checked against) and `background.parquet`
(a seeded sample of training rows, model inputs only, that explanations start from), and
`model.onnx`, the same pipeline compiled (tabular_mlops/compiled), when it compiles and matches
scikit-learn on the test split; the manifest's `compiled` says which, and why not. dvc.yaml declares
the folder as an artifact, so `dvc artifacts get` fetches any committed version of it.

The sha256 lives here rather than in models/model.json: the model's bytes may differ in the
last bit between CPUs (README, "Same numbers on every machine"), and model.json feeds the
gate stage, whose outputs must not.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from tabular_mlops.data.contract import Contract
from tabular_mlops.errors import StageError
from tabular_mlops.files import write_json

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
BACKGROUND_FILE = "background.parquet"
COMPILED_FILE = "model.onnx"


def bundle_manifest(metadata: dict, contract: Contract, evaluation: dict, gates: dict, model_sha256: str,
                    background: dict | None = None, compiled: dict | None = None, scorecard: dict | None = None) -> dict:
    """What the service reads besides the pickle; refuses a model whose gates did not pass."""
    if not gates.get("passed"):
        raise StageError("metrics/gates.json: the gates did not pass, so the model is not bundled for deployment")
    return {
        "model_sha256": model_sha256,
        "model": metadata,
        "threshold": evaluation.get("threshold"),  # binary classification only
        "metrics": {"test": evaluation["test"]},
        "contract": contract.model_dump(mode="json", exclude_none=True),
        # {file, rows, seed}: what Bundle.explainer explains against
        **({"background": background} if background is not None else {}),
        # {file, sha256, verification} or {file: null, reason}: what Bundle.compiled answers with
        **({"compiled": compiled} if compiled is not None else {}),
        # {points_to_double_odds, base_score, base_odds}: binary models' points (deployment/scorecard.py)
        **({"scorecard": scorecard} if scorecard is not None else {}),
    }


def compiled_section(compiled: bytes | None, checked: dict) -> dict:
    """The manifest's `compiled`: the file and its sha256 beside the verification, or the reason there is none."""
    import hashlib

    if compiled is None:
        return checked
    return {"file": COMPILED_FILE, "sha256": hashlib.sha256(compiled).hexdigest(), **checked}


def write_bundle(directory: str | Path, model_path: str | Path, manifest: dict, background: pd.DataFrame | None = None,
                 compiled: bytes | None = None) -> None:
    """Build the folder beside its destination, then rename it into place: a crash leaves no half bundle."""
    destination = Path(directory)
    destination.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=destination.parent, prefix=f".{destination.name}."))
    try:
        shutil.copyfile(model_path, building / MODEL_FILE)
        if background is not None:
            background.to_parquet(building / BACKGROUND_FILE, index=False)
        if compiled is not None:
            (building / COMPILED_FILE).write_bytes(compiled)
        write_json(building / MANIFEST_FILE, manifest)
        os.chmod(building, 0o755)
        shutil.rmtree(destination, ignore_errors=True)
        os.replace(building, destination)
    finally:
        shutil.rmtree(building, ignore_errors=True)
