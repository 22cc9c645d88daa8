"""Every command a page shows in a shell block is run by a test: RUN_BY names, page by page, the
test that runs each one (with the page's placeholders, such as a URL, replaced by what the test
has). The deployment page's own commands, which no other test runs, are run here."""
from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import httpx
import pytest
import yaml

from tests.dvc_repo import dvc, environment
from tests.service import STOPPED, start, working_folder

ROOT = Path(__file__).resolve().parents[1]
CI = "CI"  # run by .ci/run itself, which is what CI runs
PIPELINE = "tests/test_pipeline.py::"
DEMO = "tests/test_monitor.py::test_demo_drift_scores_both_batches_through_the_service_and_only_the_shifted_one_fires"
REVIEW = "tests/test_review.py::test_review_of_a_regressing_commit_fails_and_names_the_metric"
PUSH = "tests/test_remotes.py::test_push_to_the_default_remote_then_pull_into_a_fresh_clone_restores_every_output"
OWN_TABLE = "tests/test_remotes.py::test_a_users_table_added_with_dvc_add_is_pushed_and_restored_in_a_fresh_clone"
MERGE = "tests/test_lock_merge.py::test_merging_two_runs_keeps_one_whole_lock_and_repro_rebuilds_both_changes"
S3 = "tests/test_remote_s3.py::test_push_to_s3_then_pull_into_a_fresh_clone_restores_every_output"
DEPLOY = "tests/test_docs_commands.py::test_a_tagged_bundle_fetched_with_dvc_artifacts_get_is_served"
BASE_INSTALL = "tests/test_docs.py::test_the_pipeline_imports_nothing_beyond_the_base_install"
FULL_RUN = PIPELINE + "test_repro_from_a_fresh_clone_runs_every_stage_and_beats_080_roc_auc"

RUN_BY: dict[str, dict[str, tuple[str, ...]]] = {
    "README.md": {
        "python3.11 -m venv .venv && . .venv/bin/activate && pip install -e . && dvc repro": (BASE_INSTALL, FULL_RUN),
        "bash .ci/run": (CI,),
        "tabular-mlops init --table PATH --target COLUMN --name NAME": ("init",),  # see test_init_is_run_by_a_test
        "dvc repro": ("init",),
    },
    "docs/tutorials/first-run.md": {
        "python3.11 -m venv .venv && . .venv/bin/activate && pip install -e .": (BASE_INSTALL,),
        "dvc repro": (FULL_RUN, PIPELINE + "test_noop_repro_runs_nothing_and_status_is_clean"),
        "dvc metrics show": (PIPELINE + "test_failing_gate_is_a_verdict_exit_1_naming_the_metric_and_keeps_the_metrics",),
        "dvc plots show": ("tests/test_task_switch.py::test_dvc_plots_show_draws_only_the_tasks_plots_without_a_warning",),
        "dvc exp run -S train.model=logistic_regression": (PIPELINE + "test_experiment_sweep_value_runs_and_an_appended_misspelt_key_is_refused",),
        "dvc metrics diff": (PIPELINE + "test_metrics_diff_between_commits_needs_no_remote",),
        "dvc params diff": (PIPELINE + "test_metrics_diff_between_commits_needs_no_remote",),
        "tabular-mlops serve &": (DEMO,),
        "tabular-mlops demo-drift": (DEMO,),
    },
    "docs/how-to/deploy.md": {
        "tabular-mlops serve": (DEMO,),
        'git tag -a <artifact-name>@v1.2.0 -m "v1.2.0" && git push --tags && dvc push': (DEPLOY, PUSH),
        "dvc artifacts get https://github.com/<you>/<your-project> <artifact-name> --rev v1.2.0 -o /srv/model": (DEPLOY,),
        "tabular-mlops serve --model /srv/model": (DEPLOY,),
    },
    "docs/how-to/batch-scoring.md": {
        "tabular-mlops score data/new_applicants.csv --output data/scored/new_applicants.parquet":
            ("tests/test_batch_scoring.py::test_the_command_prints_the_counts_and_exits_0_with_rejects",),
        "dvc repro score": ("tests/test_batch_scoring.py::test_score_stage_scores_the_params_named_table",),
    },
    "docs/how-to/explain-a-decision.md": {
        "tabular-mlops score data/new_applicants.csv --output data/scored/explained.csv --explain":
            ("tests/test_explain_outputs.py::test_score_explain_adds_contributions_that_add_up_and_reason_codes_for_refusals",),
    },
    "docs/how-to/experiments.md": {
        "dvc exp run -S train.model=hist_gradient_boosting": (PIPELINE + "test_experiment_sweep_value_runs_and_an_appended_misspelt_key_is_refused",),
        "dvc exp run -S train.model=logistic_regression -S train.search.method=random":
            ("tests/test_families.py::test_random_search_through_dvc_exp_run_writes_the_search_table",),
        "dvc metrics diff main": (PIPELINE + "test_metrics_diff_between_commits_needs_no_remote",),
        "dvc params diff main": (PIPELINE + "test_metrics_diff_between_commits_needs_no_remote",),
        "dvc plots diff main": ("tests/test_task_switch.py::test_dvc_plots_diff_across_the_task_switch_shows_both_tasks_plots_without_a_warning",),
        "tabular-mlops sweep -S train.model=logistic_regression,mlp,hist_gradient_boosting -S seed=1,2 -j 2 --apply-best":
            ("tests/test_task_switch.py::test_sweep_of_regression_families_ranks_them_by_cv_rmse_and_applies_the_best",),
    },
    "docs/how-to/review.md": {
        "dvc repro && tabular-mlops review --base main --output review.md": (REVIEW,),
    },
    "docs/how-to/retrain.md": {
        "dvc add data/raw/my_table.csv": (OWN_TABLE,),
        "dvc repro && tabular-mlops review --base main --output review.md": (REVIEW,),
        'git add dvc.lock leaderboard/dvc.lock metrics && git commit -m "Retrain on the new table" && dvc push && git push': (PUSH,),
    },
    "docs/how-to/remote-storage.md": {
        'dvc repro && git add dvc.lock leaderboard/dvc.lock metrics && git commit -m "Retrain" && dvc push && git push': (PUSH,),
        "git clone <repo> fresh && cd fresh && dvc pull && dvc status": (PUSH,),
        "dvc remote modify --local storage url /mnt/backup/tabular-mlops":
            ("tests/test_remotes.py::test_each_clone_can_point_the_remote_elsewhere_with_remote_modify_local",),
        "dvc add data/raw/my_table.csv": (OWN_TABLE,),
        'git add data/raw/my_table.csv.dvc data/raw/.gitignore && git commit -m "Add my table"': (OWN_TABLE,),
        "dvc push": (OWN_TABLE,),
        "pip install -e '.[s3]'": (CI,),
        "dvc remote add -d s3store s3://my-bucket/tabular-mlops": (S3,),
        "dvc remote modify s3store endpointurl https://s3.example.internal": (S3,),
        "dvc remote modify --local s3store access_key_id '...'": (S3,),
        "dvc remote modify --local s3store secret_access_key '...'": (S3,),
        'git add .dvc/config && git commit -m "S3 remote" && dvc push': (S3,),
    },
    "docs/how-to/merge-branches.md": {
        "git merge other-branch": (MERGE,),
        "dvc repro": (MERGE,),
        "git add dvc.lock leaderboard/dvc.lock metrics && git commit --no-edit": (MERGE,),
        "dvc push": (PUSH,),
    },
    "docs/how-to/personal-data.md": {
        "tabular-mlops erase --value alice@example.com":
            ("tests/test_erase.py::test_erase_removes_the_persons_predictions_and_prints_how_many_never_the_value",),
        "tabular-mlops erase --value -": ("tests/test_erase.py::test_the_value_may_come_from_stdin_so_it_stays_out_of_the_shell_history",),
    },
    "docs/how-to/fairness.md": {
        "dvc repro": ("tests/test_fairness_pipeline.py::test_threshold_optimizer_brings_the_gap_under_the_gate_and_reports_its_cost",),
    },
    "docs/how-to/dask.md": {
        "pip install -e '.[dask]'": (CI,),
        "dvc repro": ("tests/test_dask_engine.py::test_dvc_repro_on_dask_writes_the_pandas_engines_outputs",),
        "tabular-mlops synth --rows 10_000_000 --output /tmp/credit-10m.parquet":
            ("tests/test_synth.py::test_missing_rates_category_shares_and_class_balance_are_the_sources",),
    },
    "docs/how-to/run-the-tests.md": {
        "bash .ci/run": (CI,),
        "python tools/build_docs_reference.py": ("tests/test_docs.py::test_generated_pages_are_what_the_code_gives_now",),
    },
}
# Pages whose own tests run their commands.
OWNED_ELSEWHERE = {"docs/tutorials/your-own-table.md", "docs/how-to/monitor.md", "docs/how-to/add-a-model-family.md",
                   "docs/reference/exit-codes.md",
                   "docs/tutorials/close-the-loop.md"}  # tests/test_close_the_loop.py runs every command of it, in order


def shown_commands(text: str) -> list[str]:
    """The command lines of a page's ```bash blocks (comments and blank lines left out)."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line.strip() for block in blocks for line in block.replace("\\\n", " ").splitlines()
            if line.strip() and not line.strip().startswith("#")]


def pages() -> list[str]:
    documented = ["README.md", *(str(path.relative_to(ROOT)) for path in sorted((ROOT / "docs").rglob("*.md")))]
    return [path for path in documented if path not in OWNED_ELSEWHERE]


@pytest.mark.parametrize("path", pages())
def test_every_command_a_page_shows_is_run_by_a_named_test(path: str) -> None:
    shown = set(shown_commands((ROOT / path).read_text()))
    listed = RUN_BY.get(path, {})
    assert shown == set(listed), f"{path}: list in RUN_BY the test that runs each command it shows"
    for command, tests in listed.items():
        for test in tests:
            if test == CI:
                assert_ci_runs(command)
            elif test != "init":
                assert_test_runs(test, command)


def assert_ci_runs(command: str) -> None:
    ci = (ROOT / ".ci/run").read_text()
    extra = re.fullmatch(r"pip install -e '\.\[(\w+)\]'", command)
    if extra:  # .ci/run installs the dev extra, which holds the others the tests need
        dev = tomllib.loads((ROOT / "pyproject.toml").read_text())
        assert "pip install -e '.[dev]'" in ci and f"tabular-mlops[{extra[1]}]" in dev["project"]["optional-dependencies"]["dev"]
    else:
        assert command == "bash .ci/run", command


def assert_test_runs(test: str, command: str) -> None:
    """The test exists, and its module (or the tests/ helpers it imports) names each command's verb."""
    module, _, name = test.partition("::")
    source = (ROOT / module).read_text()
    assert name in {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}, f"{test} does not exist"
    helpers = [ROOT / f"{imported.replace('.', '/')}.py" for imported in re.findall(r"^from (tests\.\w+) import", source, flags=re.M)]
    texts = source + "".join(path.read_text() for path in helpers if path.exists())
    for part in command.split("&&"):
        words = part.split()
        if words[0] in ("dvc", "tabular-mlops", "git") and len(words) > 1:
            assert words[1] in texts, f"{test} never mentions '{words[1]}' of `{command}`"


def test_init_is_run_by_a_test() -> None:
    """The README's "make it yours" commands: a test that runs `tabular-mlops init` and then `dvc repro`."""
    calls_init = re.compile(r"[\"']init[\"'],\s*[\"']--table[\"']")  # main(["init", "--table", ...]) or a subprocess's list
    running = [path for path in (ROOT / "tests").glob("test_*.py")
               if path.name != Path(__file__).name and calls_init.search(path.read_text()) and "repro" in path.read_text()]
    if not running:
        pytest.skip("`tabular-mlops init` and its test arrive with the init command (issue 19)")
    assert running


@pytest.mark.slow
def test_a_tagged_bundle_fetched_with_dvc_artifacts_get_is_served(small_repo_copy: Path, tmp_path: Path) -> None:
    repo = small_repo_copy
    [artifact] = yaml.safe_load((repo / "dvc.yaml").read_text())["artifacts"]
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "run"], cwd=repo, check=True)
    subprocess.run([*git, "tag", "-a", f"{artifact}@v1.2.0", "-m", "v1.2.0"], cwd=repo, check=True)
    # The host: the repository's URL is its path here, and the data comes from its DVC cache.
    fetched = dvc(tmp_path, "artifacts", "get", str(repo), artifact, "--rev", "v1.2.0", "-o", str(tmp_path / "model"))
    assert fetched.returncode == 0, fetched.output
    assert {path.name: path.read_bytes() for path in (tmp_path / "model").iterdir()} == \
           {path.name: path.read_bytes() for path in (repo / "models/bundle").iterdir()}
    shutil.rmtree(repo / "models/bundle")  # what serves is the fetched copy
    service = start(tmp_path / "model", working_folder(tmp_path / "host", repo / "params.yaml"))
    try:
        version = httpx.get(f"{service.url}/version").json()
    finally:
        assert service.stop() in STOPPED, service.errors
    manifest = json.loads((tmp_path / "model/manifest.json").read_text())
    assert version["model_sha256"] == manifest["model_sha256"]
