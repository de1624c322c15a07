"""Response and request schemas shared by several routers (capability schemas live with their router)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

#: The largest integer the database's INTEGER columns hold (32-bit on PostgreSQL); bound ids, offsets and
#: counts by it so that a too-large number is a 422, not a database error.
MAX_DB_INT = 2**31 - 1


def _aware(value: datetime) -> datetime:
    # SQLite gives back naive datetimes for values the service stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


#: A datetime that always carries its UTC offset in JSON (``2026-01-05T08:00:00+00:00``): use it for every
#: response time, so clients never guess the zone.
UtcDatetime = Annotated[datetime, AfterValidator(_aware)]


def refuse_nul(value: str, field: str = "text") -> str:
    """``value`` unless it holds a NUL character, which PostgreSQL cannot store (the service refuses it on
    every database, for one behaviour); raises :class:`api.errors.InvalidInput` (422) naming ``field``. For
    form fields and other text outside a request model."""
    if "\x00" in value:
        from api.errors import InvalidInput

        raise InvalidInput(f"{field} holds a NUL character (\\u0000); remove it", code="nul_character")
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters (\\u0000) cannot be stored; remove them")
    return value


#: A request-model string without NUL characters (422 otherwise): use it for every text the service stores.
#: (:class:`api.middleware.InputGuard` refuses them in JSON bodies already; this guards other callers.)
NoNulStr = Annotated[str, AfterValidator(_no_nul)]


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined, for ``openapi_extra`` request bodies.

    ``model_json_schema()`` refers to nested models as ``#/$defs/X``, which do not resolve once the schema
    sits inside the OpenAPI document; inlining keeps the document valid. Models must not be recursive."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any, seen: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:
                    raise ValueError(f"{model.__name__} is recursive through {name}; give it a component instead")
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return {**inline(defs[name], (*seen, name)), **rest}
            return {k: inline(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, seen) for v in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


class ModelRef(BaseModel):
    name: str
    version: str


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    status: str = Field(description="queued, running, succeeded or failed")
    progress: float = Field(description="0..1")
    message: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = Field(None, description="what went wrong, with an error id to quote to the operators")
    attempts: int
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class JobAccepted(BaseModel):
    id: str
    status: str
    kind: str


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable machine-readable code, e.g. validation_error, job_in_progress")
    message: str = Field(description="what went wrong and what is expected, for a person")
    detail: Any = Field(None, description="structured facts about the error (limits, positions, the job id...)")
    error_id: str | None = Field(None, description="quote it to the operator: the log line with the full error")


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": {code, message, detail, error_id}}``."""

    error: ErrorDetail


#: Error answers every API route may give, for the OpenAPI document (``default``: any other status).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "invalid input (validation_error, nul_character, too_deep, ...)"},
    "default": {"model": ErrorOut, "description": "an error: 401, 403, 404, 408, 409, 413, 415, 429, 503, ..."},
}
