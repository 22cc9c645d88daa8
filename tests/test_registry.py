"""The model registry's commands on real git, real DVC and real GTO tags: register traces a version,
versions lists them, promote acts on a current comparison only, rollback steps back through the
promotions and fetch then serves the older bundle."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tabular_mlops.cli import main
from tabular_mlops.registry.fetch import fetch
from tabular_mlops.registry.trace import dvc_directory_md5
from tabular_mlops.registry.versions import read_registry, record_of
from tests.dvc_repo import commit, dvc, environment, update_params

ARTIFACT = "credit-model"


def git(repo: Path, *arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="module")
def two_commits(small_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small project committed twice: its run (HEAD~1), then a run with a weaker regularised
    logistic regression (HEAD), so the two commits hold different models. Read it; use `repo`."""
    repo = tmp_path_factory.mktemp("registry") / "repo"
    shutil.copytree(small_repo, repo, symlinks=True)
    commit(repo, "first run")
    update_params(repo, lambda params: params["train"]["logistic_regression"].update(C=0.05))
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    commit(repo, "second run: C=0.05")
    return repo


@pytest.fixture
def repo(two_commits: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of `two_commits`, the current folder, with `dvc` on PATH (fetch runs it)."""
    destination = tmp_path / "repo"
    shutil.copytree(two_commits, destination, symlinks=True)
    monkeypatch.chdir(destination)
    monkeypatch.setenv("PATH", environment()["PATH"])
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    return destination


def at(repo: Path, revision: str) -> None:
    """Check out `revision` with the outputs its dvc.lock records."""
    git(repo, "checkout", "-q", "-f", revision)
    assert dvc(repo, "checkout", "--force").returncode == 0


def run(capsys: pytest.CaptureFixture, *words: str) -> tuple[int, str, str]:
    code = main(list(words))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tag_message(repo: Path, tag: str) -> str:
    return git(repo, "tag", "-l", "--format=%(contents)", tag)


def model_sha(repo: Path) -> str:
    return hashlib.sha256((repo / "models/bundle/model.joblib").read_bytes()).hexdigest()


def write_comparison(repo: Path, decision: str, champion: str | None, reasons: list[str]) -> None:
    """metrics/compare.json as the compare stage writes it (its schema), by hand, and committed:
    promote acts on the comparison the commit holds."""
    comparison = {"decision": decision, "reasons": reasons, "stage": "prod", "metric": "roc_auc", "rows": 120,
                  "champion": {"version": champion, "model_version": None, "roc_auc": 0.80},
                  "challenger": {"gates_passed": True, "roc_auc": 0.83},
                  "difference": {"estimate": 0.03, "low": 0.01, "high": 0.05, "confidence": 0.95, "rounds": 1000},
                  "min_gain": 0.005}
    (repo / "metrics/compare.json").write_text(json.dumps(comparison))
    git(repo, "add", "metrics/compare.json")
    git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qm", f"comparison: {decision}")


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_register_records_the_commit_data_md5_model_sha256_and_test_metrics(repo: Path, capsys) -> None:
    git(repo, "tag", "-a", "release-2024", "-m", "a tag of the project's own, not the registry's")
    code, out, _ = run(capsys, "register")
    assert code == 0 and f"{ARTIFACT}@v1.0.0" in out
    record = record_of(tag_message(repo, f"{ARTIFACT}@v1.0.0"))
    head = git(repo, "rev-parse", "HEAD")
    assert record["commit"] == head == git(repo, "rev-list", "-n", "1", f"{ARTIFACT}@v1.0.0")
    # data.path's md5, and the folder of returned labels the validate stage reads (its README only, here)
    assert record["data"]["data/raw/credit.csv"] == hashlib.md5((repo / "data/raw/credit.csv").read_bytes()).hexdigest()
    assert set(record["data"]) == {"data/raw/credit.csv", "data/returned"}
    assert record["model_sha256"] == model_sha(repo)
    bundle_stage = yaml.safe_load(git(repo, "show", "HEAD:dvc.lock"))["stages"]["bundle"]  # what DVC itself computed
    assert dvc_directory_md5(repo / "models/bundle") + ".dir" == bundle_stage["outs"][0]["md5"]
    for path in (repo / "metrics/evaluation").glob("*.json"):
        assert record["metrics"]["test"][path.stem] == json.loads(git(repo, "show", f"HEAD:metrics/evaluation/{path.name}"))["test"]
    assert "roc_auc" in record["metrics"]["test"]

    code, out, _ = run(capsys, "register")  # the same commit again: named, not registered twice
    assert code == 0 and "already registered as credit-model@v1.0.0" in out
    assert git(repo, "tag", "-l", f"{ARTIFACT}@*").split() == [f"{ARTIFACT}@v1.0.0"]


def test_register_refuses_uncommitted_results_failed_gates_and_a_version_not_above_the_latest(repo: Path, capsys) -> None:
    at(repo, "HEAD~1")
    assert run(capsys, "register")[0] == 0  # v1.0.0
    at(repo, "main")
    (repo / "models/bundle/notes.txt").write_text("changed by hand")
    code, _, err = run(capsys, "register")
    assert code == 2 and one_error_line(err).startswith("error: models/bundle: its md5")
    (repo / "models/bundle/notes.txt").unlink()

    code, _, err = run(capsys, "register", "--version", "v1.0.0")
    assert code == 2 and "greater than the latest registered version, credit-model@v1.0.0" in one_error_line(err)

    gates = json.loads((repo / "metrics/gates.json").read_text())
    (repo / "metrics/gates.json").write_text(json.dumps({**gates, "passed": False}))
    commit(repo, "gates failed")
    code, _, err = run(capsys, "register")
    assert code == 2 and one_error_line(err).startswith("error: metrics/gates.json: the gates did not pass")
    assert git(repo, "tag", "-l", f"{ARTIFACT}@*").split() == [f"{ARTIFACT}@v1.0.0"]


def test_versions_lists_newest_first_with_stages_data_and_the_metric_at_each_commit(repo: Path, capsys) -> None:
    at(repo, "HEAD~1")
    run(capsys, "register")
    at(repo, "main")
    run(capsys, "register", "--version", "v2.0.0")
    code, out, _ = run(capsys, "versions", "--json")
    listed = json.loads(out)["versions"]
    assert code == 0 and [row["version"] for row in listed] == ["v2.0.0", "v1.0.0"]
    assert [row["commit"] for row in listed] == [git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "HEAD~1")]
    for row in listed:
        committed = json.loads(git(repo, "show", f"{row['commit']}:metrics/evaluation/roc_auc.json"))["test"]
        assert row["metric"] == "roc_auc" and row["test"] == committed and row["stages"] == []
    assert listed[0]["test"] != listed[1]["test"]  # the two models differ
    md5 = hashlib.md5((repo / "data/raw/credit.csv").read_bytes()).hexdigest()
    code, out, _ = run(capsys, "versions")
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["version", "commit", "registered", "stages", "data"]
    assert lines[1].split()[:2] == ["v2.0.0", git(repo, "rev-parse", "--short=7", "HEAD")] and md5[:8] in lines[1]
    assert f"{listed[1]['test']:.4f}" in lines[2]


def test_promote_refuses_a_stale_comparison_and_a_keep_and_needs_a_reason_to_force(repo: Path, capsys) -> None:
    write_comparison(repo, "promote", None, ["gain"])
    (repo / "metrics/compare.json").write_text("{}")  # not the comparison the commit holds
    code, _, err = run(capsys, "promote")
    assert code == 2 and "metrics/compare.json: not the file commit" in one_error_line(err) and "dvc repro compare" in err
    lock = (repo / "dvc.lock").read_text()  # a compare stage that scored another bundle than the one dvc.lock records
    compare_stage = lock.index("\n  compare:\n")
    bundle_dep = lock.index("path: models/bundle", compare_stage)
    md5_start = lock.index("md5: ", bundle_dep) + len("md5: ")
    git(repo, "checkout", "metrics/compare.json")
    (repo / "dvc.lock").write_text(lock[:md5_start] + "0" * 32 + lock[md5_start + 32:])
    git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qam", "a stale lock")
    code, _, err = run(capsys, "promote")
    assert code == 2 and "stale: the compare stage at commit" in one_error_line(err) and "md5 000000000000" in err
    (repo / "dvc.lock").write_text(lock)
    git(repo, "-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-qam", "the lock again")
    write_comparison(repo, "promote", "v1.0.0", ["gain"])
    code, _, err = run(capsys, "promote")
    assert code == 2 and "compared with champion v1.0.0, but no version is at credit-model#prod" in one_error_line(err)

    reasons = ["the gain 0.001 is below min_gain 0.005", "the interval's lower end -0.02 is not above 0"]
    write_comparison(repo, "keep", None, reasons)
    code, _, err = run(capsys, "promote")
    assert code == 1 and err.strip().startswith("verdict: credit-model#prod stays at no version")
    assert all(reason in err for reason in reasons) and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "promote", "--force")
    assert code == 2 and "--force needs --reason" in one_error_line(err)
    assert git(repo, "tag", "-l") == ""  # nothing registered, nothing assigned


def test_a_forced_promotion_records_its_reason_and_sets_the_champion_keeping_params_comments(repo: Path, capsys) -> None:
    params = (repo / "params.yaml").read_text()
    assert "\n  champion: null\n" in params  # the small project's params.yaml, written without comments: add some
    commented = params.replace("\npromote:\n", "\npromote:  # the registry stage and its champion\n") \
                      .replace("\n  champion: null\n", "\n  champion: null       # promote and rollback write it\n")
    (repo / "params.yaml").write_text(commented)
    write_comparison(repo, "keep", None, ["too few rows"])
    code, out, _ = run(capsys, "promote", "--force", "--reason", "the old model scores a retired form")
    assert code == 0 and "credit-model#prod: no version -> v1.0.0" in out and "/admin/swap" in out
    assert (repo / "params.yaml").read_text() == commented.replace(
        "\n  champion: null       # promote and rollback write it\n", "\n  champion: v1.0.0     # promote and rollback write it\n")
    [assignment] = git(repo, "tag", "-l", f"{ARTIFACT}#prod#*").split()
    record = record_of(tag_message(repo, assignment))
    assert record["action"] == "forced" and record["reason"] == "the old model scores a retired form" and record["by"] == "test"
    assert record["comparison"]["decision"] == "keep"
    code, out, _ = run(capsys, "versions", "--json")
    [row] = json.loads(out)["versions"]
    assert row["stages"] == ["prod"] and row["notes"] == ["forced to prod by test: the old model scores a retired form"]


def test_promote_then_rollback_moves_the_stage_back_and_fetch_gets_the_older_bundle(repo: Path, capsys) -> None:
    at(repo, "HEAD~1")
    first_sha = model_sha(repo)
    write_comparison(repo, "promote", None, ["no champion yet"])
    first_commit = git(repo, "rev-parse", "HEAD").strip()
    assert run(capsys, "promote")[0] == 0
    at(repo, "main")
    second_sha = model_sha(repo)
    assert second_sha != first_sha
    write_comparison(repo, "promote", "v1.0.0", ["roc_auc +0.03"])
    code, out, _ = run(capsys, "promote")
    assert code == 0 and "registered credit-model@v1.1.0" in out and "v1.0.0 -> v1.1.0" in out
    assert yaml.safe_load((repo / "params.yaml").read_text())["promote"]["champion"] == "v1.1.0"
    assert read_registry(repo, ARTIFACT).current("prod") == "v1.1.0"
    from gto import api  # GTO's own reading agrees: the version promoted before left the stage

    assert [entry.version for entry in api.find_versions_in_stage(str(repo), ARTIFACT, "prod", versions_per_stage=-1)] == ["v1.1.0"]

    code, out, _ = run(capsys, "rollback")
    assert code == 0 and "credit-model#prod: v1.1.0 -> v1.0.0" in out
    assert yaml.safe_load((repo / "params.yaml").read_text())["promote"]["champion"] == "v1.0.0"
    stage = api.find_versions_in_stage(str(repo), ARTIFACT, "prod", versions_per_stage=-1)
    assert [entry.version for entry in stage] == ["v1.0.0"]  # GTO's reading too, though seconds apart at most
    fetched = fetch(repo, stage="prod")
    assert (fetched.version, fetched.commit) == ("v1.0.0", first_commit)
    assert hashlib.sha256((fetched.directory / "model.joblib").read_bytes()).hexdigest() == first_sha
    assert json.loads((fetched.directory / "manifest.json").read_text())["model_sha256"] == first_sha

    code, _, err = run(capsys, "rollback")  # a rollback steps back; it does not undo the one before
    assert code == 2 and "v1.0.0 is the first version promoted to 'prod'" in one_error_line(err)
    code, out, _ = run(capsys, "versions", "--json")
    rows = {row["version"]: row for row in json.loads(out)["versions"]}
    assert rows["v1.0.0"]["stages"] == ["prod"] and rows["v1.1.0"]["stages"] == []
    assert rows["v1.0.0"]["notes"] == ["prod: rollback to it from v1.1.0 by test"]


def test_the_commands_exit_2_with_one_line_on_a_project_without_a_registry_or_a_comparison(repo: Path, capsys) -> None:
    code, _, err = run(capsys, "rollback")
    assert code == 2 and "no version is at stage 'prod', so there is nothing to roll back" in one_error_line(err)
    (repo / "metrics/compare.json").unlink()  # a project from before the compare stage
    code, _, err = run(capsys, "promote")
    assert code == 2 and one_error_line(err).startswith("error: metrics/compare.json: not found")
    code, _, err = run(capsys, "promote", "--stage", "Prod!")
    assert code == 2 and "--stage must be a stage name" in one_error_line(err)
    code, out, _ = run(capsys, "versions")
    assert code == 0 and "no version of credit-model is registered" in out
