"""Data versioning with a DVC remote: push from one clone, pull into a fresh one, same bytes.

These tests use local-folder remotes (the committed default, and one chosen per clone with
`dvc remote modify --local`); `tests/test_remote_s3.py` does the same against a real S3
server on loopback and reuses the helpers below.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.dvc_repo import LOCK_FILES, DvcResult, dvc, locked_outputs, md5_of

pytestmark = pytest.mark.slow

DEFAULT_REMOTE = "storage"
# .dvc/config says `../../tabular-mlops-storage`: DVC reads it relative to .dvc/, so the
# folder sits beside the repository.
DEFAULT_FOLDER = "tabular-mlops-storage"


def git(repo: Path, *arguments: str) -> str:
    completed = subprocess.run(["git", *arguments], cwd=repo, capture_output=True, text=True)
    assert completed.returncode == 0, f"git {' '.join(arguments)}: {completed.stdout}{completed.stderr}"
    return completed.stdout


def succeeded(result: DvcResult) -> DvcResult:
    assert result.returncode == 0, result.output
    return result


def commit_run(repo: Path, message: str, *extra_paths: str) -> None:
    """Commit what `dvc repro` wrote to git: dvc.lock and the small metrics files."""
    git(repo, "add", *LOCK_FILES, "metrics", *extra_paths)
    git(repo, "commit", "-qm", message)


def fresh_clone(repo: Path, destination: Path) -> Path:
    git(repo.parent, "clone", "-q", str(repo), str(destination))
    return destination


def output_files(repo: Path) -> list[str]:
    """Every file DVC tracks as a stage output in dvc.lock, directories expanded."""
    files = []
    for name in locked_outputs(repo):
        path = repo / name
        if path.is_dir():
            files += [str(inner.relative_to(repo)) for inner in sorted(path.rglob("*")) if inner.is_file()]
        else:
            files.append(name)
    return files


def timed(label: str, repo: Path, *arguments: str) -> DvcResult:
    """Run a dvc command that must succeed and print its wall time (shown with `pytest -rP`)."""
    start = time.perf_counter()
    result = succeeded(dvc(repo, *arguments))
    seconds = time.perf_counter() - start
    summary = [line for line in result.stdout.splitlines() if line.strip()][-1:]
    size = sum((repo / name).stat().st_size for name in output_files(repo))
    print(f"{label}: dvc {' '.join(arguments)}: {seconds:.2f} s; {'; '.join(summary)}; outputs {size / 1e6:.2f} MB")
    return result


def assert_same_outputs(original: Path, clone: Path) -> None:
    files = output_files(original)
    assert "models/model.joblib" in files
    for name in files:
        assert (clone / name).is_file(), f"{name} was not pulled"
        assert md5_of(clone / name) == md5_of(original / name), name
    assert (clone / "models/model.joblib").read_bytes() == (original / "models/model.joblib").read_bytes()


def assert_up_to_date(repo: Path) -> None:
    """Workspace matches dvc.lock, and the cache matches the default remote."""
    assert json.loads(succeeded(dvc(repo, "status", "--json")).stdout) == {}
    assert json.loads(succeeded(dvc(repo, "status", "--cloud", "--json")).stdout) == {}


def stored_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_default_remote_is_a_folder_beside_the_repository(small_repo_copy: Path) -> None:
    def config(key: str) -> str:
        return succeeded(dvc(small_repo_copy, "config", key)).stdout.strip()

    assert config("core.remote") == DEFAULT_REMOTE
    assert Path(config(f"remote.{DEFAULT_REMOTE}.url")) == small_repo_copy.parent / DEFAULT_FOLDER
    assert config("core.analytics") == "false"


def test_push_to_the_default_remote_then_pull_into_a_fresh_clone_restores_every_output(
    small_repo_copy: Path, tmp_path: Path
) -> None:
    storage = tmp_path / DEFAULT_FOLDER
    assert not storage.exists()
    commit_run(small_repo_copy, "pipeline run")
    timed("local folder remote", small_repo_copy, "push")
    assert stored_files(storage / "files" / "md5")

    clone = fresh_clone(small_repo_copy, tmp_path / "clone")
    assert not (clone / "models/model.joblib").exists()  # outputs live in DVC, not in git
    pulled = timed("local folder remote", clone, "pull")
    assert "models/model.joblib" in pulled.output
    assert_up_to_date(clone)
    assert_same_outputs(small_repo_copy, clone)


def test_each_clone_can_point_the_remote_elsewhere_with_remote_modify_local(small_repo_copy: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "disk" / "dvc-storage"
    succeeded(dvc(small_repo_copy, "remote", "modify", "--local", DEFAULT_REMOTE, "url", str(elsewhere)))
    commit_run(small_repo_copy, "pipeline run")
    assert git(small_repo_copy, "status", "--porcelain", "--", ".dvc") == ""  # config.local stays out of git
    succeeded(dvc(small_repo_copy, "push"))
    assert stored_files(elsewhere)
    assert not (tmp_path / DEFAULT_FOLDER).exists()

    clone = fresh_clone(small_repo_copy, tmp_path / "clone")
    # The clone has the committed default only, which holds nothing yet.
    assert dvc(clone, "pull").returncode != 0
    succeeded(dvc(clone, "remote", "modify", "--local", DEFAULT_REMOTE, "url", str(elsewhere)))
    succeeded(dvc(clone, "pull"))
    assert_up_to_date(clone)
    assert_same_outputs(small_repo_copy, clone)


def test_a_users_table_added_with_dvc_add_is_pushed_and_restored_in_a_fresh_clone(
    small_repo_copy: Path, tmp_path: Path
) -> None:
    table = small_repo_copy / "data/raw/my_table.csv"
    shutil.copyfile(small_repo_copy / "data/raw/credit.csv", table)
    succeeded(dvc(small_repo_copy, "add", "data/raw/my_table.csv"))
    assert "/my_table.csv" in (small_repo_copy / "data/raw/.gitignore").read_text().split()
    commit_run(small_repo_copy, "add my table", "data/raw/my_table.csv.dvc", "data/raw/.gitignore")
    assert "data/raw/my_table.csv" not in git(small_repo_copy, "ls-files", "data/raw").split()
    succeeded(dvc(small_repo_copy, "push"))

    clone = fresh_clone(small_repo_copy, tmp_path / "clone")
    assert not (clone / "data/raw/my_table.csv").exists()
    succeeded(dvc(clone, "pull"))
    assert (clone / "data/raw/my_table.csv").read_bytes() == table.read_bytes()
    assert_up_to_date(clone)
