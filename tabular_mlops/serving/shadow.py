"""Shadow scoring: a challenger scores every request the champion answered, off the request path.

The request path only puts (prediction ids, records) on a queue, after the champion's rows are
committed and before the answer leaves; a runner takes what has queued up (a batch when it backs
up), scores it with the challenger and writes its outputs to the log's shadow_predictions table
under the same prediction ids. A failure of the challenger never reaches an answer: it is counted
(tabular_mlops_shadow_failures{kind}) and logged once per kind. `close` drains the queue.

Two runners: a separate process (the default) and a thread. On two cores a thread costs the
champion's requests the GIL (benchmarks/shadow.py measures both; benchmarks/results.md has the
figures); TABULAR_MLOPS_SHADOW_RUNNER=thread chooses the thread.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading

from tabular_mlops.serving.sources import Source

logger = logging.getLogger("tabular_mlops.serving")
RUNNER_VARIABLE = "TABULAR_MLOPS_SHADOW_RUNNER"
MAX_QUEUED = 10_000  # requests waiting; past it a request is not shadowed (counted as "queue full")
MAX_BATCH = 1_000  # rows scored at once when the queue backs up
STOP = None


def score_batch(bundle, parser, batch: list[tuple[list[str], list[dict]]]) -> tuple[list[str], list[dict]]:
    """(prediction ids, outputs as the log stores them) for queued (ids, records) items."""
    ids = [prediction_id for item_ids, _ in batch for prediction_id in item_ids]
    frame = parser.frame([record for _, records in batch for record in records])
    predicted = bundle.predict(frame)
    columns = {name: predicted[name].tolist() for name in predicted.columns}
    outputs = [dict(zip(columns, values), unseen_categories=flags)
               for *values, flags in zip(*columns.values(), bundle.unseen_categories(frame))]
    return ids, outputs


def run(source: dict, log_path: str, requests, report) -> None:
    """The runner's loop, in a thread or a process: load, then score batches until STOP.
    `report(kind, detail, rows)` tells the service what happened ("ready" or a failure kind)."""
    from tabular_mlops.deployment.artifact import load_bundle
    from tabular_mlops.deployment.prediction_log import PredictionLog
    from tabular_mlops.serving.schema import Parser
    from tabular_mlops.serving.sources import load

    try:
        source = Source(**source)
        # Verified like the champion; no explainer: the challenger never explains.
        bundle = load_bundle(source.model, source.lock, source.runtime) if source.model else load(source).bundle
        parser = Parser(bundle.contract, bundle.input_columns)
        log = PredictionLog(log_path)
        log.register_model(bundle.version, bundle.manifest["model"]["target"], bundle.manifest["contract"])
        report("ready", bundle.version, 0)
    except Exception as error:  # noqa: BLE001 - whatever it is, the champion keeps answering
        report("load", _one_line(error), 0)
        bundle = None
    stopping = False
    while not stopping:
        batch = [requests.get()]
        while len(batch) < MAX_BATCH:  # take what queued up meanwhile
            try:
                batch.append(requests.get_nowait())
            except queue.Empty:
                break
        if STOP in batch:
            stopping = True
            batch = [item for item in batch if item is not STOP]
            while True:  # a put may still land after STOP
                try:
                    item = requests.get_nowait()
                except queue.Empty:
                    break
                batch += [item] if item is not STOP else []
        rows = sum(len(ids) for ids, _ in batch)
        if not batch or bundle is None:
            if rows:
                report("not loaded", "the challenger could not be loaded", rows)
            continue
        try:
            ids, outputs = score_batch(bundle, parser, batch)
        except Exception as error:  # noqa: BLE001
            report("score", _one_line(error), rows)
            continue
        try:
            log.log_shadow(bundle.version, ids, outputs)
        except Exception as error:  # noqa: BLE001
            report("log", _one_line(error), rows)
    if bundle is not None:
        log.close()
    report("stopped", "", 0)


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".splitlines()[0]


class Shadow:
    """The challenger of one service worker. `submit` never raises and never waits."""

    def __init__(self, source: Source, log_path: str, failures, runner: str | None = None) -> None:
        self.source, self.failures = source, failures
        self.runner = runner or os.environ.get(RUNNER_VARIABLE) or "process"
        self.version: str | None = None
        self._logged: set[str] = set()
        self._stopped = threading.Event()
        if self.runner == "thread":
            self._requests = queue.Queue(MAX_QUEUED)
            self._worker = threading.Thread(target=run, args=(source.to_dict(), log_path, self._requests, self._report),
                                            name="shadow", daemon=True)
            self._worker.start()
        else:
            context = multiprocessing.get_context("spawn")  # no fork of a process with threads
            self._requests, self._reports = context.Queue(MAX_QUEUED), context.Queue()
            self._worker = context.Process(target=_process_main, args=(source.to_dict(), log_path, self._requests, self._reports),
                                           name="tabular-mlops-shadow", daemon=True)
            self._worker.start()
            threading.Thread(target=self._read_reports, name="shadow-reports", daemon=True).start()

    def submit(self, ids: list[str], records: list[dict]) -> None:
        try:
            self._requests.put_nowait((ids, records))
        except queue.Full:
            self._report("queue full", f"more than {MAX_QUEUED} requests wait for the challenger", len(ids))

    def describe(self) -> dict:
        return {"model_version": self.version, "source": self.source.describe(), "runner": self.runner}

    def close(self, timeout: float = 30) -> None:
        """Score what is queued, then stop (before the service closes its log)."""
        self._requests.put(STOP)
        self._worker.join(timeout)
        if self.runner == "process":
            self._stopped.wait(1)

    def _report(self, kind: str, detail: str, rows: int) -> None:
        if kind == "ready":
            self.version = detail
            logger.warning("shadow: challenger %s scores every request beside the champion", detail)
        elif kind == "stopped":
            self._stopped.set()
        else:
            self.failures.labels(kind).inc(max(rows, 1))
            if kind not in self._logged:  # once per kind: a broken challenger must not flood the log
                self._logged.add(kind)
                logger.error("shadow: %s failed (counted in tabular_mlops_shadow_failures, logged once): %s", kind, detail)

    def _read_reports(self) -> None:
        while not self._stopped.is_set():
            try:
                self._report(*self._reports.get(timeout=1))
            except queue.Empty:
                if not self._worker.is_alive():
                    self._report("process", f"the shadow process exited with {self._worker.exitcode}", 0)
                    self._stopped.set()
            except (EOFError, OSError):
                return


def _process_main(source: dict, log_path: str, requests, reports) -> None:
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # one core for the challenger, the other for the champion
    run(source, log_path, requests, lambda *report: reports.put(report))
