"""The scoring service: a FastAPI app built from one verified model bundle.

`create_app` is the factory uvicorn calls in each worker. The request schema comes from the
bundle's manifest (JSON, read at once); the model itself is unpickled, after `load_bundle`'s
checks, in a start-up task, and `/ready` answers 503 until it is done. The same task builds the
model's explainer and explains one row, so `?explain=true` does not pay SHAP's start-up in a request.

`POST /admin/swap` and SIGHUP replace the model while the service answers (serving/swap.py); a
challenger given with --shadow-* scores every request beside it, off the request path
(serving/shadow.py). Each request reads `state["served"]` once.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from tabular_mlops.data.contract import Contract
from tabular_mlops.deployment.bundle import MANIFEST_FILE
from tabular_mlops.deployment.explain import explanations
from tabular_mlops.deployment.prediction_log import PredictionLog
from tabular_mlops.errors import StageError
from tabular_mlops.privacy.pseudonyms import DEFAULT_KEY_FILE, pseudonym_key, split_personal
from tabular_mlops.serving import error_bodies
from tabular_mlops.serving.error_bodies import NotReady, documented, error_response
from tabular_mlops.serving.outputs import FEEDBACK_SCHEMA, answer, feedback_outcome, headline_score, new_ids
from tabular_mlops.serving.schema import Parser, RequestError
from tabular_mlops.serving.shadow import Shadow
from tabular_mlops.serving.sources import Served, Source, load, source_of_request
from tabular_mlops.serving.swap import Swapper, SwapInProgress, hangup_handler, remove_hangup_handler
from tabular_mlops.serving.telemetry import Gatekeeper, Metrics

SETTINGS_VARIABLE = "TABULAR_MLOPS_SERVE_SETTINGS"  # how `serve` hands its settings to each worker
logger = logging.getLogger("tabular_mlops.serving")


@dataclass(frozen=True)
class Settings:
    model: str
    lock: str | None
    log: str
    max_body_bytes: int
    max_rows: int
    key_file: str = DEFAULT_KEY_FILE  # the pseudonym key (serve.key_file), read when the contract has personal columns
    source: dict | None = None  # a registry Source (stage or version) to re-resolve on SIGHUP; None: the folder `model`
    shadow: dict | None = None  # the challenger's Source, or None
    swap_file: str | None = None  # with several workers: where a swap is announced to the others
    workers: int = 1
    runtime: str = "auto"  # auto: the bundle's compiled model answers when it has one; scikit-learn: the pipeline

    def started(self) -> Source:
        return Source(**{**self.source, "runtime": self.runtime}) if self.source else Source(model=self.model, lock=self.lock, runtime=self.runtime)

    def to_environment(self) -> None:
        os.environ[SETTINGS_VARIABLE] = json.dumps(self.__dict__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(**json.loads(os.environ[SETTINGS_VARIABLE]))
    manifest = json.loads((Path(settings.model) / MANIFEST_FILE).read_text(encoding="utf-8"))
    contract = Contract.model_validate(manifest["contract"])
    metadata = manifest["model"]
    problem = "multiclass" if metadata.get("classes") else metadata["task"]
    parser = Parser(contract, list(metadata["input_columns"]))
    metrics = Metrics(problem)
    state: dict = {}
    swapper = Swapper(state, settings.started(), settings.swap_file, metrics.swaps)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loading = asyncio.create_task(asyncio.to_thread(_open, settings, state, bool(parser.personal)))
        if settings.workers > 1:  # uvicorn's SIGHUP restart then brings each new worker in loaded
            await asyncio.gather(loading, return_exceptions=True)
        hangup_handler(asyncio.get_running_loop(), swapper)
        polling = asyncio.create_task(swapper.poll())
        shadow = Shadow(Source(**{**settings.shadow, "runtime": settings.runtime}), settings.log, metrics.shadow_failures) if settings.shadow else None
        state["shadow"] = shadow
        yield
        polling.cancel()
        await asyncio.gather(loading, return_exceptions=True)
        if shadow is not None:
            await asyncio.to_thread(shadow.close)  # what is queued is scored and logged first
        if "log" in state:
            state["log"].close()  # after uvicorn finished the requests in flight
        remove_hangup_handler(asyncio.get_running_loop())

    app = FastAPI(title="tabular-mlops scoring service", version=manifest["model_sha256"][:12], lifespan=lifespan)
    app.add_middleware(Gatekeeper, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    error_bodies.install(app)
    record_schema = parser.json_schema
    single = {"requestBody": {"required": True, "content": {"application/json": {"schema": record_schema}}}}
    batch = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "array", "items": record_schema, "maxItems": settings.max_rows}},
        "text/csv": {"schema": {"type": "string"}}}}}

    def ready() -> tuple[Served, PredictionLog]:
        if "served" not in state:
            raise NotReady()
        return state["served"], state["log"]

    def score(records: list[dict], explain: bool = False) -> list[dict]:
        served, log = ready()  # read once: a swap meanwhile does not change this request's model
        bundle = served.bundle
        if explain and served.explainer_error:
            raise RequestError([{"field": "explain", "rule": served.explainer_error}])
        if bundle.compiled is not None and not explain:  # the compiled model reads the records: no DataFrame
            columns, unseen = bundle.predict_records(records), bundle.unseen_categories(records)
            explained = None
        else:
            columns, unseen, explained = _scored_frame(bundle, parser.frame(records), explain)
        ids = new_ids(len(records))
        outputs = [dict(zip(columns, values), unseen_categories=flags) for *values, flags in zip(*columns.values(), unseen)]
        # Personal values, model inputs or not, are logged only as pseudonyms; protected ones as given.
        kept, subjects = split_personal(records, parser.personal, state.get("key"))
        log.log(bundle.version, ids, kept, outputs, subjects)  # committed before anyone sees the answer
        if state.get("shadow") is not None:
            state["shadow"].submit(ids, records)  # scored off the request path
        answers = [answer(problem, bundle.version, prediction_id, output) for prediction_id, output in zip(ids, outputs)]
        metrics.observe_scores([headline_score(problem, given) for given in answers])
        for given, explanation in zip(answers, explained or ()):
            given["explanation"] = explanation
        return answers

    scoring = documented(400, 401, 413, 422, 500, 503)

    @app.post("/predict", openapi_extra=single, summary="Score one record", responses=scoring)
    async def predict(request: Request):
        ready()  # 503 before a 422: the client should retry elsewhere, not fix its request
        explain = explain_flag(request)
        records = parser.one(await request.body())
        return _json((await run_in_threadpool(score, records, explain))[0])

    @app.post("/predict/batch", openapi_extra=batch, summary="Score a JSON list of records or a CSV table", responses=scoring)
    async def predict_batch(request: Request):
        ready()
        explain = explain_flag(request)
        body = await request.body()
        is_csv = request.headers.get("content-type", "").split(";")[0].strip().lower() == "text/csv"
        records = parser.batch_csv(body, settings.max_rows) if is_csv else parser.batch_json(body, settings.max_rows)
        return _json({"predictions": await run_in_threadpool(score, records, explain) if records else []})

    @app.post("/feedback", summary="Record the observed outcome of a prediction", responses=documented(400, 401, 404, 413, 422, 500, 503),
              openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": FEEDBACK_SCHEMA}}}})
    async def feedback(request: Request):
        _, log = ready()
        prediction_id, outcome = feedback_outcome(await request.body(), contract, problem)
        if await run_in_threadpool(log.model_of, prediction_id) is None:
            return error_response(404, "no prediction with this prediction_id in the log", field="prediction_id")
        await run_in_threadpool(log.feedback, prediction_id, outcome)
        return {"prediction_id": prediction_id, "outcome": outcome}

    @app.get("/health", summary="Alive", responses=documented(500))
    async def health():
        return {"status": "alive"}

    @app.get("/ready", summary="The model is loaded and verified", responses=documented(401, 500, 503))
    async def is_ready():
        ready()
        return {"status": "ready", "model_version": state["served"].bundle.version}

    @app.get("/version", summary="Which model answers, trained on what, and how it tested", responses=documented(401, 500))
    async def model_version():
        served = state.get("served")
        answering = served.bundle.manifest if served else manifest  # before the load: the bundle serve verified
        trained = answering["model"]
        shadow = state.get("shadow")
        return {"model_sha256": answering["model_sha256"], "model_version": answering["model_sha256"][:12],
                "training_data_sha256": trained.get("training_data_sha256"), "problem": problem,
                "target": trained["target"], "threshold": answering.get("threshold"),
                "metrics": answering["metrics"]["test"], "params": trained.get("params", {}),
                "registry": served.registry if served else None, "shadow": shadow.describe() if shadow else None,
                "runtime": served.bundle.runtime if served else None}

    @app.post("/admin/swap", summary="Serve another model: a registry stage or version, or a bundle folder",
              responses=documented(401, 403, 409, 422, 500, 503), openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": SWAP_SCHEMA}}}})
    async def admin_swap(request: Request):
        ready()
        try:
            source = source_of_request(json.loads(await request.body()), str(Path.cwd()))
        except ValueError as error:  # JSONDecodeError too
            return error_response(422, str(error) if not isinstance(error, json.JSONDecodeError) else "the body must be valid JSON")
        previous = state["served"].bundle.version
        try:
            served = await swapper.swap(source)
        except SwapInProgress:
            return error_response(409, "another swap is in progress; retry when it is done")
        except StageError as error:
            return error_response(422, f"the model was not swapped, {previous} keeps serving: {error}", field=source.kind)
        return {"model_version": served.bundle.version, "previous_model_version": previous, "registry": served.registry}

    @app.get("/metrics", summary="Prometheus metrics", responses=documented(401, 500))
    async def prometheus():
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _scored_frame(bundle, frame, explain: bool) -> tuple[dict[str, list], list[list[str]], list | None]:
    """The scikit-learn path (and every explained request): the frame's columns, unseen categories, explanations."""
    unseen_groups = bundle.unseen_groups(frame)
    if unseen_groups:  # a threshold_optimizer model has no threshold for them
        raise RequestError(unseen_groups if len(frame) > 1 else [{key: value for key, value in error.items() if key != "row"}
                                                                  for error in unseen_groups])
    predicted = bundle.predict(frame)
    # Explained before the log commits (a failure logs nothing); never logged itself.
    explained = explanations(bundle, frame, predicted["decision"].tolist() if "decision" in predicted else [None] * len(frame)) \
        if explain else None
    return {name: predicted[name].tolist() for name in predicted.columns}, bundle.unseen_categories(frame), explained


def explain_flag(request: Request) -> bool:
    """`?explain=true` or `false` (or absent: false); anything else is a 422 naming the parameter."""
    given = request.query_params.getlist("explain")
    if not given:
        return False
    if len(given) > 1 or given[0] not in ("true", "false"):
        raise RequestError([{"field": "explain", "rule": "the query parameter explain must be true or false"}])
    return given[0] == "true"


def _json(content: dict) -> Response:
    """Plain types already, so no jsonable_encoder pass; pydantic's encoder writes 1,000 answers
    in 0.3 ms where JSONResponse's json.dumps takes 1.3 (floats alike: the shortest round trip)."""
    return Response(to_json(content), media_type="application/json")


SWAP_SCHEMA = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False, "properties": {
    "stage": {"type": "string", "description": "a registry stage, e.g. prod: the version it points at now"},
    "version": {"type": "string", "description": "a registered version, e.g. v1.2.0"},
    "model": {"type": "string", "description": "a bundle folder on the server"}}}


def _open(settings: Settings, state: dict, personal: bool) -> None:
    try:
        key = pseudonym_key(settings.key_file) if personal else None
        served = load(settings.started())  # a stage: resolved again, so a restarted worker follows the registry
        log = PredictionLog(settings.log)
        bundle = served.bundle
        log.register_model(bundle.version, bundle.manifest["model"]["target"], bundle.manifest["contract"])
    except Exception:
        logger.exception("the model bundle could not be loaded; /ready stays 503")
        raise
    state.update(log=log, key=key, served=served)
