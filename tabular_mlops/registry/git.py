"""Running git in the project's repository: one error line naming the command when it fails."""
from __future__ import annotations

import subprocess
from pathlib import Path

from tabular_mlops.errors import StageError


def git(repo: str | Path, *arguments: str) -> bytes:
    """git's standard output, or a StageError with the command and git's own message."""
    completed = subprocess.run(["git", *arguments], cwd=repo, capture_output=True)
    if completed.returncode != 0:
        reason = " ".join(completed.stderr.decode(errors="replace").split())
        raise StageError(f"{repo}: git {' '.join(arguments)} failed: {reason}")
    return completed.stdout


def git_text(repo: str | Path, *arguments: str) -> str:
    return git(repo, *arguments).decode().strip()


def file_at(repo: str | Path, commit: str, path: str) -> bytes | None:
    """The bytes of `path` as committed at `commit`, or None when that commit does not hold it."""
    completed = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=repo, capture_output=True)
    return completed.stdout if completed.returncode == 0 else None


def head_commit(repo: str | Path) -> str:
    return git_text(repo, "rev-parse", "--verify", "HEAD^{commit}")


def user_name(repo: str | Path) -> str:
    """git's user.name, which GTO's tags record as their tagger; '(unknown)' when unset."""
    completed = subprocess.run(["git", "config", "user.name"], cwd=repo, capture_output=True, text=True)
    return completed.stdout.strip() or "(unknown)"
