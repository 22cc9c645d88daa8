"""The scoring service on both runtimes in one run: the pickled scikit-learn pipeline ("before",
`serve --runtime scikit-learn`) against the bundle's compiled model ("after", `--runtime auto`:
model.onnx on onnxruntime), beside issue 21's goals.

    python benchmarks/service.py [--bundle DIR] [--rows FILE] [--requests 1000] [--seconds 5] [--out benchmarks/results.md]

Real `tabular-mlops serve` processes on loopback ports, one per runtime, measured in turns (one
path, then the other, the order alternating) so both see the same load on a shared machine:
- one row in-process: the pipeline's predict_proba against CompiledModel.predict, Bundle.predict
  on each path, and a request's work without HTTP or the log (parse the JSON body, score it and
  find unseen categories as the service does: a DataFrame on one path, the records on the other),
  --requests calls each, in blocks of a twentieth on row after row (caches warm, as in a loop);
- /predict at concurrency 1, one worker: per turn, the same row to each server (--requests each);
- /predict at concurrency 16: two rounds of --seconds per server, with one worker and then with
  `--workers 2`: requests per second and latency;
- /predict/batch with 1,000 rows (JSON encoded once): rows per second, the first of 11 turns a warm-up;
- GET /health: HTTP and the framework without the model.
The client writes requests encoded beforehand to keep-alive sockets and reads the responses
itself: tens of microseconds of client work a request where httpx spends hundreds, which on two
shared cores would be counted as the service's (the notes give GET /health through both clients).
Prints this benchmark's section of benchmarks/results.md; --out replaces it there (or appends it).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import httpx  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import write_section  # noqa: E402
from tabular_mlops.deployment.artifact import load_bundle  # noqa: E402
from tabular_mlops.serving.schema import Parser  # noqa: E402
from tests import service as svc  # noqa: E402
from tests.test_service import as_records  # noqa: E402

HEADING = "## The compiled model: the service"
PATHS = {"scikit-learn": "scikit-learn", "compiled": "auto"}  # the table's column: serve's --runtime
BATCH_ROWS, CONCURRENCY = 1000, 16


class Connection:
    """One keep-alive HTTP/1.1 connection that sends requests encoded beforehand."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.socket = socket.create_connection((host, int(port)))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def send(self, request: bytes) -> bytes:
        """The response's body; RuntimeError unless its status is 200."""
        self.socket.sendall(request)
        while b"\r\n\r\n" not in self.pending:
            self.pending += self._received()
        head, _, body = self.pending.partition(b"\r\n\r\n")
        status, *headers = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in headers if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += self._received()
        self.pending = body[length:]
        if status.split(b" ")[1] != b"200":
            raise RuntimeError(f"{status.decode()}: {body[:length].decode()[:300]}")
        return body[:length]

    def _received(self) -> bytes:
        data = self.socket.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data


def request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def request_work(bundle, parser: Parser, body: bytes, batch: bool = False):
    """A request's work on `bundle`'s path without HTTP or the log, as the service does it: parse
    the JSON, score (the records themselves when compiled, a DataFrame of them otherwise), unseen categories."""
    def work() -> None:
        records = parser.batch_json(body, BATCH_ROWS) if batch else parser.one(body)
        if bundle.compiled is None:
            scored = parser.frame(records)
            bundle.predict(scored), bundle.unseen_categories(scored)
        else:
            bundle.predict_records(records), bundle.unseen_categories(records)

    return work


def one_row_work(bundle, parser: Parser, frame: pd.DataFrame, feeds: dict, body: bytes) -> dict:
    """What is timed in-process for one row, on `bundle`'s path."""
    model = bundle.model.predict_proba if hasattr(bundle.model, "predict_proba") else bundle.model.predict
    return {"model": (lambda: model(frame)) if bundle.compiled is None else (lambda: bundle.compiled.predict(feeds)),
            "bundle": lambda: bundle.predict(frame), "request": request_work(bundle, parser, body)}


def concurrent_round(url: str, requests: list[bytes], seconds: float) -> dict:
    """CONCURRENCY clients on connections of their own, each sending its next request as soon as
    the last is answered, for `seconds`: the latencies, requests per second, the client's CPU share."""
    connections = [Connection(url) for _ in range(CONCURRENCY)]
    for number, connection in enumerate(connections):  # each connection (so each worker) warm
        connection.send(requests[number % len(requests)])
    start, latencies, ends = threading.Barrier(CONCURRENCY + 1), [[] for _ in connections], [0.0] * CONCURRENCY
    deadline = [0.0]

    def client(number: int) -> None:
        start.wait()
        position = number
        while (sent := time.perf_counter()) < deadline[0]:
            connections[number].send(requests[position % len(requests)])
            latencies[number].append(time.perf_counter() - sent)
            position += CONCURRENCY
        ends[number] = time.perf_counter()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    cpu, began = time.process_time(), time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    wall = max(ends) - began
    for connection in connections:
        connection.socket.close()
    answered = [value for values in latencies for value in values]
    return {"latencies": answered, "rate": len(answered) / wall, "client_cpu": (time.process_time() - cpu) / wall}


def concurrent_rounds(urls: dict[str, str], requests: list[bytes], seconds: float) -> dict[str, dict]:
    """Two rounds per server, each server in turn; latencies pooled, rates per round."""
    rounds = {path: [] for path in urls}
    for _ in range(2):
        for path, url in urls.items():
            rounds[path].append(concurrent_round(url, requests, seconds))
    return {path: {"latencies": [value for one in done for value in one["latencies"]], "rates": [one["rate"] for one in done],
                   "client_cpu": max(one["client_cpu"] for one in done)} for path, done in rounds.items()}


def started(bundle: Path, scratch: Path, name: str, *extra: str) -> dict[str, svc.Service]:
    """One server per path, each with its own empty prediction log."""
    servers = {}
    for path, runtime in PATHS.items():
        folder = svc.working_folder(scratch / f"{name}-{path}", ROOT / "params.yaml", log=str(scratch / f"{name}-{path}" / "log.sqlite"))
        servers[path] = svc.start(bundle, folder, "--runtime", runtime, *extra)
    return servers


def stopped(servers: dict[str, svc.Service]) -> None:
    for server in servers.values():
        server.stop()


def health(connection: Connection, count: int) -> list[float]:
    """`count` GET /health round trips after 10 of warm-up: HTTP and the framework, no model."""
    return [timed(lambda: connection.send(request("GET", "/health"))) for _ in range(count + 10)][10:]


def one_worker(servers: dict[str, svc.Service], singles: list[bytes], batch: bytes, batch_works: dict, seconds: float) -> dict:
    """Everything measured on the one-worker servers, each path in turn (the order alternating)."""
    measured: dict = {"health": {}, "answers": {}}
    connections = {path: Connection(server.url) for path, server in servers.items()}
    for path, connection in connections.items():
        measured["health"][path] = health(connection, health_samples(singles))
        for body in singles[:20]:
            connection.send(body)  # warm up
    with httpx.Client() as client:
        url = servers["compiled"].url
        measured["health"]["httpx"] = [timed(lambda: client.get(f"{url}/health").raise_for_status())
                                       for _ in range(health_samples(singles) + 10)][10:]
    for name in ("c1", "batch", "batch_request"):
        measured[name] = {path: [] for path in PATHS}
    for turn in range(len(singles)):
        for path in in_turn(turn):
            started_at = time.perf_counter()
            measured["answers"].setdefault(path, []).append(connections[path].send(singles[turn]))
            measured["c1"][path].append(time.perf_counter() - started_at)
    measured["c16"] = concurrent_rounds({path: server.url for path, server in servers.items()}, singles, seconds)
    connections = {path: Connection(server.url) for path, server in servers.items()}  # uvicorn closes those idle for 5 s
    for turn in range(11):  # the first of each warms up
        for path in in_turn(turn):
            measured["batch_request"][path].append(timed(batch_works[path]))
            measured["batch"][path].append(timed(lambda: connections[path].send(batch)))
    return measured


def in_process(works: list[dict], blocks: int = 20) -> dict:
    """Per measure and path, the seconds of each call: the same call on row after row in a block
    (caches warm, as in a loop), the paths' blocks in turn."""
    measured = {name: {path: [] for path in PATHS} for name in works[0][next(iter(PATHS))]}
    size = max(1, len(works) // blocks)
    for block in range(0, len(works), size):
        for path in in_turn(block // size):
            for name in measured:
                measured[name][path] += [timed(work[path][name]) for work in works[block:block + size]]
    return measured


def health_samples(singles: list[bytes]) -> int:
    return max(20, len(singles) // 5)


def in_turn(turn: int) -> list[str]:
    """The paths in the order of this turn: alternating, so neither always goes first."""
    return list(PATHS) if turn % 2 == 0 else list(PATHS)[::-1]


def two_workers(servers: dict[str, svc.Service], singles: list[bytes], seconds: float) -> dict:
    return {"health": {path: health(Connection(server.url), health_samples(singles)) for path, server in servers.items()},
            "c16": concurrent_rounds({path: server.url for path, server in servers.items()}, singles, seconds)}


def differences(answers: dict[str, list[bytes]]) -> tuple[float, int]:
    """The largest difference between the two servers' probabilities (or values), and the decisions that differ."""
    def scores(answer: dict) -> list[float]:
        return list(answer["probabilities"].values()) if "probabilities" in answer else [answer.get("probability", answer.get("prediction"))]

    largest, decisions = 0.0, 0
    for before, after in zip(*(answers[path] for path in PATHS)):
        before, after = json.loads(before), json.loads(after)
        largest = max([largest] + [abs(one - other) for one, other in zip(scores(before), scores(after))])
        decisions += before.get("decision") != after.get("decision")
    return largest, decisions


def row(measure: str, values: dict[str, float], unit: str, goal: str = "", met: bool | None = None) -> str:
    """A table row; the ratio says how many times faster the compiled path is."""
    rate = unit.endswith("/s")
    ratio = values["compiled"] / values["scikit-learn"] if rate else values["scikit-learn"] / values["compiled"]
    shown = {"ms": "{:,.2f}", "µs": "{:,.0f}"}.get(unit, "{:,.0f}")
    cells = [shown.format(values[path]) for path in PATHS]
    return f"| {measure}, {unit} | {cells[0]} | {cells[1]} | {ratio:,.1f} | {goal} | {'' if met is None else 'yes' if met else 'no'} |"


def table(measured: dict, two: dict) -> tuple[list[str], dict[str, bool]]:
    """The goals table's lines and, per goal, whether the compiled path met it."""
    def per_path(figure) -> dict[str, float]:
        return {path: figure(path) for path in PATHS}

    median_ms = lambda samples: per_path(lambda path: statistics.median(samples[path]) * 1000)  # noqa: E731
    p99_ms = lambda samples: per_path(lambda path: percentile(samples[path], 0.99) * 1000)  # noqa: E731
    micro = lambda name: per_path(lambda path: statistics.median(measured[name][path]) * 1e6)  # noqa: E731
    rows_per_second = lambda name: per_path(lambda path: BATCH_ROWS / statistics.median(measured[name][path][1:]))  # noqa: E731
    pooled = lambda rounds: {path: rounds[path]["latencies"] for path in PATHS}  # noqa: E731
    rate = lambda rounds: per_path(lambda path: statistics.fmean(rounds[path]["rates"]))  # noqa: E731
    p50, p99, rate_two, p99_two, batch = (median_ms(measured["c1"]), p99_ms(measured["c1"]), rate(two["c16"]),
                                          p99_ms(pooled(two["c16"])), rows_per_second("batch"))
    goals = {"/predict p50 at concurrency 1 at most 2 ms": p50["compiled"] <= 2,
             "/predict p99 at concurrency 1 at most 5 ms": p99["compiled"] <= 5,
             "at least 1,000 requests a second at concurrency 16 with two workers": rate_two["compiled"] >= 1000,
             "p99 under 50 ms at concurrency 16 with two workers": p99_two["compiled"] < 50,
             "/predict/batch at least 5 times the scikit-learn path's rows per second": batch["compiled"] >= 5 * batch["scikit-learn"]}
    met = list(goals.values())
    lines = ["| measure | scikit-learn | compiled | ratio | goal | met |", "|---|---:|---:|---:|---|---|",
             row("/predict p50 at concurrency 1", p50, "ms", "≤ 2 ms", met[0]),
             row("/predict p99 at concurrency 1", p99, "ms", "≤ 5 ms", met[1]),
             row("/predict at concurrency 16, 2 workers", rate_two, "requests/s", "≥ 1,000", met[2]),
             row("/predict p99 at concurrency 16, 2 workers", p99_two, "ms", "< 50 ms", met[3]),
             row(f"/predict/batch with {BATCH_ROWS:,} rows", batch, "rows/s", "≥ 5 × scikit-learn's", met[4]),
             row("one row in-process: the model alone (Pipeline.predict_proba on a DataFrame; CompiledModel.predict)",
                 micro("model"), "µs", "beside scikit-learn's"),
             row("one row in-process: Bundle.predict on a one-row DataFrame", micro("bundle"), "µs"),
             row("one row in-process: a request's work without HTTP or the log", micro("request"), "µs"),
             row("GET /health round trip, 1 worker", median_ms(measured["health"]), "ms"),
             row("GET /health round trip, 2 workers", median_ms(two["health"]), "ms"),
             row("/predict p50 at concurrency 16, 2 workers", median_ms(pooled(two["c16"])), "ms"),
             row("/predict at concurrency 16, 1 worker", rate(measured["c16"]), "requests/s"),
             row("/predict p99 at concurrency 16, 1 worker", p99_ms(pooled(measured["c16"])), "ms"),
             row(f"{BATCH_ROWS:,} rows in-process: a request's work without HTTP or the log", rows_per_second("batch_request"), "rows/s")]
    return lines, goals


def prepared(bundles: dict, rows_file: Path | None, requests: int) -> dict:
    """BATCH_ROWS rows of the table as client requests, and the in-process work on each row and on all of them."""
    bundle = bundles["compiled"]
    table = pd.read_csv(rows_file or ROOT / "data/raw/credit.csv")
    target = bundle.manifest["model"]["target"]
    table = table.dropna(subset=[name for name in bundle.input_columns if not bundle.contract.columns[name].nullable])
    rows = table.sample(n=BATCH_ROWS, replace=len(table) < BATCH_ROWS, random_state=0).reset_index(drop=True)
    records = as_records(rows if target in rows else rows.assign(**{target: None}))
    schema = Parser(bundle.contract, bundle.input_columns)
    bodies, batch_body = [json.dumps(record).encode() for record in records], json.dumps(records).encode()
    parsed = schema.batch_json(batch_body, BATCH_ROWS)  # as the service sees them
    works = []
    for turn in range(requests):
        one = parsed[turn % BATCH_ROWS:turn % BATCH_ROWS + 1]
        one_frame, one_feeds = schema.frame(one), bundle.compiled.feeds_from_records(one)
        works.append({path: one_row_work(bundles[path], schema, one_frame, one_feeds, bodies[turn % BATCH_ROWS]) for path in PATHS})
    batch_works = {path: request_work(bundles[path], schema, batch_body, batch=True) for path in PATHS}
    return {"works": works, "batch_works": batch_works, "batch": request("POST", "/predict/batch", batch_body),
            "singles": [request("POST", "/predict", bodies[turn % BATCH_ROWS]) for turn in range(requests)]}


def section(arguments: argparse.Namespace, bundle, load_at_start: float, measured: dict, two: dict) -> list[str]:
    """This benchmark's section of benchmarks/results.md."""
    lines, goals = table(measured, two)
    largest, decisions = differences(measured["answers"])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip() or "unknown"
    rates = "; ".join(f"{path} {', '.join(f'{rate:,.0f}' for rate in two['c16'][path]['rates'])}" for path in PATHS)
    client_cpu = max(rounds[path]["client_cpu"] for rounds in (measured["c16"], two["c16"]) for path in PATHS)
    met, missed = [goal for goal, done in goals.items() if done], [goal for goal, done in goals.items() if not done]
    health_two = statistics.median(two["health"]["compiled"]) * 1000
    nagle = (f"With 2 workers every response, GET /health's too, takes {health_two:.0f} ms: uvicorn's worker processes accept "
             "connections on a socket it binds with `proto` 0, so asyncio does not set TCP_NODELAY on them and each response "
             "waits for the client's delayed ACK (Kludex/uvicorn#3149). " if health_two > 20 else "")
    return [
        HEADING, "",
        f"Measured {datetime.date.today()} on {os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}; onnxruntime "
        f"{version('onnxruntime')}, scikit-learn {version('scikit-learn')}, uvicorn {version('uvicorn')}; model {bundle.version} "
        f"({bundle.manifest['model'].get('model_family')}); commit {commit}. Command: `python benchmarks/service.py "
        f"{' '.join(sys.argv[1:])}`. Load average at the start: {load_at_start:.2f}. Both columns come from this one run: the same "
        "bundle served by `serve --runtime scikit-learn` and by `serve --runtime auto` (its model.onnx), measured in turns. "
        "Ratio: how many times faster the compiled path is.", "",
        *lines, "",
        f"In-process: {arguments.requests:,} calls per measure and path, in blocks of {max(1, arguments.requests // 20)} on row "
        f"after row (caches warm, as in a loop), the paths' blocks in turn; medians. Concurrency 1: {arguments.requests:,} requests "
        f"per server, the servers in turn, the order alternating. Concurrency 16: {CONCURRENCY} clients with a connection each, two rounds of "
        f"{arguments.seconds:g} s per server, the servers in turn; requests/s per round with 2 workers: {rates}. The client sends "
        f"requests encoded beforehand on keep-alive sockets and used at most {client_cpu:.2f} of a core; its GET /health round "
        f"trip is {statistics.median(measured['health']['compiled']) * 1000:.2f} ms where an httpx.Client's is "
        f"{statistics.median(measured['health']['httpx']) * 1000:.2f} ms. Each server logs every prediction to a log of its own, "
        f"empty at the start. The two servers' answers to the same {arguments.requests:,} rows: largest difference of a "
        f"probability or value {largest:.1e}, {decisions} decision(s) differing.", "",
        f"{nagle}Goals met: {'; '.join(met) if met else 'none'}. Not met: {'; '.join(missed) if missed else 'none'}. "
        f"Load average at the end: {os.getloadavg()[0]:.2f}.", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, default=ROOT / "models/bundle")
    parser.add_argument("--rows", type=Path, default=None, help="a table of input rows (default: data/raw/credit.csv)")
    parser.add_argument("--requests", type=int, default=1000, help="/predict requests per server at concurrency 1")
    parser.add_argument("--seconds", type=float, default=5.0, help="each round at concurrency 16")
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args()
    bundles = {path: load_bundle(arguments.bundle, runtime=runtime) for path, runtime in PATHS.items()}
    if bundles["compiled"].compiled is None:
        sys.exit(f"{arguments.bundle}: no compiled model to measure: {bundles['compiled'].runtime['reason']}")
    given = prepared(bundles, arguments.rows, arguments.requests)
    load_at_start = os.getloadavg()[0]
    measured = in_process(given["works"])
    with tempfile.TemporaryDirectory() as scratch:
        servers = started(arguments.bundle, Path(scratch), "one")
        try:
            measured |= one_worker(servers, given["singles"], given["batch"], given["batch_works"], arguments.seconds)
        finally:
            stopped(servers)
        servers = started(arguments.bundle, Path(scratch), "two", "--workers", "2")
        try:
            two = two_workers(servers, given["singles"], arguments.seconds)
        finally:
            stopped(servers)
    lines = section(arguments, bundles["compiled"], load_at_start, measured, two)
    print("\n".join(lines))
    if arguments.out:
        write_section(arguments.out, HEADING, lines)


if __name__ == "__main__":
    main()
