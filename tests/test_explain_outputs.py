"""Explanations outside the service: `tabular-mlops score --explain`, evaluate's explanations.json, the model card, personal columns."""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pandas as pd
import pytest

from tabular_mlops.config.params import load_params
from tabular_mlops.data.contract import read_contract
from tabular_mlops.data.dataset import split_inputs_target
from tabular_mlops.deployment.artifact import load_bundle
from tabular_mlops.deployment.batch import score_file
from tabular_mlops.deployment.explain import explanations, reason_text
from tabular_mlops.evaluation.explanations import global_explanations
from tabular_mlops.errors import StageError
from tabular_mlops.explanations.background import background_rows
from tabular_mlops.reporting.model_card import explanation_lines
from tests.dvc_repo import environment



def test_background_is_a_seeded_sample_of_the_input_columns_with_personal_values_missing() -> None:
    train = pd.DataFrame({"Income": range(400), "Job": ["a", "b"] * 200, "Email": ["x@y"] * 400, "Status": ["good"] * 400})
    first = background_rows(train, ["Income", "Job", "Email"], 7, personal=["Email"])
    assert first.equals(background_rows(train, ["Income", "Job", "Email"], 7, personal=["Email"]))
    assert list(first.columns) == ["Income", "Job", "Email"] and len(first) == 150 and first["Email"].isna().all()
    assert first["Income"].is_monotonic_increasing and not first.equals(background_rows(train, ["Income", "Job", "Email"], 8))
    assert len(background_rows(train.head(20), ["Income"], 7)) == 20
    with pytest.raises(StageError, match="'Age'"):
        background_rows(train, ["Income", "Age"], 7)


def test_reason_text_names_each_column_value_and_signed_contribution() -> None:
    codes = [{"column": "Income", "value": 80, "contribution": 0.412}, {"column": "Job", "value": None, "contribution": 0.05}]
    assert reason_text(codes) == "Income=80 (+0.412); Job= (+0.05)"
    assert reason_text(None) == reason_text([]) == ""


def test_model_card_explanations_name_the_output_space_or_why_they_are_missing() -> None:
    explained = {"output_space": "log_odds", "rows": 200, "columns": [{"column": f"c{i}", "mean_abs_contribution": 1 / (i + 1)} for i in range(12)]}
    lines = explanation_lines(explained)
    assert lines[1] == "## Explanations (SHAP, mean |contribution|, top 10)"
    assert "`log_odds`" in lines[3] and "200 test rows" in lines[3]
    assert sum(line.startswith("| c") and not line.startswith("| column") for line in lines) == 10 and "| c0 | 1.0000 |" in lines
    assert explanation_lines({"skipped": "multiclass"})[-1].startswith("Not computed: explanations cover binary")
    assert "fairness-mitigated" in explanation_lines({"skipped": "mitigated"})[-1]


@pytest.mark.slow
def test_score_explain_adds_contributions_that_add_up_and_reason_codes_for_refusals(small_repo: Path, tmp_path: Path) -> None:
    source = tmp_path / "rows.csv"
    pd.read_parquet(small_repo / "data/prepared/test.parquet").head(40).to_csv(source, index=False)
    command = [sys.executable, "-m", "tabular_mlops", "score", str(source), "--output", str(tmp_path / "explained.csv"),
               "--model", str(small_repo / "models/bundle"), "--explain", "--quiet"]
    result = subprocess.run(command, cwd=small_repo, env=environment(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    explained = pd.read_csv(tmp_path / "explained.csv", keep_default_na=False, na_values=[""])
    bundle = load_bundle(small_repo / "models/bundle")
    plain = tmp_path / "plain.csv"
    score_file(bundle, source, plain, tmp_path / "plain.rejects.csv")
    plain_table = pd.read_csv(plain)
    # The scored columns are unchanged; the explanation columns come after them.
    assert list(explained.columns[:len(plain_table.columns)]) == list(plain_table.columns)
    contributions = [f"contribution:{column}" for column in bundle.input_columns]
    assert list(explained.columns[len(plain_table.columns):]) == \
        ["explanation_output_space", "explanation_base_value", *contributions, "reason_codes"]
    assert (explained["explanation_output_space"] == "log_odds").all()
    total = explained["explanation_base_value"] + explained[contributions].sum(axis=1)
    logit = explained["probability"].map(lambda p: math.log(p / (1 - p)))
    assert (total - logit).abs().max() < 1e-9
    positive = bundle.manifest["model"]["positive_class"]
    refused = explained["decision"] == positive
    assert refused.any() and (~refused).any()
    assert explained.loc[~refused, "reason_codes"].isna().all()
    for _, row in explained[refused].iterrows():
        codes = row["reason_codes"].split("; ")
        assert 0 < len(codes) <= 4
        for code in codes:
            column, rest = code.split("=", 1)
            contribution = float(rest.rsplit(" (", 1)[1].rstrip(")"))
            assert contribution > 0 and contribution == pytest.approx(row[f"contribution:{column}"], abs=1e-5)


@pytest.mark.slow
def test_explanations_json_is_deterministic_and_matches_the_stages_file(small_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(small_repo)
    params = load_params()
    contract = read_contract(params.data.contract)
    model = joblib.load("models/model.joblib")
    train = split_inputs_target(pd.read_parquet("data/prepared/train.parquet"), params.data)[0]
    test_inputs, test_target = split_inputs_target(pd.read_parquet("data/prepared/test.parquet"), params.data)
    first = global_explanations(params, contract, model, train, test_inputs, test_target)
    second = global_explanations(params, contract, model, train, test_inputs, test_target)
    assert first == second
    written = json.loads(Path("metrics/explain/explanations.json").read_text())
    assert written == json.loads(json.dumps(first))  # another process, the same numbers
    assert written["output_space"] == "log_odds" and written["rows"] == min(len(test_target), params.evaluate.explain_rows)
    means = [row["mean_abs_contribution"] for row in written["columns"]]
    assert means == sorted(means, reverse=True) and all(round(value, 6) == value for value in means)
    # The bundle's background is the same seeded sample of training rows.
    background = pd.read_parquet("models/bundle/background.parquet")
    expected = background_rows(train, list(background.columns), params.seed)
    pd.testing.assert_frame_equal(background, expected)
    manifest = json.loads(Path("models/bundle/manifest.json").read_text())
    assert manifest["background"] == {"file": "background.parquet", "rows": len(background), "seed": params.seed}


@pytest.mark.slow
def test_the_model_card_shows_explanations_right_after_permutation_importance(small_repo: Path) -> None:
    card = (small_repo / "metrics/model_card.md").read_text()
    sections = [line for line in card.splitlines() if line.startswith("## ")]
    at = next(i for i, line in enumerate(sections) if line.startswith("## Permutation importance"))
    assert sections[at + 1] == "## Explanations (SHAP, mean |contribution|, top 10)"
    assert "Output space: `log_odds`" in card
    declared = (small_repo / "metrics/explain/dvc.yaml").read_text()
    assert "plots/custom/explanations.json" in declared


@pytest.mark.slow
def test_personal_input_columns_are_never_named_nor_stored_in_the_background(small_repo: Path, tmp_path: Path) -> None:
    bundle_folder = tmp_path / "bundle"
    shutil.copytree(small_repo / "models/bundle", bundle_folder)
    manifest = json.loads((bundle_folder / "manifest.json").read_text())
    manifest["contract"]["columns"]["Age"].update(personal=True, model_input=True)
    (bundle_folder / "manifest.json").write_text(json.dumps(manifest))
    bundle = load_bundle(bundle_folder)
    rows = pd.read_parquet(small_repo / "data/prepared/test.parquet").head(30).reset_index(drop=True)
    answers = explanations(bundle, rows, bundle.predict(rows)["decision"].tolist())
    assert any("reason_codes" in answer for answer in answers)
    for answer in answers:
        assert "Age" not in {entry["column"] for entry in answer["contributions"]}
        assert "Age" not in {code["column"] for code in answer.get("reason_codes", [])}
    train = pd.read_parquet(small_repo / "data/prepared/train.parquet")
    assert background_rows(train, bundle.input_columns, 0, personal=["Age"])["Age"].isna().all()


@pytest.mark.slow
def test_a_mitigated_model_scores_as_before_and_refuses_explanations_clearly(small_repo_copy: Path, tmp_path: Path) -> None:
    import httpx

    from tests import service as svc
    from tests.dvc_repo import dvc, update_params
    from tests.test_service import as_records

    def mitigate(params: dict) -> None:
        params["train"]["model"] = "logistic_regression"
        params["train"]["fairness"]["mitigation"] = "exponentiated_gradient"

    update_params(small_repo_copy, mitigate)
    result = dvc(small_repo_copy, "repro")
    assert result.returncode == 0, result.output
    assert json.loads((small_repo_copy / "metrics/explain/explanations.json").read_text()) == {"skipped": "mitigated"}
    assert "Not computed: explanations are not available for a fairness-mitigated model." in \
        (small_repo_copy / "metrics/model_card.md").read_text()
    source = tmp_path / "rows.csv"
    rows = pd.read_parquet(small_repo_copy / "data/prepared/test.parquet").head(5)
    rows.to_csv(source, index=False)
    command = [sys.executable, "-m", "tabular_mlops", "score", str(source), "--output", str(tmp_path / "out.csv"),
               "--model", str(small_repo_copy / "models/bundle"), "--explain", "--quiet"]
    refused = subprocess.run(command, cwd=small_repo_copy, env=environment(), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "explanations are not available for a fairness-mitigated model" in refused.stderr
    assert not (tmp_path / "out.csv").exists()
    folder = svc.working_folder(tmp_path / "service", small_repo_copy / "params.yaml")
    running = svc.start(small_repo_copy / "models/bundle", folder)
    try:
        record = as_records(rows.reset_index(drop=True))[0]
        plain = httpx.post(f"{running.url}/predict", json=record)
        assert plain.status_code == 200 and "explanation" not in plain.json()
        explained = httpx.post(f"{running.url}/predict?explain=true", json=record)
        assert explained.status_code == 422
        (error,) = explained.json()["errors"]
        assert error["field"] == "explain" and "fairness-mitigated" in error["rule"]
    finally:
        assert running.stop() in svc.STOPPED, running.errors
    assert "Traceback" not in running.errors
