"""Fixtures that run the real `dvc` in temporary git repositories, never in the checkout."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.dvc_repo import copy_project, dvc, init_git_repo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def reproduced_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the project (committed dvc.lock, no outputs, empty cache) after `dvc repro`.

    Session-scoped because a full run takes ~20 s; tests that change it work on a copy
    (`repo_copy`).
    """
    repo = tmp_path_factory.mktemp("reproduced") / "repo"
    copy_project(ROOT, repo)
    # Metrics are committed outputs: without removing them DVC would rightly skip evaluate.
    shutil.rmtree(repo / "metrics")
    init_git_repo(repo)
    result = dvc(repo, "repro")
    assert result.returncode == 0, result.output
    repo.joinpath(".repro_output.txt").write_text(result.output)
    return repo


@pytest.fixture
def repo_copy(reproduced_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the reproduced repository, outputs, cache and git history included."""
    destination = tmp_path / "repo"
    shutil.copytree(reproduced_repo, destination, symlinks=True)
    return destination
