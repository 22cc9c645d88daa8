"""Helpers to build a temporary git + DVC repository from the project files and run `dvc` in it."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

# Not copied: the tests themselves and anything a run produces.
NOT_PROJECT = ("tests/", "benchmarks/", "docs/")


@dataclass
class DvcResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def project_files(root: Path) -> list[str]:
    """What a fresh clone holds: tracked files plus new, not-ignored ones (for work in progress)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root, check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    return [name for name in listed if name and not name.startswith(NOT_PROJECT) and (root / name).is_file()]


def copy_project(root: Path, destination: Path) -> None:
    for name in project_files(root):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)


def init_git_repo(repo: Path) -> None:
    for command in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "config", "user.name", "test"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "project"],
    ):
        subprocess.run(command, cwd=repo, check=True, capture_output=True)


def environment() -> dict[str, str]:
    """The stages run as `python -m stages.X`: make `python` this interpreter."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("PYTHONPATH", None)
    return env


def dvc(repo: Path, *arguments: str, timeout: float = 600) -> DvcResult:
    completed = subprocess.run(
        [sys.executable, "-m", "dvc", *arguments],
        cwd=repo, env=environment(), capture_output=True, text=True, timeout=timeout,
    )
    return DvcResult(completed.returncode, completed.stdout, completed.stderr)


def read_lock(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.lock").read_text())


def locked_outputs(repo: Path) -> dict[str, str]:
    """{output path: md5} for every file output recorded in dvc.lock (directories expanded by DVC's .dir)."""
    outputs = {}
    for stage in read_lock(repo)["stages"].values():
        for out in stage.get("outs", []):
            outputs[out["path"]] = out["md5"]
    return outputs


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def ran_stages(output: str) -> set[str]:
    return {line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")}
