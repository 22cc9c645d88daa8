"""How long the README's two installs take: the pipeline's (`pip install -e .`) and the test tools'.

    python benchmarks/install.py            # prints a Markdown section for benchmarks/results.md

Each install runs in a new virtual environment made by the interpreter running this script, in a
temporary copy of the project (what `git ls-files` lists), with pip's own cache as the machine has
it; the section says whether that cache was empty. Measured:
(1) `pip install -e .` in a new environment: the README's first command, before `dvc repro`;
(2) `pip install -e '.[dev]'` in that same environment: what `bash .ci/run` then adds;
(3) `pip install -e '.[dev]'` in another new environment: both at once.
"""
from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_project(destination: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)


def timed_install(venv: Path, project: Path, target: str) -> float:
    """Seconds of one `pip install -e TARGET` in `venv` (made first when missing)."""
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    started = time.perf_counter()
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "-e", target], cwd=project, check=True,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return time.perf_counter() - started


def pip_cache_state() -> str:
    """How full pip's cache was: with an empty one, every wheel is downloaded."""
    folder = subprocess.run([sys.executable, "-m", "pip", "cache", "dir"], capture_output=True, text=True).stdout.strip()
    size = sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file()) if folder and Path(folder).is_dir() else 0
    return f"pip's cache held {size / 2**20:.1f} MiB before the first install ({'so every wheel was downloaded' if size < 2**27 else 'warm'})"


def main() -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    cache = pip_cache_state()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        project = scratch / "project"
        copy_project(project)
        pipeline = timed_install(scratch / "venv-pipeline", project, ".")
        added = timed_install(scratch / "venv-pipeline", project, ".[dev]")
        both = timed_install(scratch / "venv-dev", project, ".[dev]")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        "## (g) Installing: the README's two commands", "",
        f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, commit {commit};"
        f" {cache}. Command: `python benchmarks/install.py`. Load average at the end: {os.getloadavg()[0]:.2f}.", "",
        "| install, in a new virtual environment | seconds |", "|---|---:|",
        f"| `pip install -e .` (what `dvc repro` needs) | {pipeline:.0f} |",
        f"| then `pip install -e '.[dev]'` in the same environment (what `bash .ci/run` adds: the test tools, the docs site) | {added:.0f} |",
        f"| `pip install -e '.[dev]'` alone | {both:.0f} |", "",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
