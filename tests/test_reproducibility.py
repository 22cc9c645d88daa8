"""The same pipeline on another x86-64 CPU gives the same metrics/ and dvc.lock (README, "Same numbers
on every machine"), checked by simulating one: numpy without its AVX2 kernels, the C library
without its FMA variants, and more BLAS/OpenMP threads than here."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from tests.dvc_repo import copy_project, dvc, files_under, init_git_repo, lock_without_model_bytes, read_lock, small_and_fast, update_params

ROOT = Path(__file__).resolve().parents[1]
ANOTHER_CPU = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3",  # numpy 2.4 groups AVX2, FMA3... as X86_V3; "AVX2" alone is ignored
    "GLIBC_TUNABLES": "glibc.cpu.hwcaps=-FMA",  # log1p, exp, log of libm without their FMA variants
    "OPENBLAS_NUM_THREADS": "2",
    "OMP_NUM_THREADS": "2",
}
# Assets values whose log1p glibc 2.36 rounds differently with and without FMA (found by
# comparing np.log1p(0, 1, ..., 2e6) under both): featurize really meets the difference.
LOG1P_DISAGREES = [43259, 47963, 171637, 179801, 185434, 185788, 191358, 194962]


def sample_repo(repo: Path) -> Path:
    copy_project(ROOT, repo)
    table = pd.read_csv(repo / "data/raw/credit.csv").sample(n=500, random_state=3).reset_index(drop=True)
    table.loc[: 3 * len(LOG1P_DISAGREES) - 1, "Assets"] = LOG1P_DISAGREES * 3
    table.to_csv(repo / "data/raw/credit.csv", index=False)

    def configure(params: dict) -> None:
        small_and_fast(params, ["logistic_regression", "dummy"], gates=[])
        params["leaderboard"]["cv_folds"] = params["evaluate"]["cv_folds"] = 3
        params["featurize"]["numeric"]["outliers"]["method"] = "none"  # or the fences clip those values
        params["monitor"]["min_rows"] = 50  # the 100-row test split gets a real drift and performance report

    update_params(repo, configure)
    init_git_repo(repo)
    return repo


@pytest.mark.slow
def test_a_simulated_other_cpu_gives_the_same_metrics_and_dvc_lock_apart_from_the_model_bytes(tmp_path: Path) -> None:
    here, there = sample_repo(tmp_path / "here"), sample_repo(tmp_path / "there")
    with ThreadPoolExecutor(2) as pool:  # the two runs side by side: half the time on two cores
        results = list(pool.map(lambda repo, env: dvc(repo, "repro", env=env), (here, there), ({}, ANOTHER_CPU)))
    for result in results:
        assert result.returncode == 0, result.output
    metrics_here, metrics_there = files_under(here / "metrics"), files_under(there / "metrics")
    assert sorted(metrics_here) == sorted(metrics_there) and len(metrics_here) > 10
    assert [name for name in metrics_here if metrics_here[name] != metrics_there[name]] == []
    assert lock_without_model_bytes(read_lock(here)) == lock_without_model_bytes(read_lock(there))
    # featurize's outputs, preprocessor included, are identical: dvc.lock compares their md5
    outs = {out["path"] for out in read_lock(here)["stages"]["featurize"]["outs"]}
    assert outs == {"models/preprocessor.joblib", "data/features/train.parquet", "metrics/featurize.json"}
