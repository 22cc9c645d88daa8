"""Fixtures that run the real `dvc` in temporary git repositories, never in the checkout.

Two reproduced repositories are built once per test run and shared by the xdist workers
(a file lock makes the first worker that needs one build it while the other waits):

- `reproduced_repo`: the project as committed, full size, every family. Only tests whose
  point is the full-size figure use it (ROC-AUC above 0.80, the committed dvc.lock and
  metrics reproduced byte for byte, the plots); with `-n 2` they run on one worker
  (FULL_SIZE_TESTS below), so one worker builds it while the other runs everything else.
- `small_repo`: the same pipeline on a 600-row sample with two light families, for tests
  that need *a* reproduced repository (what reruns, merges, remotes, experiments, bad input).
"""
from __future__ import annotations

import os

# Each xdist worker and every `dvc` subprocess (tests/dvc_repo.py environment()) computes on
# one thread: with `-n 2` on two cores, BLAS and OpenMP pools of their own would oversubscribe
# them (OpenMP threads spin while they wait). Set before numpy is imported, so its pool
# starts single-threaded; threadpoolctl below covers libraries loaded earlier by a plugin.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
os.environ.update(SINGLE_THREAD)

import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from tests.dvc_repo import copy_project, dvc, init_git_repo, reproduce_small  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

_THREADS = threadpool_limits(limits=1)  # kept referenced for the whole session


# With `-n 2`, these go to one worker each, as one unit (everything else is balanced test by
# test): the tests that read the full-size `reproduced_repo`, so one worker builds it and runs
# them while the other runs the rest; and the modules whose tests share a module-scoped
# repository (built once) or run in order. pytest-xdist's own `--dist loadgroup` would read
# `xdist_group` marks, but with pytest 9.2 it silently stops grouping
# (pytest-dev/pytest-xdist#1386), hence this scheduler.
FULL_SIZE_TESTS = {
    "tests/test_pipeline.py": {
        "test_repro_from_a_fresh_clone_runs_every_stage_and_beats_080_roc_auc",
        "test_auto_trains_the_family_that_wins_the_leaderboard",
        "test_saved_model_scores_raw_rows_including_missing_values_and_unseen_categories",
        "test_fresh_clone_reproduces_the_committed_dvc_lock_and_metrics_byte_for_byte",
    },
    "tests/test_plots_offline.py": {
        "test_plots_page_loads_nothing_from_the_network",
        "test_every_plot_dvc_yaml_declares_draws_in_headless_chromium",
    },
    "tests/test_monitor.py": {
        "test_resamples_of_the_test_split_raise_at_most_two_false_alarms_in_twenty",
        "test_the_committed_pipeline_monitoring_its_own_test_split_shows_no_drift_and_no_estimated_drop",
        "test_the_shifted_batch_drifts_and_its_estimated_drop_is_flagged_like_the_realised_one",
        "test_demo_drift_scores_both_batches_through_the_service_and_only_the_shifted_one_fires",
    },
    "tests/test_close_the_loop.py": {  # the walkthrough starts from the reproduced project
        "test_every_line_the_page_shows_is_printed",
        "test_the_retrained_model_wins_on_the_same_rows_and_is_promoted_then_rolled_back",
        "test_production_traffic_reached_the_shadow_and_both_outputs_are_logged",
        "test_the_weaker_challenger_is_refused_with_its_reasons_and_the_figures_are_sklearns",
    },
}
# Modules whose module-scoped repository must be built once: all their tests on one worker.
# test_explanations.py: its fitted models are cached per process, and SHAP compiles its numba code
# once per process (5 to 12 s).
ONE_WORKER_MODULES = {"tests/test_families.py", "tests/test_review.py",
                      "tests/test_multiclass.py", "tests/test_task_switch.py", "tests/test_service.py",
                      "tests/test_personal_data.py", "tests/test_explanations.py", "tests/test_fairness_pipeline.py",
                      "tests/test_service_explain.py", "tests/test_lightgbm.py",
                      "tests/test_registry.py", "tests/test_compare.py"}


def work_unit(nodeid: str) -> str:
    module, _, name = nodeid.partition("::")
    if name.split("[")[0] in FULL_SIZE_TESTS.get(module, ()):
        return "full-size reproduced repository"
    return module if module in ONE_WORKER_MODULES else nodeid


# Seconds of the longest units (setup and calls, from `pytest -n 2 --durations=60`; a key is a
# unit or the start of one). Units start longest first, so that at the end both workers run
# short tests instead of one waiting for the other's last long one. Others: slow 10 s, else 0.
UNIT_SECONDS = {
    "tests/test_task_switch.py": 85,
    "full-size reproduced repository": 220,
    "tests/test_families.py": 55,
    "tests/test_benchmarks.py": 120,
    "tests/test_review.py": 35,
    "tests/test_personal_data.py": 25,
    "tests/test_fairness_pipeline.py": 15,
    "tests/test_reproducibility.py": 25,
    "tests/test_explanations.py": 12,
    "tests/test_lock_merge.py": 20,
    "tests/test_multiclass.py": 40,
    "tests/test_pipeline.py::test_two_runs_from_scratch": 15,
    "tests/test_service.py": 25,
    "tests/test_service_explain.py": 15,
    "tests/test_lightgbm.py": 20,
    "tests/test_registry.py": 25,
    "tests/test_compare.py": 40,
    "tests/test_service_swap.py::test_serve_a_stage": 16,
    "tests/test_service_swap.py::test_a_swap_reaches_every_worker": 11,
    "tests/test_explain_outputs.py::test_a_mitigated_model": 25,
    "tests/test_pipeline.py::test_experiment_sweep": 12,
    "tests/test_unusual_columns.py": 12,
    "tests/test_pipeline.py::test_changing_the_model": 8,
    "tests/test_init.py::test_the_tutorials_commands": 30,
    "tests/test_init.py::test_init_then_dvc_repro": 15,
    "tests/test_monitor.py::test_demo_drift_on_a_table": 15,
}


def unit_seconds(item: pytest.Item) -> float:
    unit = work_unit(item.nodeid)
    listed = [seconds for key, seconds in UNIT_SECONDS.items() if unit.startswith(key)]
    return max(listed) if listed else 10.0 if item.get_closest_marker("slow") else 0.0


def pytest_configure(config: pytest.Config) -> None:
    """The run's stages share one stage server, private to the run and stopped at its end
    (the workers inherit the variable: xdist starts them after this hook)."""
    if not hasattr(config, "workerinput"):
        config.stage_server_folder = Path(tempfile.mkdtemp(prefix="tabular-mlops-tests-"))
        os.environ["XDG_RUNTIME_DIR"] = str(config.stage_server_folder)


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "stage_server_folder", None)
    if folder is not None:
        from tabular_mlops.stage_server.control import stop_servers
        from tabular_mlops.stage_server.protocol import private_folder

        stop_servers(private_folder())
        shutil.rmtree(folder, ignore_errors=True)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "load":  # -n 2 alone means load; any other --dist as asked
        return None
    from xdist.scheduler import LoadScopeScheduling

    # Units in collection order (longest first, see below), not xdist's default: most tests first.
    config.option.loadscopereorder = False

    class UnitScheduling(LoadScopeScheduling):
        """--dist loadscope with the units of `work_unit`."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return UnitScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest units first (a stable sort keeps each module's order)."""
    items.sort(key=lambda item: -unit_seconds(item))


def _run_folder(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder shared by this run's xdist workers, new for every run."""
    folder = tmp_path_factory.getbasetemp()
    return folder if worker_id == "master" else folder.parent


def _build_once(folder: Path, name: str, build) -> Path:
    repo = folder / name / "repo"
    done = folder / name / "built"
    with FileLock(str(folder / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(repo, ignore_errors=True)  # a half-built one from a failed attempt
            build(repo)
            done.write_text("")
    return repo


@pytest.fixture(scope="session")
def reproduced_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A fresh copy of the project (committed dvc.lock, no outputs, empty cache) after `dvc repro --force`.

    Full size: use it only where the full-size figure is the point, and list the test in
    FULL_SIZE_TESTS. Tests that change it work on a copy (`repo_copy`).
    """
    return _build_once(_run_folder(tmp_path_factory, worker_id), "reproduced", _reproduce)


def _reproduce(repo: Path) -> None:
    copy_project(ROOT, repo)
    # Metrics are committed outputs: removed, so nothing of the committed run can be reused;
    # --force reruns every stage even where DVC would find nothing changed.
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    result = dvc(repo, "repro", "--force")
    assert result.returncode == 0, result.output
    repo.joinpath(".repro_output.txt").write_text(result.output)


@pytest.fixture
def repo_copy(reproduced_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the full-size reproduced repository, outputs, cache and git history included."""
    destination = tmp_path / "repo"
    shutil.copytree(reproduced_repo, destination, symlinks=True)
    return destination


@pytest.fixture(scope="session")
def small_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The project on a 600-row sample of the credit table (logistic regression and dummy on
    the leaderboard, light models, `train.model: auto`, the committed gates) after `dvc repro`,
    the run not committed: like `reproduced_repo`, in seconds. Read it; change a copy
    (`small_repo_copy`)."""
    return _build_once(_run_folder(tmp_path_factory, worker_id), "small", reproduce_small)


@pytest.fixture
def small_repo_copy(small_repo: Path, tmp_path: Path) -> Path:
    """A private copy of `small_repo`, outputs, cache and git history included."""
    destination = tmp_path / "repo"
    shutil.copytree(small_repo, destination, symlinks=True)
    return destination
