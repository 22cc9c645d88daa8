"""Every error the service answers has one body, whatever its status:

    {"errors": [{"field": "Income", "rule": "must be >= 0"}, ...]}

`field` names the record field, query parameter or header at fault, null when the error
concerns the request as a whole; `row` (batch requests only) the row's position; `rule` what
was expected. A value that was sent is never repeated: it may be personal data.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from tabular_mlops.serving.schema import RequestError, TooManyRows

logger = logging.getLogger("tabular_mlops.serving")
# Starlette's own words for these ("Not Found") say less than they could.
ROUTING_RULES = {404: "no such endpoint; /docs lists them", 405: "this endpoint does not take this method; /docs lists them"}


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="forbid")  # so the schema says no other key comes back (the fuzz test checks)
    row: int | None = None
    field: str | None
    rule: str


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    errors: list[ErrorItem]


def documented(*statuses: int) -> dict:
    """The `responses` of a route: each status answers an ErrorBody."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses}


DESCRIPTIONS = {
    400: "A header is malformed (Content-Length)",
    401: "The service has an API key, and the X-API-Key header is missing or wrong",
    403: "An admin endpoint, and the service has no API key configured (TABULAR_MLOPS_API_KEY)",
    404: "No prediction with this prediction_id in the log",
    409: "Another swap is in progress",
    413: "The body is larger than the service allows, or the batch has more rows",
    422: "The request breaks the model's data contract or the endpoint's rules",
    500: "An unexpected error; the server log has the details",
    503: "The model is not loaded yet; retry",
}


def error_response(status: int, rule: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"field": field, "rule": rule}]}, status_code=status, headers=headers)


class NotReady(Exception):
    pass


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, body_too_large(limit))


def body_too_large(limit: int) -> str:
    return f"the request body is larger than the service allows ({limit} bytes)"


def install(app: FastAPI) -> None:
    async def invalid(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"errors": error.errors}, status_code=422)

    async def fastapi_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's default body echoes each error's `input`: name the place and the rule only.
        errors = [{"field": ".".join(map(str, item["loc"][1:])) or None, "rule": item["msg"]} for item in error.errors()]
        return JSONResponse({"errors": errors}, status_code=422)

    async def too_many(request: Request, error: TooManyRows) -> JSONResponse:
        return error_response(413, "the batch has more rows than the service allows")

    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        return error_response(error.status_code, ROUTING_RULES.get(error.status_code, str(error.detail)), headers=error.headers)

    async def not_ready(request: Request, error: NotReady) -> JSONResponse:
        return error_response(503, "the model is not loaded yet")

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("unexpected error on %s", request.url.path, exc_info=error)
        return error_response(500, "internal error; the server log has the details")

    app.add_exception_handler(RequestError, invalid)
    app.add_exception_handler(RequestValidationError, fastapi_invalid)
    app.add_exception_handler(TooManyRows, too_many)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(NotReady, not_ready)
    app.add_exception_handler(Exception, unexpected)
