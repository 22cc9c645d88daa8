"""The repository that `tabular-mlops init` works in: is it still the example, is its tree clean,
and the few git and DVC calls init makes."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tabular_mlops.errors import StageError

EXAMPLE = "example.yaml"  # lists the example's own files; while it exists, the repository is the example
LOCK_FILES = ("dvc.lock", "leaderboard/dvc.lock")
# Above this, the table is added to DVC rather than git: GitHub warns about a file over 50 MB
# and refuses one over 100 MB, and every clone would download each version of it.
LARGE_TABLE_BYTES = 50 * 1024 ** 2


@dataclass(frozen=True)
class Request:
    table: Path
    target: str
    name: Optional[str] = None  # default: the table's file name without its suffix
    task: Optional[str] = None  # default: inferred from the target
    positive_class: Optional[str] = None  # default: inferred for two classes, none for more


def example_files(root: Path) -> list[str]:
    """What init removes, files that exist: the example's own (example.yaml lists them, and the
    folders of the template's tests and benchmarks), example.yaml, the lock files, and the
    pipeline's outputs that git holds (those the lock files record, and all under metrics/).
    Refuse a project that is not the example."""
    import yaml

    for needed in ("params.yaml", "dvc.yaml"):
        if not (root / needed).is_file():
            raise StageError(f"{needed}: not found in {root}; run init from the project's root folder")
    manifest = root / EXAMPLE
    if not manifest.is_file():
        raise StageError(f"init has already made this project yours ({EXAMPLE} is gone);"
                         " to change the table, edit the data: block of params.yaml and run `tabular-mlops contract --force`")
    listed = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    own = [str(name) for name in listed["files"]]
    folders = [str(name) for name in listed.get("folders", [])]
    if folders:  # the template's tests and benchmarks: every file git tracks under them
        own += git(root, "ls-files", "-z", "--", *folders).split("\0")
    outputs = []
    for lock_file in LOCK_FILES:
        try:
            stages = (yaml.safe_load((root / lock_file).read_text(encoding="utf-8")) or {}).get("stages", {})
        except (FileNotFoundError, yaml.YAMLError):  # absent, or mid-merge: removed all the same
            continue
        outputs += [out["path"] for stage in stages.values() for out in stage.get("outs", [])]
    committed = git(root, "ls-files", "-z", "--", "metrics", *outputs).split("\0")
    names = [*filter(None, own), EXAMPLE, *LOCK_FILES, *sorted(filter(None, committed))]
    return list(dict.fromkeys(name for name in names if (root / name).is_file()))


def require_clean_tree(root: Path, table: Path, removed: list[str]) -> None:
    """init's change must be the only one `git status` shows. Not counted: the user's table waiting
    untracked inside, and changes to what init removes (a `dvc repro` of the example on another CPU
    rewrites dvc.lock)."""
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    resolved, inside = table.resolve(), root.resolve()
    exempt = set(removed) | ({resolved.relative_to(inside).as_posix()} if resolved.is_relative_to(inside) else set())
    dirty = [line[3:] for line in status.splitlines() if line and line[3:].strip('"') not in exempt]
    if dirty:
        shown = ", ".join(dirty[:3]) + (f" and {len(dirty) - 3} more" if len(dirty) > 3 else "")
        raise StageError(f"the git tree has uncommitted changes ({shown}); commit or stash them first, so that"
                         " `git status` shows only what init changes")


def git(root: Path, *arguments: str) -> str:
    try:
        done = subprocess.run(["git", *arguments], cwd=root, capture_output=True, text=True)
    except FileNotFoundError:
        raise StageError("git not found; init needs git to show what it changed") from None
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise StageError(f"`git {arguments[0]}` failed in {root}: {why} (init runs in a git clone of the project)")
    return done.stdout


def artifact_name(name: str) -> str:
    """A DVC artifact name: lower-case letters, digits and single hyphens, starting and ending with a letter or digit."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug:
        raise StageError(f"--name {name!r}: needs a letter or a digit (it names the model artifact)")
    return slug


def dvc_add(root: Path, path: str) -> None:
    done = subprocess.run([sys.executable, "-m", "dvc", "add", path], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        why = ((done.stderr or done.stdout).strip().splitlines() or ["no message"])[-1]
        raise StageError(f"{path}: `dvc add` failed: {why}")


def copy_table(source: Path, destination: Path) -> None:
    """The user's file as it is (same format, same bytes); nothing to do when it is already there."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if not destination.exists() or not destination.samefile(source):
        shutil.copyfile(source, destination)
