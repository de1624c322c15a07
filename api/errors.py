"""One exception tree for the service, translated to ``{"error": {code, message, detail}}`` in one place.

Library input errors (the bases ``ForecastingError``, ``AudioError``, ``SocialListeningError``, each with a
``code`` and a ``detail``) are translated by type in :func:`install_error_handlers`, so routes do not catch
them one by one. Any other exception is a 500 that shows nothing internal.
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
UNSUPPORTED_MEDIA_CODES = frozenset(
    {"not_audio", "no_audio_stream", "unsupported_codec", "unsupported_format", "not_utf8"}
)
#: Library error codes that mean "the input is over a limit the README names".
TOO_LARGE_CODES = frozenset({"too_large"})


def _library_errors() -> list[type[Exception]]:
    """The bases of the capability libraries' input errors; each carries ``code`` and ``detail``. A library
    whose extra is not installed is left out."""
    bases: list[type[Exception]] = []
    try:
        from forecasting.errors import ForecastingError

        bases.append(ForecastingError)
    except ImportError:  # pragma: no cover - extras missing
        pass
    try:
        from speech.errors import AudioError

        bases.append(AudioError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from social_listening.errors import SocialListeningError

        bases.append(SocialListeningError)
    except ImportError:  # pragma: no cover
        pass
    return bases


def library_error_response(exc: Exception) -> JSONResponse:
    """A library's input error as 422 (415 for a file of a kind we cannot read at all, 413 for one over a
    limit), with its code and detail."""
    code = str(getattr(exc, "code", "invalid_input"))
    status = 415 if code in UNSUPPORTED_MEDIA_CODES else 413 if code in TOO_LARGE_CODES else 422
    return JSONResponse(error_body(code, str(exc), _jsonable(getattr(exc, "detail", None))), status)


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

    for base in _library_errors():

        @app.exception_handler(base)
        async def _library_error(_: Request, exc: Exception) -> JSONResponse:
            return library_error_response(exc)

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
