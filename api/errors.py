"""One exception tree for the service, translated to ``{"error": {code, message, detail, error_id}}`` in one
place.

Library input errors (the bases ``ForecastingError``, ``AudioError``, ``SocialListeningError``, each with a
``code`` and a ``detail``) are translated by type in :func:`install_error_handlers`, so routes do not catch
them one by one. Any other exception is a 500 that shows nothing internal. Every answer carries an
``error_id`` that is logged with the full error, so an operator finds it from what the client quotes; what
the client sees never holds a server path, a traceback, SQL or a host name.
"""

from __future__ import annotations

import logging
import re
import uuid
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


class UnsupportedMediaType(ServiceError):
    """A body or file of a kind the route does not take (wrong content type)."""

    status, code = 415, "unsupported_media_type"


class InvalidInput(ServiceError):
    """Well-formed request whose content is wrong (bad rows, too-short series, unreadable audio)."""

    status, code = 422, "invalid_input"


class Unavailable(ServiceError):
    status, code = 503, "unavailable"


class TooManyRequests(ServiceError):
    """A quota is used up: answered 429 with ``Retry-After`` (whole seconds)."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, *, retry_after: int, detail: Any = None, code: str | None = None) -> None:
        super().__init__(message, detail=detail, code=code)
        self.retry_after = max(1, int(retry_after))


def error_body(code: str, message: str, detail: Any = None, error_id: str | None = None) -> dict[str, Any]:
    """The error envelope; every answer carries an ``error_id`` (a new one when the caller logged none)."""
    return {"error": {"code": code, "message": message, "detail": detail, "error_id": error_id or new_error_id()}}


def new_error_id() -> str:
    """A short random id that ties what a client was shown to the log line with the full error."""
    return uuid.uuid4().hex[:12]


#: An absolute POSIX path of two or more parts (``/var/lib/ioc/uploads/x.mp3``), not part of a URL.
_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"`<>|]+/)+(?:[^\s/'\"`<>|,;:)]*[^\s/'\"`<>|,;:).])?")


def redact_paths(text: str) -> str:
    """``text`` with every absolute file path replaced by ``<file>`` (messages reach clients; paths stay here).

    >>> redact_paths("Expected an audio file at /var/ioc/uploads/ab.mp3. Got: no such file.")
    'Expected an audio file at <file>. Got: no such file.'
    """
    return _PATH.sub("<file>", text)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact_paths(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def client_message(exc: BaseException) -> str:
    """What a client may be told about ``exc``: the message of a service or library input error, or of a
    ValueError (the built-in our libraries' input errors subclass), with paths removed; "internal error" for
    anything else (its text may hold SQL, hosts or paths)."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        return "internal error"
    if isinstance(exc, (ServiceError, ValueError, *_library_errors())):
        return redact_paths(str(exc)) or type(exc).__name__
    return "internal error"


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
    limit), with its code and detail; file paths in either are replaced (the full error is logged under the
    answer's error id)."""
    code = str(getattr(exc, "code", "invalid_input"))
    status = 415 if code in UNSUPPORTED_MEDIA_CODES else 413 if code in TOO_LARGE_CODES else 422
    error_id = new_error_id()
    logger.info("error %s: %s %s: %s", error_id, status, code, exc)
    detail = _redacted(_jsonable(getattr(exc, "detail", None)))
    return JSONResponse(error_body(code, redact_paths(str(exc)), detail, error_id), status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        error_id = new_error_id()
        logger.log(logging.ERROR if exc.status >= 500 else logging.INFO, "error %s: %s %s", error_id, exc.status, exc)
        body = error_body(exc.code, redact_paths(exc.message), _redacted(exc.detail), error_id)
        return JSONResponse(body, exc.status, headers=headers)

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

    from sqlalchemy.exc import DataError, DBAPIError, OperationalError

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, DataError):
            return _unstorable(exc)
        # A read-only server (a standby, default_transaction_read_only) refuses writes with SQLSTATE 25006.
        if isinstance(exc, OperationalError) or getattr(exc.orig, "sqlstate", None) == "25006":
            return _database_unavailable(exc)
        return await _unhandled(request, exc)

    def _database_unavailable(exc: DBAPIError) -> JSONResponse:
        # The connection is discarded (see api.storage.db), so a later request gets a fresh one.
        error_id = new_error_id()
        logger.error("error %s: database unavailable", error_id, exc_info=exc)
        return JSONResponse(
            error_body(
                "database_unavailable", "the database cannot take this request now; try again shortly", None, error_id
            ),
            503,
            headers={"Retry-After": "5"},
        )

    def _unstorable(exc: DBAPIError) -> JSONResponse:
        # The last guard: request models bound what they accept, so this is a value they missed.
        error_id = new_error_id()
        logger.warning("error %s: a value the database refuses", error_id, exc_info=exc)
        message = "a value is out of the range the database holds or contains a character it refuses"
        return JSONResponse(error_body("invalid_input", message, None, error_id), 422)

    @app.exception_handler(Exception)
    async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
        error_id = new_error_id()
        logger.error("error %s: unhandled", error_id, exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error", None, error_id), 500)


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
