"""One exception tree for the service, translated to ``{"error": {code, message, detail}}`` in one place.

Library errors (``ValueError`` subclasses of forecasting/, speech/, social_listening/) are translated by
:func:`install_error_handlers` too, so routes do not catch them one by one.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of the service's errors; ``status`` and ``code`` say how it reaches the client."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, detail: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class InvalidInput(ServiceError):
    """Well-formed request whose content is wrong (bad rows, too-short series, unreadable audio)."""

    status, code = 422, "invalid_input"


class Unavailable(ServiceError):
    status, code = 503, "unavailable"


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "detail": detail}}


#: Library error codes that mean "this is not a file we can read at all".
UNSUPPORTED_MEDIA_CODES = frozenset({"not_audio", "no_audio_stream", "unsupported_codec"})


def _library_error_status(exc: Exception) -> tuple[int, str] | None:
    """Map the capability libraries' input errors to HTTP; imported lazily so missing extras don't break."""
    name = type(exc).__name__
    if isinstance(exc, ValueError) and type(exc).__module__.split(".")[0] in {
        "forecasting",
        "speech",
        "social_listening",
    }:
        code = getattr(exc, "code", None) or _snake(name)
        return (415 if code in UNSUPPORTED_MEDIA_CODES else 422), code
    return None


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message, exc.detail), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(
            error_body("validation_error", f"{where}: {first['msg']}" if where else str(first["msg"]), detail),
            422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body that is not UTF-8 JSON: malformed input, like any other JSON error.
            return JSONResponse(error_body("validation_error", "malformed request body: expected UTF-8 JSON"), 422)
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(ValueError)
    async def _value_error(_: Request, exc: ValueError) -> JSONResponse:
        mapped = _library_error_status(exc)
        if mapped is None:
            logger.exception("unhandled ValueError")
            return JSONResponse(error_body("internal_error", "internal error"), 500)
        status, code = mapped
        detail = getattr(exc, "detail", None) or getattr(exc, "problems", None) or getattr(exc, "errors", None)
        return JSONResponse(error_body(code, str(exc), _jsonable(detail)), status)

    from models import ModelUnavailable

    @app.exception_handler(ModelUnavailable)
    async def _model_unavailable(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return JSONResponse(error_body("model_unavailable", str(exc)), 503)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "internal error"), 500)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return _jsonable(dataclasses.asdict(value))
    return str(value)
