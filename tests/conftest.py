"""Fixtures that run the real `dvc` in temporary git repositories, never in the checkout."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tests.dvc_repo import copy_project, dvc, init_git_repo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def reproduced_repo(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A fresh copy of the project (committed dvc.lock, no outputs, empty cache) after `dvc repro --force`.

    Built once per test run and shared by the xdist workers (a full run takes minutes);
    tests that change it work on a copy (`repo_copy`).
    """
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent  # shared by this run's workers, new for every run
    repo = run_folder / "reproduced" / "repo"
    with FileLock(str(run_folder / "reproduced.lock")):
        if not (repo / ".repro_output.txt").exists():
            _reproduce(repo)
    return repo


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
    """A private copy of the reproduced repository, outputs, cache and git history included."""
    destination = tmp_path / "repo"
    shutil.copytree(reproduced_repo, destination, symlinks=True)
    return destination
