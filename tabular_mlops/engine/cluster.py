"""The Dask cluster a stage runs on, and joblib's Dask backend around the cross-validations.

dask and distributed are imported inside the functions that use them: a stage on the pandas
engine never loads them (start-up time), and they are an optional extra (`pip install -e '.[dask]'`).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from tabular_mlops.config.params import EngineParams
from tabular_mlops.errors import StageError

INSTALL = "pip install -e '.[dask]'"
CONNECT_SECONDS = 30
_ON_CLUSTER: ContextVar[bool] = ContextVar("folds_on_cluster", default=False)


def require_dask() -> None:
    """One clear line, not an ImportError's traceback, when engine.name asks for what is not installed."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise StageError(f"params.yaml: engine.name is 'dask', but dask is not installed; install it with {INSTALL}") from None


@contextmanager
def dask_client(spec: EngineParams) -> Iterator[object]:
    """A distributed.Client on engine.scheduler, or on a LocalCluster of engine.workers processes
    started here and closed on the way out (the dashboard off)."""
    require_dask()
    from distributed import Client, LocalCluster

    if spec.scheduler is not None:
        try:
            client = Client(spec.scheduler, timeout=CONNECT_SECONDS)
        except OSError as error:
            raise StageError(f"params.yaml: engine.scheduler: no Dask scheduler answers at {spec.scheduler}"
                             f" ({' '.join(str(error).split())})") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=spec.workers, threads_per_worker=spec.threads_per_worker, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


@contextmanager
def engine_client(spec: EngineParams) -> Iterator[object | None]:
    """The client for engine.name dask, None for pandas (the stage then runs as it always has)."""
    if spec.name != "dask":
        yield None
        return
    with dask_client(spec) as client:
        yield client


@contextmanager
def folds_on_cluster(spec: EngineParams) -> Iterator[None]:
    """With engine.name dask, the cross-validations and searches inside run their folds on the
    cluster through joblib's Dask backend; with pandas, nothing changes. The folds, seeds and
    estimators are the same either way, so are the scores."""
    if spec.name != "dask":
        yield
        return
    import joblib

    with dask_client(spec), joblib.parallel_config(backend="dask"):
        token = _ON_CLUSTER.set(True)
        try:
            yield
        finally:
            _ON_CLUSTER.reset(token)


def fold_jobs(n_jobs: int) -> int:
    """The n_jobs to hand scikit-learn: -1 inside `folds_on_cluster` (every worker thread of the
    cluster; joblib runs n_jobs=1 in-process whatever the backend), else `n_jobs` as given."""
    return -1 if _ON_CLUSTER.get() else n_jobs
