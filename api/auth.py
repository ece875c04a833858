"""Who is calling, and whether their role may take this step.

`requires(*roles)` goes directly under `@blp.route`, so it runs before the body is
parsed: an anonymous caller learns nothing about the schema, and a wrong role is told
403 before a 422. The roles are appended to the view's docstring, which flask-smorest
publishes as the operation's description, so the OpenAPI document says who may call.

What a role may see beyond that (its own vouchers, its own platform) is decided in the
views with `own_enterprise` and friends, because it depends on the record.

A scoped administrator (a key made with `--scope`) acts only for the policies its scope
names, resolved against the policy table this process loaded:
  - a record of another policy (voucher, application, redemption, entry) is answered 404,
    as it is to an enterprise that does not hold it (`in_scope_record`);
  - an act on another policy by name (a report, a parameter, a list filtered by policy)
    is 403: the policy table is public (`policy_in_scope`);
  - lists (vouchers, entries, balances, export) are filtered to its policies (`scope_ids`);
  - acts that reach across programmes (registering enterprises and deciding their facts,
    onboarding, exit, blacklisting, the whole-ledger audit, estimates against the ledger)
    are for an unscoped key only: `requires("admin", unscoped=True)`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request

from api.errors import Unauthenticated
from voucher.errors import Forbidden, NotFound, quote
from voucher.keys import Principal, authenticate, resolve_scope

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
        from api.services import ledger

        key = presented_key()
        if key is None:
            raise Unauthenticated("an API key is required: Authorization: Bearer <key>", field="Authorization")
        found = authenticate(ledger().store, key)
        if found is None:
            raise Unauthenticated("the API key is unknown or revoked", field="Authorization")
        g.principal = found
    return g.principal


def requires(*roles: str, unscoped: bool = False):
    """Let only these roles through (after authenticating); the rest get 403.

    `unscoped`: an administrator's key must have no scope (the act reaches across programmes).
    """
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            who = current_principal()
            if who.role not in roles:
                raise Forbidden(f"{ROLE_NAMES.get(who.role, who.role)} may not do this; it is for "
                                + " or ".join(ROLE_NAMES[r] for r in roles), field="Authorization")
            if unscoped and who.role == "admin" and who.scope is not None:
                raise Forbidden("this acts across every programme: it is for an administrator without a scope; "
                                f"this key is limited to {', '.join(who.scope)}", field="Authorization")
            return view(*args, **kwargs)

        names = ", ".join(f"{r} (unscoped)" if unscoped and r == "admin" else r for r in roles)
        wrapper.__doc__ = f"{(view.__doc__ or '').rstrip()}\n\nRoles: {names}."
        return wrapper
    return decorator


def scope_ids() -> frozenset[str] | None:
    """The policy ids a scoped administrator may act on; None when the caller is not limited by scope."""
    who = current_principal()
    if who.role != "admin" or who.scope is None:
        return None
    if "scope_ids" not in g:
        from api.services import policy_table

        g.scope_ids = resolve_scope(who.scope, policy_table())
    return g.scope_ids


def policy_in_scope(policy_id: str | None) -> None:
    """403 when a scoped administrator names a policy outside its scope (policies are public)."""
    ids = scope_ids()
    if ids is not None and policy_id is not None and policy_id not in ids:
        raise Forbidden(f"{policy_id} is outside this administrator's scope ({', '.join(current_principal().scope)})",
                        field="policy_id")


def in_scope_record(what: str, record_id: object, policy_of: Callable[[], str | None]) -> None:
    """404 when a scoped administrator asks for a record of a policy outside its scope, as if it were not there.

    `policy_of` reads the record's policy (a record never changes policy, so reading it before
    the ledger's own transaction is safe); it is called only for a scoped key.
    """
    ids = scope_ids()
    if ids is not None and policy_of() not in ids:
        raise NotFound(f"no {what} {quote(record_id)}", field=what)


def own_enterprise(code: str | None) -> str | None:
    """An enterprise acts and sees for itself only; others pass through unchanged."""
    who = current_principal()
    if who.role != "enterprise":
        return code
    if code is not None and code != who.subject:
        raise Forbidden("an enterprise sees and acts on its own vouchers only", field="enterprise")
    return who.subject


def _admin_sees(policy_id: str) -> bool:
    ids = scope_ids()
    return ids is None or policy_id in ids


def may_see_voucher(voucher: dict) -> bool:
    """The holder, the platform that issued it and administrators (of its policy); the others are told 404."""
    who = current_principal()
    return ((who.role == "admin" and _admin_sees(voucher["policy_id"]))
            or (who.role == "enterprise" and voucher["enterprise"] == who.subject)
            or (who.role == "platform" and voucher.get("platform") == who.subject))


def may_see_redemption(redemption: dict) -> bool:
    """The holder, the party paid and administrators (of its policy)."""
    who = current_principal()
    return ((who.role == "admin" and _admin_sees(redemption["policy_id"]))
            or (who.role == "enterprise" and redemption["enterprise"] == who.subject)
            or (who.role in ("platform", "provider") and redemption["party"] == who.subject))
