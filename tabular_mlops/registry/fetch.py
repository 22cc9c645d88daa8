"""Fetching a registered version of the model bundle: by stage (`#prod`) or by version (`@v1.2.0`).

GTO's tags (read by versions.py) resolve to a commit; `dvc artifacts get` copies the bundle DVC
recorded at that commit (from the local cache, or a remote when the cache lacks it) into a folder
of its own, and dvc.lock as committed there comes beside it, so `load_bundle` refuses a bundle
that is not the one that commit's pipeline wrote.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from tabular_mlops.errors import StageError
from tabular_mlops.registry.git import git

FETCHED = ".tabular-mlops/registry"  # under the repository; gitignored, outside DVC's outputs
LOCK_FILE = "dvc.lock"


@dataclass(frozen=True)
class RegisteredBundle:
    directory: Path  # the fetched bundle folder
    lock: Path  # dvc.lock as committed with that version: load_bundle checks the bundle against it
    artifact: str
    version: str  # e.g. v1.2.0
    stage: str | None  # the stage it was fetched by, if any
    commit: str  # the registered commit (40 hex digits)

    def describe(self) -> dict:
        """What /version and the logs say about where the model came from."""
        return {"artifact": self.artifact, "version": self.version, "stage": self.stage, "commit": self.commit}


def model_artifact(repo: str | Path = ".") -> str:
    """The name of the one artifact of type model that dvc.yaml declares."""
    path = Path(repo) / "dvc.yaml"
    try:
        artifacts = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("artifacts") or {}
    except (OSError, yaml.YAMLError) as error:
        raise StageError(f"{path}: cannot read the artifacts it declares ({error})") from None
    models = [name for name, spec in artifacts.items() if (spec or {}).get("type") == "model"]
    if len(models) != 1:
        raise StageError(f"{path}: expected one artifact of type model under artifacts:, found {len(models)} "
                         f"({', '.join(models) or 'none'})")
    return models[0]


def resolve(repo: str | Path = ".", *, stage: str | None = None, version: str | None = None,
            artifact: str | None = None) -> tuple[str, str, str]:
    """(artifact, version, commit) of the version a stage points at, or of a version by name."""
    from tabular_mlops.registry.versions import read_registry

    if (stage is None) == (version is None):
        raise StageError("give a stage (e.g. prod) or a version (e.g. v1.2.0), not both")
    artifact = artifact or model_artifact(repo)
    registry = read_registry(repo, artifact)
    if stage is not None:
        version = registry.current(stage)
        if version is None:
            raise StageError(f"{artifact}#{stage}: no version of {artifact} is at stage '{stage}'; "
                             f"`tabular-mlops versions` lists the registry")
    registered = registry.named(version)
    if registered is None:
        raise StageError(f"{artifact}@{version}: not a registered version of {artifact}; registered: "
                         f"{', '.join(entry.version for entry in registry.versions) or 'none'}")
    return artifact, version, registered.commit


def fetch(repo: str | Path = ".", *, stage: str | None = None, version: str | None = None,
          artifact: str | None = None) -> RegisteredBundle:
    """The bundle of a registered version, copied to <repo>/.tabular-mlops/registry/<artifact>@<version>/
    (reused when already there) with that commit's dvc.lock beside it. Not verified here: pass
    `directory` and `lock` to load_bundle."""
    repo = Path(repo).resolve()
    artifact, version, commit = resolve(repo, stage=stage, version=version, artifact=artifact)
    home = repo / FETCHED / f"{artifact}@{version}"
    bundle, lock = home / "bundle", home / LOCK_FILE
    if not (bundle.is_dir() and lock.is_file()):
        home.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=home.parent, prefix=f".{home.name}."))
        try:
            _download(repo, artifact, version, building / "bundle")
            (building / LOCK_FILE).write_bytes(git(repo, "show", f"{commit}:{LOCK_FILE}"))
            shutil.rmtree(home, ignore_errors=True)
            os.replace(building, home)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return RegisteredBundle(bundle, lock, artifact, version, stage, commit)


def _download(repo: Path, artifact: str, version: str, out: Path) -> None:
    completed = subprocess.run([sys.executable, "-m", "dvc", "artifacts", "get", str(repo), artifact, "--rev", version, "-o", str(out), "--force"],
                               cwd=repo, capture_output=True, text=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    if completed.returncode != 0 or not out.is_dir():
        reason = [line for line in completed.stderr.splitlines() if line.strip()][-1:] or ["no output"]
        raise StageError(f"{artifact}@{version}: `dvc artifacts get` could not fetch the bundle ({reason[0].strip()}); "
                         "is it in the DVC cache or a remote (`dvc push` where it was built)?")

