"""Fixtures that run the real `dvc` in temporary git repositories, never in the checkout.

Two reproduced repositories are built once per test run and shared by the xdist workers
(a file lock makes the first worker that needs one build it while the other waits):

- `reproduced_repo`: the project as committed, full size, every family. Only tests whose
  point is the full-size figure use it (ROC-AUC above 0.80, the committed dvc.lock and
  metrics reproduced byte for byte, the plots); they share the xdist group `full_repro`, so
  one worker builds it while the other runs everything else.
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
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from filelock import FileLock  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from tests.dvc_repo import copy_project, dvc, init_git_repo, small_credit_project  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

_THREADS = threadpool_limits(limits=1)  # kept referenced for the whole session


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first: end-to-end (slow) tests before the unit tests, so the
    short ones fill the gaps at the end instead of leaving one worker idle at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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
    """A fresh copy of the project (committed dvc.lock, no outputs, empty cache) after `dvc repro`.

    Full size: use it only where the full-size figure is the point, and mark the test
    `@pytest.mark.xdist_group(FULL_REPRO_GROUP)` (tests/dvc_repo.py). Tests that change it work on a copy (`repo_copy`).
    """
    return _build_once(_run_folder(tmp_path_factory, worker_id), "reproduced", _reproduce)


def _reproduce(repo: Path) -> None:
    copy_project(ROOT, repo)
    # Metrics are committed outputs: without removing them DVC would rightly skip evaluate.
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    result = dvc(repo, "repro")
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
    return _build_once(_run_folder(tmp_path_factory, worker_id), "small", _reproduce_small)


def _reproduce_small(repo: Path) -> None:
    small_credit_project(repo, gates=None, model="auto")
    # No run in the first commit: the committed full-size dvc.lock and metrics are not this run's.
    (repo / "dvc.lock").unlink()
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output


@pytest.fixture
def small_repo_copy(small_repo: Path, tmp_path: Path) -> Path:
    """A private copy of `small_repo`, outputs, cache and git history included."""
    destination = tmp_path / "repo"
    shutil.copytree(small_repo, destination, symlinks=True)
    return destination
