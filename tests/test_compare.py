"""Champion and challenger on the same rows (tabular_mlops/promotion, stage compare, `tabular-mlops compare`).

The gain's interval is checked against a plain numpy resampling loop written here and against
DeLong's test for the difference of two correlated ROC-AUCs; the decision rule on hand-made
cases; the stage and the command end to end against a champion registered with real GTO tags.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference
from scipy.stats import norm, rankdata
from sklearn.metrics import brier_score_loss, roc_auc_score, root_mean_squared_error

from tabular_mlops.config.params import Gate
from tabular_mlops.promotion.bootstrap import paired_gain
from tabular_mlops.promotion.decision import decide
from tabular_mlops.promotion.fairness import gap_values
from tabular_mlops.promotion.metric import calibration, metric_function
from tabular_mlops.promotion.scores import Scores
from tests.dvc_repo import commit, dvc, environment, update_params

GTO = str(Path(sys.executable).parent / "gto")


def correlated_scores(seed: int, rows: int = 1000) -> tuple[np.ndarray, Scores, Scores]:
    """Two models sharing a latent signal, the second less noisy: correlated errors, as two versions of one model have."""
    generator = np.random.default_rng(seed)
    truth = (generator.random(rows) < 0.3).astype(int)
    signal = truth + generator.normal(size=rows)
    champion = signal + generator.normal(scale=1.0, size=rows)
    challenger = signal + generator.normal(scale=0.6, size=rows)
    return truth, Scores("classification", champion, None), Scores("classification", challenger, None)


def plain_paired_bootstrap(truth, champion, challenger, rounds, confidence, seed):
    """The docstring's recipe, spelt out: per round, each class's positions drawn with replacement."""
    generator = np.random.default_rng(seed)
    classes = [np.flatnonzero(truth == label) for label in sorted(set(truth.tolist()))]
    gains = []
    for _ in range(rounds):
        rows = np.concatenate([positions[generator.integers(0, len(positions), size=len(positions))] for positions in classes])
        gains.append(roc_auc_score(truth[rows], challenger[rows]) - roc_auc_score(truth[rows], champion[rows]))
    return np.quantile(gains, [(1 - confidence) / 2, (1 + confidence) / 2])


def delong_interval(truth, champion, challenger, confidence):
    """DeLong, DeLong & Clarke-Pearson (1988), with Sun & Xu's (2014) midrank form of the structural
    components: the normal interval of AUC(challenger) - AUC(champion)."""
    positive, negative = truth == 1, truth == 0
    m, n = positive.sum(), negative.sum()
    v10, v01, aucs = [], [], []
    for score in (champion, challenger):
        x, y = score[positive], score[negative]
        combined = rankdata(np.r_[x, y])
        v10.append((combined[:m] - rankdata(x)) / n)
        v01.append(1 - (combined[m:] - rankdata(y)) / m)
        aucs.append(v10[-1].mean())
    s = np.cov(np.array(v10)) / m + np.cov(np.array(v01)) / n
    difference, spread = aucs[1] - aucs[0], np.sqrt(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    z = norm.ppf((1 + confidence) / 2)
    return difference, difference - z * spread, difference + z * spread


def test_the_paired_interval_is_the_plain_resampling_loops_on_the_same_rows_and_seed() -> None:
    truth, champion, challenger = correlated_scores(seed=1, rows=400)
    result = paired_gain(metric_function("classification", "roc_auc"), "roc_auc", truth, champion, challenger,
                         rounds=300, confidence=0.9, seed=11)
    low, high = plain_paired_bootstrap(truth, champion.score, challenger.score, 300, 0.9, 11)
    assert result["estimate"] == pytest.approx(roc_auc_score(truth, challenger.score) - roc_auc_score(truth, champion.score), abs=1e-12)
    assert (result["low"], result["high"]) == pytest.approx((low, high), abs=1e-12)
    assert result["low"] < result["estimate"] < result["high"]


def test_the_paired_interval_agrees_with_delongs_interval_within_a_sixth_of_its_half_width() -> None:
    # DeLong's variance is the one of the AUC difference given the class counts, which the
    # stratified resampling keeps: the two 95% intervals should nearly coincide (measured: within 5%).
    truth, champion, challenger = correlated_scores(seed=2)
    result = paired_gain(metric_function("classification", "roc_auc"), "roc_auc", truth, champion, challenger,
                         rounds=2000, confidence=0.95, seed=3)
    difference, low, high = delong_interval(truth, champion.score, challenger.score, 0.95)
    tolerance = (high - low) / 2 / 6
    assert result["estimate"] == pytest.approx(difference, abs=1e-12)
    assert abs(result["low"] - low) < tolerance and abs(result["high"] - high) < tolerance, (result, low, high)
    assert low > 0 and result["low"] > 0  # the case is one where the challenger is better


def test_a_lower_is_better_metric_counts_a_smaller_error_as_a_positive_gain() -> None:
    generator = np.random.default_rng(0)
    truth = generator.normal(size=300)
    champion = Scores("regression", truth + generator.normal(scale=1.0, size=300), None)
    challenger = Scores("regression", truth + generator.normal(scale=0.5, size=300), None)
    result = paired_gain(metric_function("regression", "rmse"), "rmse", truth, champion, challenger, rounds=200, confidence=0.95, seed=0)
    expected = root_mean_squared_error(truth, champion.score) - root_mean_squared_error(truth, challenger.score)
    assert result["estimate"] == pytest.approx(expected, abs=1e-12) and result["low"] > 0


def test_calibration_figures_match_scikit_learn_and_a_hand_worked_ece() -> None:
    truth = np.array([0, 0, 1, 1, 1])
    probability = np.array([0.05, 0.15, 0.85, 0.95, 0.15])  # bins of 0.1: [0.0-0.1) 1 row, [0.1-0.2) 2, [0.8-0.9) 1, [0.9-1.0] 1
    figures = calibration(truth, Scores("classification", probability, None), bins=10)
    ece = (1 * 0.05 + 2 * abs(0.5 - 0.15) + 1 * 0.15 + 1 * 0.05) / 5
    assert figures["brier"] == pytest.approx(brier_score_loss(truth, probability)) and figures["ece"] == pytest.approx(ece)


def test_the_gated_gap_on_the_rows_is_fairlearns_on_the_served_decisions() -> None:
    generator = np.random.default_rng(5)
    truth, decision = generator.integers(0, 2, 200), generator.integers(0, 2, 200)
    groups = pd.Series(generator.choice(["a", "b"], 200))
    gate = Gate(metric="fairness.sex.demographic_parity_difference", max=0.1)
    gaps = gap_values(truth, Scores("classification", generator.random(200), decision), [(gate, "sex", "demographic_parity_difference")],
                      {"sex": groups}, min_group_rows=30)
    expected = demographic_parity_difference(truth, decision, sensitive_features=groups.to_numpy())
    assert gaps["sex.demographic_parity_difference"]["value"] == pytest.approx(expected, abs=1e-6)


GAIN = {"estimate": 0.03, "low": 0.01, "high": 0.05, "confidence": 0.95, "rounds": 1000}
RULE = {"champion_version": "v1.0.0", "same_model": False, "failed_gates": [], "broken_gaps": [], "difference": GAIN,
        "metric_label": "ROC-AUC", "min_gain": 0.005}


@pytest.mark.parametrize("change, decision, reasons", [
    ({}, "promote", ["over v1.0.0, 0.030, is more than promote.min_gain 0.005"]),
    ({"champion_version": None, "difference": None}, "promote", ["first version"]),
    ({"difference": {**GAIN, "estimate": 0.003, "low": 0.001}}, "keep", ["the gain in ROC-AUC, 0.003, is not more than promote.min_gain 0.005"]),
    ({"difference": {**GAIN, "low": -0.004, "high": 0.011}}, "keep", ["the 95% interval of the gain, [-0.004, 0.011], includes zero"]),
    ({"failed_gates": ["the challenger failed its gate on test.roc_auc"]}, "keep", ["failed its gate on test.roc_auc"]),
    ({"champion_version": None, "difference": None, "failed_gates": ["gate"]}, "keep", ["gate"]),
    ({"broken_gaps": ["the challenger's fairness.sex.demographic_parity_difference on the compared rows, 0.300, is above"]},
     "keep", ["demographic_parity_difference on the compared rows"]),
    ({"same_model": True, "difference": {**GAIN, "estimate": 0.0, "low": 0.0, "high": 0.0}}, "keep", ["the challenger is the champion"]),
], ids=["promote", "first-version", "gain-below-min-gain", "interval-includes-zero", "gates-failed", "first-version-gates-failed",
        "fairness-gap-broken", "same-model"])
def test_the_decision_rule(change: dict, decision: str, reasons: list[str]) -> None:
    made, given = decide(**{**RULE, **change})
    assert made == decision
    assert len(given) == len(reasons) and all(part in line for part, line in zip(reasons, given)), given


# End to end: the small project registered as v1.0.0 with real GTO tags, then a challenger with a changed param.

def run(repo: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tabular_mlops", *arguments], cwd=repo, env=environment(),
                          capture_output=True, text=True, timeout=300)


def git(repo: Path, *arguments: str) -> None:
    subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def challenged_repo(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("compare") / "repo"
    shutil.copytree(small_repo, repo, symlinks=True)
    commit(repo, "the first model")
    for arguments in (["register", "credit-model", "--version", "v1.0.0"], ["assign", "credit-model", "--version", "v1.0.0", "--stage", "prod"]):
        subprocess.run([GTO, *arguments], cwd=repo, env=environment(), check=True, capture_output=True)

    def challenge(params: dict) -> None:
        params["promote"]["champion"] = "v1.0.0"
        params["train"]["model"] = "logistic_regression"
        params["train"]["logistic_regression"]["C"] = 0.01  # a stronger penalty: another model of the same family

    update_params(repo, challenge)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    assert "latency" not in result.output  # it varies: the command measures it, not the stage
    commit(repo, "a challenger")
    return repo


def test_the_stage_compares_the_registered_champion_with_the_challenger_on_the_test_split(challenged_repo: Path) -> None:
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.files import read_json

    result = read_json(challenged_repo / "metrics/compare.json")
    test = pd.read_parquet(challenged_repo / "data/prepared/test.parquet")
    truth = (test["Status"].astype(str) == "bad").to_numpy(dtype=int)
    champion = load_bundle(challenged_repo / ".tabular-mlops/registry/credit-model@v1.0.0/bundle")
    challenger = load_bundle(challenged_repo / "models/bundle")
    champion_auc = roc_auc_score(truth, champion.predict(test)["probability"])
    challenger_auc = roc_auc_score(truth, challenger.predict(test)["probability"])
    assert set(result) == {"decision", "reasons", "stage", "metric", "rows", "champion", "challenger", "difference", "min_gain"}
    assert (result["stage"], result["metric"], result["rows"], result["min_gain"]) == ("prod", "roc_auc", len(test), 0.005)
    assert result["champion"]["version"] == "v1.0.0" and result["champion"]["model_version"] == champion.version
    assert "model_version" not in result["challenger"] and challenger.version != champion.version  # its bytes may differ between CPUs
    assert result["champion"]["roc_auc"] == pytest.approx(champion_auc, abs=1e-6)
    assert result["challenger"]["roc_auc"] == pytest.approx(challenger_auc, abs=1e-6)
    difference = result["difference"]
    assert difference["estimate"] == pytest.approx(challenger_auc - champion_auc, abs=2e-6)
    assert difference["low"] <= difference["estimate"] <= difference["high"] and difference["rounds"] == 1000
    expected = "promote" if difference["estimate"] > 0.005 and difference["low"] > 0 and result["challenger"]["gates_passed"] else "keep"
    assert result["decision"] == expected and result["reasons"]
    assert read_json(challenged_repo / "metrics/promotion/champion.roc_auc.json") == {"test": result["champion"]["roc_auc"]}
    assert read_json(challenged_repo / "metrics/promotion/gain.roc_auc.json") == {"test": difference["estimate"]}
    assert read_json(challenged_repo / "metrics/promotion/decision.json") == {"passed": expected == "promote"}
    assert "ROC-AUC" in (challenged_repo / "metrics/compare.md").read_text()


def test_the_command_gives_the_stages_figures_and_exits_by_the_decision(challenged_repo: Path, tmp_path: Path) -> None:
    completed = run(challenged_repo, "compare", "--output", str(tmp_path / "compare.json"))
    stage = json.loads((challenged_repo / "metrics/compare.json").read_text())
    assert completed.returncode == (0 if stage["decision"] == "promote" else 1), completed.stderr
    assert (tmp_path / "compare.json").read_bytes() == (challenged_repo / "metrics/compare.json").read_bytes()
    assert "| ROC-AUC |" in completed.stdout and "ms per 1,000 rows" in completed.stdout


def test_the_command_adds_the_labelled_rows_of_the_prediction_log(challenged_repo: Path, tmp_path: Path) -> None:
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.prediction_log import PredictionLog

    bundle = load_bundle(challenged_repo / "models/bundle")
    served = pd.read_parquet(challenged_repo / "data/prepared/train.parquet").head(40)
    log = PredictionLog(tmp_path / "log.sqlite")
    log.register_model(bundle.version, "Status", bundle.manifest["contract"])
    inputs = served[bundle.input_columns]
    records = json.loads(inputs.to_json(orient="records"))
    outputs = [{"probability": 0.5, "decision": "good", "unseen_categories": []} for _ in records]
    ids = [f"p{number}" for number in range(len(records))]
    log.log(bundle.version, ids, records, outputs)
    for prediction_id, outcome in zip(ids[:30], served["Status"].astype(str)):  # 10 rows never get an outcome
        log.feedback(prediction_id, outcome)
    log.close()
    completed = run(challenged_repo, "compare", "--log", str(tmp_path / "log.sqlite"), "--output", str(tmp_path / "out.json"))
    assert completed.returncode in (0, 1), completed.stderr
    tested = len(pd.read_parquet(challenged_repo / "data/prepared/test.parquet"))
    assert json.loads((tmp_path / "out.json").read_text())["rows"] == tested + 30
    assert "30 labelled rows added" in completed.stdout
    assert "latency, challenger:" in completed.stdout and "latency, champion v1.0.0:" in completed.stdout


@pytest.mark.parametrize("arguments, message", [
    (["--champion", "v9.9.9"], "credit-model@v9.9.9: not a registered version of credit-model; registered: v1.0.0"),
    (["--since", "2025-01-01"], "give --log PATH too"),
])
def test_bad_input_is_one_error_line_and_exit_2(challenged_repo: Path, arguments: list[str], message: str) -> None:
    completed = run(challenged_repo, "compare", *arguments)
    assert completed.returncode == 2 and completed.stderr.splitlines() == [f"error: {completed.stderr.strip().removeprefix('error: ')}"]
    assert message in completed.stderr, completed.stderr


def test_rows_without_a_models_input_column_are_refused_naming_it(challenged_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(challenged_repo, repo, symlinks=True)
    test = repo / "data/prepared/test.parquet"
    test.chmod(0o644)
    table = pd.read_parquet(test)
    table.drop(columns=["Seniority"]).to_parquet(test)  # a link into the DVC cache is replaced, not written through
    completed = run(repo, "compare")
    assert completed.returncode == 2 and len(completed.stderr.splitlines()) == 1
    assert "lack its input column 'Seniority'" in completed.stderr, completed.stderr
