"""What every request passes through: the API key, the body-size limit, and the Prometheus metrics.

One pure ASGI middleware rather than several `@app.middleware("http")` functions: it sees the
raw byte stream, so a body larger than allowed is refused while it streams in, whatever
Content-Length claimed.
"""
from __future__ import annotations

import hmac
import os
import time

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tabular_mlops.serving.error_bodies import BodyTooLarge, body_too_large, error_response

API_KEY_VARIABLE = "TABULAR_MLOPS_API_KEY"
OPEN_PATHS = {"/health"}  # liveness probes carry no key
ADMIN_PREFIX = "/admin/"  # never open: without a key configured, refused
PATHS = {"/predict", "/predict/batch", "/feedback", "/health", "/ready", "/version", "/metrics", "/docs", "/openapi.json",
         "/admin/swap"}


class Metrics:
    def __init__(self, problem: str) -> None:
        self.registry = CollectorRegistry()  # one per app, so tests may build several apps in a process
        self.requests = Counter("tabular_mlops_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("tabular_mlops_request_seconds", "Request latency", ["endpoint"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.errors = Counter("tabular_mlops_errors", "Requests that failed with a server error (5xx)", ["endpoint"],
                              registry=self.registry)
        # Classification: the probability (multiclass: of the chosen class); regression: the prediction.
        buckets = tuple(step / 10 for step in range(1, 11)) if problem != "regression" else Histogram.DEFAULT_BUCKETS
        self.scores = Histogram("tabular_mlops_score", "Scores returned", registry=self.registry, buckets=buckets)
        self.shadow_failures = Counter("tabular_mlops_shadow_failures", "Rows the challenger did not score or log, by kind of failure",
                                       ["kind"], registry=self.registry)
        self.swaps = Counter("tabular_mlops_swaps", "Model swaps, done or refused", ["result"], registry=self.registry)

    def observe_scores(self, scores: list[float]) -> None:
        """`self.scores.observe` for each score, counted per bucket at once (1,000 calls cost 0.8 ms).

        It adds to the Histogram's own counters (non-cumulative per bucket, as `observe` does),
        so the single-process and the multiprocess (mmap) values both see it. Those are private
        to prometheus_client (pinned); tests/test_telemetry.py checks the result equals `observe`'s."""
        histogram = self.scores
        bounds = np.asarray(histogram._upper_bounds)
        values = np.asarray(scores, dtype="float64")
        histogram._sum.inc(float(values.sum()))
        counts = np.bincount(np.searchsorted(bounds, values, side="left"), minlength=len(bounds) + 1)
        for bucket, count in zip(histogram._buckets, counts[:len(bounds)].tolist()):  # past the end: NaN, as observe skips it
            if count:
                bucket.inc(count)

    def exposition(self) -> bytes:
        # Several uvicorn workers: each writes its samples to files in PROMETHEUS_MULTIPROC_DIR
        # (`serve` sets it), and any worker answering /metrics sums them all.
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


class Gatekeeper:
    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int, api_key: str | None = None) -> None:
        self.app, self.metrics, self.max_body_bytes = app, metrics, max_body_bytes
        self.api_key = (api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE) or "").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        endpoint = path if path in PATHS else "other"  # bounded label values
        started, status = time.perf_counter(), [500]

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send_counted)
            else:
                await self.app(scope, self._limited(receive), send_counted)
        finally:
            self.metrics.requests.labels(endpoint, str(status[0])).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
            if status[0] >= 500:
                self.metrics.errors.labels(endpoint).inc()

    def _refusal(self, scope: Scope) -> JSONResponse | None:
        headers = dict(scope["headers"])
        if scope["path"].startswith(ADMIN_PREFIX) and not self.api_key:
            return error_response(403, f"the admin endpoints need an API key: set {API_KEY_VARIABLE} where the service runs")
        if self.api_key and scope["path"] not in OPEN_PATHS:
            given = headers.get(b"x-api-key", b"")
            if not hmac.compare_digest(given, self.api_key):
                return error_response(401, "the X-API-Key header is missing or wrong")
        length = headers.get(b"content-length", b"0")
        if not length.isdigit():
            return error_response(400, "the Content-Length header must be a number")
        if int(length) > self.max_body_bytes:
            return error_response(413, body_too_large(self.max_body_bytes))
        return None

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:  # chunked, or a Content-Length that understated
                    raise BodyTooLarge(self.max_body_bytes)
            return message

        return receive_limited
