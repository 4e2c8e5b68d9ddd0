"""JSON errors: `{"error": {"code", "message", "request_id"}}` for every failure, 4xx or 5xx.

The models document the shape in OpenAPI (`error_responses(401, 422, ...)` in route
decorators); the handlers make every exception, ours or the framework's, answer in it.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from api.auth import AuthError
from api.rate_limit import RateLimited
from assistant.records.feedback import UnknownSessionError
from assistant.stores import StoreError

log = logging.getLogger("api.errors")

REQUEST_ID_HEADER = "X-Request-ID"


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_request`.")
    message: str = Field(description="What was wrong and what to do about it.")
    request_id: str | None = Field(
        default=None, description="The `X-Request-ID` of the response, for support and logs."
    )


class Error(BaseModel):
    error: ErrorDetail


_DESCRIPTIONS = {
    401: "Missing, malformed or unknown API key (`unauthorized`).",
    403: "The caller's key may not use this route (`forbidden`).",
    404: "No such resource (`not_found`).",
    409: "Another run of this job is in progress (`busy`); try again when it has finished.",
    413: "Request body larger than the configured limit (`payload_too_large`).",
    422: "Invalid body or parameters (`invalid_request`).",
    429: "Rate limit exceeded (`rate_limited`); wait `Retry-After` seconds.",
    500: "Unexpected server error (`internal_error`); quote the request id.",
    503: "The vector store is unavailable (`store_unavailable`).",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries with the Error model for these statuses."""
    return {status: {"model": Error, "description": _DESCRIPTIONS[status]} for status in statuses}


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def error_body(code: str, message: str, request_id: str | None) -> dict[str, Any]:
    return Error(error=ErrorDetail(code=code, message=message, request_id=request_id)).model_dump()


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, request_id_of(request)), status_code=status, headers=headers
    )


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> JSONResponse:
        return error_response(request, exc.status, exc.code, exc.message)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        return error_response(
            request,
            429,
            "rate_limited",
            f"Too many requests: at most {exc.per_minute} a minute. "
            f"Try again in {exc.retry_after} s.",
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors()
        )
        return error_response(request, 422, "invalid_request", problems or "Invalid request.")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body that is not JSON text, e.g. not UTF-8
            return error_response(
                request, 422, "invalid_request", f"{exc.detail}: send JSON encoded as UTF-8."
            )
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(UnknownSessionError)
    async def unknown_session(request: Request, exc: UnknownSessionError) -> JSONResponse:
        return error_response(
            request, 404, "not_found", f"{exc} Use the session_id of an earlier answer."
        )

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        return error_response(request, 503, "store_unavailable", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside every middleware (Starlette's ServerErrorMiddleware), so the request
        # id header is set here too.
        request_id = request_id_of(request)
        log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
        response = error_response(
            request,
            500,
            "internal_error",
            "Something went wrong on our side. Try again; if it persists, report the request id.",
        )
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        return response
