"""The deployable bundle: written by the pipeline, loaded only when its bytes are the ones recorded."""
from __future__ import annotations

import hashlib
import json
import shutil
from importlib.metadata import version
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from tabular_mlops.compiled.compile import BOUND
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.errors import StageError


@pytest.fixture
def bundle_copy(small_repo: Path, tmp_path: Path) -> Path:
    destination = tmp_path / "bundle"
    shutil.copytree(small_repo / "models/bundle", destination)
    return destination


@pytest.mark.slow
def test_the_bundle_scores_like_the_trained_model_at_the_evaluated_threshold(small_repo: Path) -> None:
    bundle = load_bundle(small_repo / "models/bundle", small_repo / "dvc.lock")
    test = pd.read_parquet(small_repo / "data/prepared/test.parquet")
    model = joblib.load(small_repo / "models/model.joblib")
    expected = model.predict_proba(test.drop(columns=["Status"]))[:, 1]
    threshold = json.loads((small_repo / "metrics/evaluate/metrics.json").read_text())["threshold"]
    assert bundle.threshold == threshold
    # the pickled pipeline exactly; the compiled model within the bound it was verified to at bundle time
    pickled = load_bundle(small_repo / "models/bundle", runtime="scikit-learn").predict(test)
    np.testing.assert_array_equal(pickled["probability"].to_numpy(), expected)
    assert bundle.compiled is not None and bundle.runtime == {"path": "onnxruntime", "reason": None}
    output = bundle.predict(test)
    assert np.max(np.abs(output["probability"].to_numpy() - expected)) <= BOUND
    for decided in (pickled, output):
        assert list(decided["decision"]) == ["bad" if p >= threshold else "good" for p in expected]
    assert bundle.version == hashlib.sha256((small_repo / "models/model.joblib").read_bytes()).hexdigest()[:12]
    assert bundle.input_columns == [name for name in test.columns if name not in ("Status", "Marital")]  # Marital: protected
    assert bundle.contract.target == "Status" and bundle.warnings == ()


@pytest.mark.slow
def test_a_category_the_model_never_saw_is_flagged_per_row(small_repo: Path) -> None:
    bundle = load_bundle(small_repo / "models/bundle")
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(3).reset_index(drop=True)
    rows.loc[1, "Home"] = "boat"
    rows.loc[2, ["Home", "Job"]] = [None, "astronaut"]
    assert bundle.unseen_categories(rows) == [[], ["Home"], ["Job"]]
    assert len(bundle.predict(rows)) == 3  # still scored: the encoder maps an unseen category to zeros


@pytest.mark.slow
def test_a_tampered_model_is_refused_before_it_is_unpickled(bundle_copy: Path) -> None:
    model = bundle_copy / "model.joblib"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(StageError, match=r"model\.joblib: sha256 \w{12} does not match \w{12} in .*manifest\.json.*refusing"):
        load_bundle(bundle_copy)


@pytest.mark.slow
def test_a_compiled_model_beside_another_pickle_is_refused_naming_it(bundle_copy: Path) -> None:
    """A pickle replaced with its manifest's sha256 updated, but model.onnx left as it was: the graph
    records the pickle it was compiled from, so it never answers for another model."""
    import joblib

    model = joblib.load(bundle_copy / "model.joblib")
    model.steps[-1][1].coef_ = model.steps[-1][1].coef_ * 2
    joblib.dump(model, bundle_copy / "model.joblib")
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["model_sha256"] = hashlib.sha256((bundle_copy / "model.joblib").read_bytes()).hexdigest()
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(StageError, match=r"model\.onnx: compiled from another model \(\w{12}, not \w{12}\); refusing"):
        load_bundle(bundle_copy)
    assert load_bundle(bundle_copy, runtime="scikit-learn").compiled is None


@pytest.mark.slow
def test_a_bundle_that_is_not_the_model_dvc_lock_records_is_stale(small_repo: Path, bundle_copy: Path, tmp_path: Path) -> None:
    lock = yaml.safe_load((small_repo / "dvc.lock").read_text())
    for out in lock["stages"]["train"]["outs"]:
        if out["path"] == "models/model.joblib":
            out["md5"] = "0" * 32
    other_lock = tmp_path / "dvc.lock"
    other_lock.write_text(yaml.safe_dump(lock))
    with pytest.raises(StageError, match=r"stale: its md5 \w{12} is not the model .*dvc\.lock records \(000000000000\)"):
        load_bundle(bundle_copy, other_lock)


@pytest.mark.slow
def test_other_library_versions_are_a_warning_not_a_refusal(bundle_copy: Path) -> None:
    manifest = json.loads((bundle_copy / "manifest.json").read_text())
    manifest["model"]["libraries"]["scikit-learn"] = "0.24.2"
    (bundle_copy / "manifest.json").write_text(json.dumps(manifest))
    bundle = load_bundle(bundle_copy)
    installed = version("scikit-learn")
    assert bundle.warnings == (f"scikit-learn 0.24.2 trained the model but {installed} is installed: its predictions may differ",)


def test_a_folder_without_a_bundle_is_named(tmp_path: Path) -> None:
    with pytest.raises(StageError, match=rf"{tmp_path}: not a model bundle \(expected manifest.json and model.joblib\)"):
        load_bundle(tmp_path)
    (tmp_path / "manifest.json").write_text("[1, 2]")
    (tmp_path / "model.joblib").write_bytes(b"")
    with pytest.raises(StageError, match="manifest.json: not a bundle manifest"):
        load_bundle(tmp_path)
