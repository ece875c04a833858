"""Who is calling, and whether their role may take this step.

`requires(*roles)` goes directly under `@blp.route`, so it runs before the body is
parsed: an anonymous caller learns nothing about the schema, and a wrong role is told
403 before a 422. The roles are appended to the view's docstring, which flask-smorest
publishes as the operation's description, so the OpenAPI document says who may call.

What a role may see beyond that (its own vouchers, its own platform) is decided in the
views with `own_enterprise` and friends, because it depends on the record.
"""

from __future__ import annotations

from functools import wraps

from flask import g, request

from api.errors import Unauthenticated
from voucher.keys import Principal, authenticate
from voucher.errors import Forbidden

ROLE_NAMES = {"enterprise": "an enterprise", "platform": "a platform", "provider": "a provider",
              "admin": "an administrator"}


def presented_key() -> str | None:
    """`Authorization: Bearer <key>`, or `X-API-Key: <key>` for tools that cannot set Authorization."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use Authorization: Bearer <key>", field="Authorization")
        return token.strip()
    return request.headers.get("X-API-Key", "").strip() or None


def current_principal() -> Principal:
    if "principal" not in g:
        from api.app import ledger

        key = presented_key()
        if key is None:
            raise Unauthenticated("an API key is required: Authorization: Bearer <key>", field="Authorization")
        found = authenticate(ledger().store, key)
        if found is None:
            raise Unauthenticated("the API key is unknown or revoked", field="Authorization")
        g.principal = found
    return g.principal


def requires(*roles: str):
    """Let only these roles through (after authenticating); the rest get 403."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            who = current_principal()
            if who.role not in roles:
                raise Forbidden(f"{ROLE_NAMES.get(who.role, who.role)} may not do this; it is for "
                                + " or ".join(ROLE_NAMES[r] for r in roles), field="Authorization")
            return view(*args, **kwargs)

        names = ", ".join(roles)
        wrapper.__doc__ = f"{(view.__doc__ or '').rstrip()}\n\nRoles: {names}."
        return wrapper
    return decorator


def own_enterprise(code: str | None) -> str | None:
    """An enterprise acts and sees for itself only; others pass through unchanged."""
    who = current_principal()
    if who.role != "enterprise":
        return code
    if code is not None and code != who.subject:
        raise Forbidden("an enterprise sees and acts on its own vouchers only", field="enterprise")
    return who.subject


def may_see_voucher(voucher: dict) -> bool:
    """The holder, the platform that issued it and administrators; the others are told 404."""
    who = current_principal()
    return (who.role == "admin" or (who.role == "enterprise" and voucher["enterprise"] == who.subject)
            or (who.role == "platform" and voucher.get("platform") == who.subject))


def may_see_redemption(redemption: dict) -> bool:
    """The holder, the party paid and administrators."""
    who = current_principal()
    return (who.role == "admin" or (who.role == "enterprise" and redemption["enterprise"] == who.subject)
            or (who.role in ("platform", "provider") and redemption["party"] == who.subject))
