"""One table from domain errors to HTTP statuses, and one body for every error: RFC 9457 problem+json.

    {"type": "/problems/cap_reached", "title": "A cap or a shared budget would be exceeded.",
     "status": 409, "detail": "...", "code": "cap_reached", "field": "policy_id",
     "errors": [{"field": "policy_id", "reason": "..."}]}

`type` is a relative URI; GET /problems/<code> describes it. `field` and `errors` name
what to fix. Validation (marshmallow, through flask-smorest and webargs), werkzeug's
HTTP errors (404, 405, 413 ...) and the ledger's `VoucherError`s all come out in this
shape. Anything else is a bug: it is logged with its traceback and answered 500 with
no detail, which the fuzz test (tests/test_api_fuzz.py) must never see.

NotEligible is 409, not 422: the request is well formed, and what refuses it is the
state of the world (the enterprise's profile, the date, the policy's window), exactly
as for a cap; it is also a subclass of Conflict, so the table stays one rule per class.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from http import HTTPStatus

from flask import Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from voucher.businesses import BusinessMismatch
from voucher.errors import CapReached, Conflict, Forbidden, InputError, NotFound, PolicyInvalid, VoucherError
from voucher.journal import IdempotencyMismatch
from voucher.lifecycle import NotEligible

log = logging.getLogger("api")
PROBLEM_JSON = "application/problem+json"


class Unauthenticated(VoucherError):
    """No API key, or one that is unknown or revoked."""

    code = "unauthenticated"


class IdempotencyKeyRequired(VoucherError):
    """This request moves money: send an Idempotency-Key header so that a retry cannot pay twice."""

    code = "idempotency_key_required"


class Unavailable(VoucherError):
    """The database is busy or unreachable; retry after a moment."""

    code = "unavailable"


class NotConfigured(VoucherError):
    """The server is not set up for this request (a key the operator has not given); not the caller's fault."""

    code = "not_configured"


STATUS: dict[type, int] = {
    IdempotencyMismatch: 422,  # the IETF draft: the same key with another request is unprocessable
    InputError: 422,
    NotEligible: 409,
    BusinessMismatch: 409,
    CapReached: 409,
    Conflict: 409,
    NotFound: 404,
    Forbidden: 403,
    Unauthenticated: 401,
    IdempotencyKeyRequired: 400,
    Unavailable: 503,
    NotConfigured: 503,
    PolicyInvalid: 503,  # the policy table on disk is broken: a deployment fault, not the caller's
    VoucherError: 422,
}
"""The one mapping. A class not listed takes the status of its nearest listed base."""


def status_for(exc: VoucherError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 422


def problem(status: int, code: str, detail: str, *, title: str | None = None, field: str | None = None,
            errors: list[dict] | None = None, headers: dict | None = None, **extra) -> Response:
    """The problem+json response every error takes."""
    body: dict = {"type": f"/problems/{code}", "title": title or HTTPStatus(status).phrase, "status": status,
                  "detail": detail, "code": code}
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    for key, value in extra.items():
        body.setdefault(key, value)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _title(cls: type) -> str:
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0]


def handle_voucher_error(exc: VoucherError) -> Response:
    status = status_for(exc)
    reason = getattr(exc, "problem", None) or exc.message
    errors = getattr(exc, "errors", None) or ([{"field": exc.field, "reason": reason}] if exc.field else None)
    headers = {"WWW-Authenticate": 'Bearer realm="voucher"'} if status == 401 else None
    if status == 503 and not isinstance(exc, NotConfigured):  # retrying will not set the server up
        headers = {"Retry-After": "1"}
    extra = {k: str(v) for k, v in exc.context.items() if k not in ("type", "title", "status", "detail", "code")}
    return problem(status, exc.code, exc.message, title=_title(type(exc)), field=exc.field, errors=errors,
                   headers=headers, **extra)


def flatten(messages, path: str = "") -> list[dict]:
    """marshmallow's nested {"transaction": {"amount": ["..."]}} → [{"field": "transaction.amount", ...}]."""
    out: list[dict] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "_schema" or (path and key in ("key", "value")):  # a Dict field's key or value
                name = path
            elif isinstance(key, int):
                name = f"{path}[{key}]"
            else:
                name = f"{path}.{key}" if path else str(key)
            out.extend(flatten(value, name))
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            out.extend({"field": path or "body", "reason": m} for m in messages)
        else:
            for item in messages:
                out.extend(flatten(item, path))
    else:
        out.append({"field": path or "body", "reason": str(messages)})
    return out


def http_code(status: int) -> str:
    """The problem code of a plain HTTP status: 413 → request_entity_too_large."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        return "http_error"
    return re.sub(r"[^a-z0-9]+", "_", phrase.lower()).strip("_")


def validation_problem(messages, status: int = 422) -> Response:
    errors = flatten(messages)
    first = errors[0] if errors else {"field": "body", "reason": "invalid"}
    detail = f"{first['field']}: {first['reason']}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    if status == 422:
        code, title = "invalid_input", PROBLEM_TYPES["invalid_input"][1]
    else:
        code, title = http_code(status), PROBLEM_TYPES.get(http_code(status), (status, None))[1]
    return problem(status, code, detail, title=title, field=first["field"], errors=errors)


def handle_http_exception(exc: HTTPException) -> Response:
    """werkzeug's and flask-smorest's HTTP errors; webargs puts validation messages in `exc.data`."""
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    status = exc.code or 500
    if messages is not None:
        # Drop webargs' location level ("json", "query", "headers"): the field path is what matters.
        if isinstance(messages, dict) and len(messages) == 1 and next(iter(messages)) in ("json", "query", "headers",
                                                                                         "form", "view_args"):
            messages = next(iter(messages.values()))
        return validation_problem(messages, status)
    headers = {}
    if status == 405:
        headers["Allow"] = exc.get_response().headers.get("Allow", "")
    if status >= 500:
        original = getattr(exc, "original_exception", None)
        if original is not None:
            return handle_unexpected(original)
    detail = data.get("message") or exc.description or exc.name
    return problem(status, http_code(status), str(detail), title=exc.name, headers=headers)


def handle_validation_error(exc: ValidationError) -> Response:
    return validation_problem(exc.messages)


def handle_unexpected(exc: Exception) -> Response:
    """A bug or a lost database: log everything, tell the caller nothing internal."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    if isinstance(exc, VoucherError):
        return handle_voucher_error(exc)
    if _is_database_busy(exc):
        log.warning("database unavailable: %s", exc)
        return handle_voucher_error(Unavailable("the database is busy or unreachable; retry"))
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "internal_error", "an unexpected error occurred; it has been logged")


def _is_database_busy(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "locked" in str(exc) or "busy" in str(exc) or "unable to open" in str(exc)
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.OperationalError)


HTTP_STATUSES = (400, 401, 403, 404, 405, 406, 409, 411, 413, 414, 415, 422, 500, 503)
PROBLEM_TYPES: dict[str, tuple[int, str]] = {http_code(s): (s, HTTPStatus(s).phrase) for s in HTTP_STATUSES}
PROBLEM_TYPES.update({cls.code: (status, _title(cls)) for cls, status in STATUS.items()})
PROBLEM_TYPES.update({
    "invalid_input": (422, "The request does not follow the schema."),
    "bad_request": (400, "The body is not JSON that can be read, or a header is malformed."),
    "unsupported_media_type": (415, "Send the body as application/json."),
    "request_entity_too_large": (413, "The body is larger than the server accepts."),
    "not_found": (404, "No such resource (or not yours to see)."),
    "internal_error": (500, "A bug; it was logged with its traceback."),
})
"""Every `code` a problem can carry, with its status and a title: served at /problems/<code>."""


def register(app) -> None:
    app.register_error_handler(VoucherError, handle_voucher_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(Exception, handle_unexpected)
