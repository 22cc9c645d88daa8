"""docs/tutorials/close-the-loop.md, run as written: every command of its shell blocks, in order, in
one shell, on the bundled data, with the real DVC, GTO's tags, the real service and its log.

The walkthrough holds both outcomes: the model retrained on the returned labels wins on the
changed population and is promoted (then swapped in and rolled back), and a deliberately weaker
challenger (one tree, two levels deep) is refused with its reasons. The figures the page quotes
are checked against the run, and the decisions against scikit-learn's ROC-AUC on the same rows.
"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from tests.dvc_repo import environment
from tests.service import free_port

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs/tutorials/close-the-loop.md"
COMMIT = re.compile(r"\(commit [0-9a-f]{7}\)")


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", TUTORIAL.read_text(), flags=re.S)


def git(repo: Path, *arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def walked(reproduced_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A copy of the reproduced project, committed, after the tutorial's commands; (repo, output,
    with the service's port written as the page writes it)."""
    repo = tmp_path_factory.mktemp("loop") / "repo"
    shutil.copytree(reproduced_repo, repo, symlinks=True)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qm", "The first run")
    port = free_port()
    script = "set -euo pipefail\ntrap 'kill ${SERVICE:-} 2>/dev/null || true' EXIT\n" + "".join(blocks("bash")).replace(
        "127.0.0.1:8000", f"127.0.0.1:{port}")
    env = {**environment(), "PYTHONPATH": str(repo), "TABULAR_MLOPS_PORT": str(port), "TABULAR_MLOPS_URL": f"http://127.0.0.1:{port}",
           "GIT_AUTHOR_NAME": "test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "test", "GIT_COMMITTER_EMAIL": "test@example.invalid"}
    # demo-traffic's --url defaults to port 8000: the page's commands reach the test's port through it
    script = script.replace("tabular-mlops demo-traffic ", f"tabular-mlops demo-traffic --url http://127.0.0.1:{port} ")
    result = subprocess.run(["bash", "-c", script], cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    output = (result.stdout + result.stderr).replace(f"127.0.0.1:{port}", "127.0.0.1:8000")
    (repo.parent / "walkthrough.txt").write_text(output)  # what the page's commands printed, to read when a check fails
    assert result.returncode == 0, output[-6000:]
    return repo, output


def test_every_line_the_page_shows_is_printed(walked: tuple[Path, str]) -> None:
    repo, output = walked
    printed = COMMIT.sub("(commit …)", output)
    shown = [COMMIT.sub("(commit …)", line.strip()) for block in blocks("text") for line in block.splitlines() if line.strip()]
    assert [line for line in shown if line not in printed] == []


def test_the_retrained_model_wins_on_the_same_rows_and_is_promoted_then_rolled_back(walked: tuple[Path, str]) -> None:
    repo, output = walked
    retrained = _commit(repo, "Retrain on the returned labels")
    compared = json.loads(git(repo, "show", f"{retrained}:metrics/compare.json"))
    assert compared["decision"] == "promote" and compared["champion"]["version"] == "v1.0.0"
    assert compared["difference"]["low"] > 0 and compared["difference"]["estimate"] > 0.005
    # the page's table is that commit's metrics/compare.md
    table = [line for line in TUTORIAL.read_text().splitlines() if line.startswith("| ")]
    assert all(line in git(repo, "show", f"{retrained}:metrics/compare.md") for line in table)
    # the same rows: the test split, its bundled rows first; the returned rows' held-out fifth after them
    rows = json.loads(git(repo, "show", f"{retrained}:metrics/data/rows.json"))
    returned = json.loads(git(repo, "show", f"{retrained}:metrics/prepare.json"))["sources"][1]
    assert compared["rows"] == rows["test"] == 891 + returned["test_rows"] and returned["test_rows"] == pytest.approx(0.2 * 3000, abs=1)
    assert rows["train"] == 3561 + returned["train_rows"]
    # the registry: v1.0.0 promoted, v1.1.0 promoted, then prod rolled back to v1.0.0
    tags = git(repo, "tag", "--list").split()
    assert {"credit-model@v1.0.0", "credit-model@v1.1.0"} <= set(tags)
    assert git(repo, "rev-list", "-n", "1", "credit-model@v1.1.0").strip() == retrained
    versions = subprocess.run(["python", "-m", "tabular_mlops", "versions", "--json"], cwd=repo, env={**environment(), "PYTHONPATH": str(repo)},
                              capture_output=True, text=True, check=True).stdout
    stages = {entry["version"]: entry["stages"] for entry in json.loads(versions)["versions"]}
    assert stages["v1.0.0"] == ["prod"] and stages["v1.1.0"] == []
    # each swap answered with the version it brought in
    decoder, swaps = json.JSONDecoder(), []
    for start in (match.start() for match in re.finditer(r'\{"model_version"', output)):
        swaps.append(decoder.raw_decode(output, start)[0])
    assert [swap["registry"]["version"] for swap in swaps] == ["v1.1.0", "v1.0.0"]


def test_production_traffic_reached_the_shadow_and_both_outputs_are_logged(walked: tuple[Path, str]) -> None:
    repo, _ = walked
    with sqlite3.connect(repo / "logs/predictions.sqlite") as log:
        shadowed = log.execute("SELECT s.prediction_id, p.model_version, s.model_version FROM shadow_predictions s "
                               "JOIN predictions p USING (prediction_id)").fetchall()
    assert len(shadowed) == 500  # the second batch, every request of it
    assert {(champion, challenger) for _, champion, challenger in shadowed} == {(shadowed[0][1], shadowed[0][2])}
    assert shadowed[0][1] != shadowed[0][2]
    # compare --log compares on the 500 shadowed rows, not on the 3,000 exported for training
    assert ("logs/predictions.sqlite: 500 labelled rows added to the 1491 rows of data/prepared/test.parquet "
            "(3000 left out: exported to data.extra_paths") in walked[1]


def test_the_weaker_challenger_is_refused_with_its_reasons_and_the_figures_are_sklearns(walked: tuple[Path, str]) -> None:
    repo, output = walked
    assert "promote exited with 1" in output and "verdict: credit-model#prod stays at v1.0.0: the comparison says keep" in output
    compared = json.loads((repo / "metrics/compare.json").read_text())
    assert compared["decision"] == "keep" and compared["champion"]["version"] == "v1.0.0"
    assert compared["difference"]["high"] < 0 and any("min_gain" in reason for reason in compared["reasons"])
    # nothing was registered or assigned for it: prod stays where the rollback left it
    assert "credit-model@v1.2.0" not in git(repo, "tag", "--list")
    assert yaml.safe_load((repo / "params.yaml").read_text())["promote"]["champion"] == "v1.0.0"
    # the two ROC-AUCs on the same rows, by scikit-learn on both bundles' probabilities
    from tabular_mlops.deployment.artifact import load_bundle

    test = pd.read_parquet(repo / "data/prepared/test.parquet")
    truth = (test["Status"] == "bad").astype(int)
    champion = load_bundle(repo / ".tabular-mlops/registry/credit-model@v1.0.0/bundle")
    challenger = load_bundle(repo / "models/bundle")
    assert compared["champion"]["roc_auc"] == pytest.approx(roc_auc_score(truth, champion.predict(test)["probability"]), abs=1e-6)
    assert compared["challenger"]["roc_auc"] == pytest.approx(roc_auc_score(truth, challenger.predict(test)["probability"]), abs=1e-6)


def _commit(repo: Path, message: str) -> str:
    return git(repo, "log", "--format=%H", f"--grep=^{message}$").split()[0]

