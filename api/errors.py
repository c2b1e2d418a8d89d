"""Refusals as HTTP: core's errors to status codes, and the one JSON body every refusal has,
`{"error": "...", "problems": {...}}`."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError
from starlette.responses import Response

from core.errors import (
    Conflict,
    HeraldError,
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotReady,
    PermissionDenied,
    StaleRevision,
    Unauthenticated,
)
from core.models import invalid_input

from api.schemas import Error

_STATUS: tuple[tuple[type[HeraldError], int], ...] = (
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (InvalidInput, 422),
    (Conflict, 409),
    (StaleRevision, 409),
    (IllegalTransition, 409),
    (NotReady, 409),
)


class ApiError(Exception):
    """A refusal decided in the HTTP layer (size, JSON, method, path)."""

    def __init__(self, status: int, error: str, problems: Mapping[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(error)
        self.status, self.error = status, error
        self.problems = dict(problems or {})
        self.headers = dict(headers or {})


def error_response(status: int, error: str, problems: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None) -> Response:
    body = Error(error=error, problems=dict(problems or {})).model_dump_json()
    return Response(body, status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-store", **(headers or {})})


def from_exception(exc: BaseException) -> Response | None:
    """The response for a known refusal; None for anything else (a bug: the caller logs it, 500)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.error, exc.problems, exc.headers)
    if isinstance(exc, ValidationError):
        exc = invalid_input(exc)
    if isinstance(exc, HeraldError):
        status = next((code for kind, code in _STATUS if isinstance(exc, kind)), None)
        if status is None:
            return None
        problems = getattr(exc, "problems", None) or {}
        headers = {"WWW-Authenticate": 'Bearer realm="herald"'} if status == 401 else None
        return error_response(status, str(exc), problems, headers)
    return None
