"""The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header).

The ledger does the work: `Journal.idempotent` stores each key with a fingerprint of
the request and its response in the `requests` table, in the same database transaction
as the posting. So a retry gets the first response and writes nothing, the same key
with a different request is refused (422, `IdempotencyMismatch`), and a crash between
the posting and the reply cannot lose the key. The ledger keeps a key for
VOUCHER_IDEMPOTENCY_DAYS (default 7; the draft asks for at least 24 hours), then prunes
it (voucher/idempotency.py). Estimates are reads: they accept the header and ignore it.

Here we only read the header and scope it to the caller: the ledger sees
`api:` + SHA-256(actor, key), so two clients that both pick "order-1" never collide, and
one cannot replay (or probe) another's answer. Endpoints that move money require the
header (400 without it); the others take it if given.
"""

from __future__ import annotations

import hashlib
import re
from copy import deepcopy
from functools import wraps

from flask import g, request

from api.auth import current_principal
from api.errors import IdempotencyKeyRequired
from voucher.errors import InputError

HEADER = "Idempotency-Key"
_KEY = re.compile(r'[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?')


def header_doc(required: bool) -> dict:
    return {"in": "header", "name": HEADER, "required": required,
            "description": ("Required: this request moves money. " if required else "")
            + "A unique value per intended request (a UUID); a retry with the same key returns the first "
              "response and writes nothing; the same key with another body is refused with 422. Keys are kept "
              "VOUCHER_IDEMPOTENCY_DAYS days (default 7); an older key counts as new.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[!-~]([ -~]{0,253}[!-~])?$"}}


IGNORED_DOC = {"in": "header", "name": HEADER, "required": False,
               "description": "Accepted and ignored: an estimate is a read. It takes no write lock and keeps "
                              "nothing, so a retry simply computes again.",
               "schema": {"type": "string"}}


def read_key(required: bool) -> str | None:
    """The caller's key, scoped to the caller, or None; 400 if required and absent."""
    raw = request.headers.get(HEADER)
    if raw is None or not raw.strip():
        if required:
            raise IdempotencyKeyRequired(f"this request moves money: send an {HEADER} header (a UUID) so that a "
                                         "retry cannot apply it twice", field=HEADER)
        return None
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':  # the draft's sf-string form: "8e03978e-..."
        text = text[1:-1]
    if not _KEY.fullmatch(text):
        raise InputError(HEADER, "must be 1 to 255 printable ASCII characters")
    digest = hashlib.sha256(f"{current_principal().actor}\n{text}".encode()).hexdigest()
    return f"api:{digest}"


def idempotent(required: bool):
    """Read the header before the body is parsed; the view takes the scoped key from `key()`."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.idempotency_key = read_key(required)
            return view(*args, **kwargs)
        # Documented as flask-smorest's `Blueprint.doc` would, without adding another wrapper to every call.
        wrapper._apidoc = deepcopy(getattr(view, "_apidoc", {}))
        wrapper._apidoc.setdefault("manual_doc", {})["parameters"] = [header_doc(required)]
        return wrapper
    return decorator


def ignored(view):
    """Document the header on a read sent as POST (an estimate) without reading it."""
    view._apidoc = deepcopy(getattr(view, "_apidoc", {}))
    view._apidoc.setdefault("manual_doc", {})["parameters"] = [IGNORED_DOC]
    return view


def key() -> str | None:
    return g.get("idempotency_key")
