"""The app factory: configuration, one ledger per process, the OpenAPI document, error handlers.

Configuration comes from the defaults below, then the environment (VOUCHER_*), then the
`config` mapping given to `create_app`, later ones winning:

  DATABASE_URL        VOUCHER_DATABASE_URL   sqlite:///voucher.db, or postgresql://...
  POLICY_DIR          VOUCHER_POLICIES       the policy table (default: policies/ of the checkout)
  MAX_CONTENT_LENGTH  VOUCHER_MAX_BODY       bytes; larger bodies get 413 (default 2 MiB)
  CLOCK               VOUCHER_NOW            a callable returning an aware datetime; the variable stops
                                             it at one moment (demonstrations and the README's test only)
  CHECKPOINT_KEY      VOUCHER_CHECKPOINT_KEY         Ed25519 private key (PEM file or text) that signs checkpoints
  CHECKPOINT_PUBLIC_KEY  VOUCHER_CHECKPOINT_PUBLIC_KEY  its public key, to check checkpoints sent back

The services the views use (the ledger, opened once per process, and the policy table) are
in `api/services.py`; the views import them from there, never from this factory.
"""

from __future__ import annotations

import http
import os

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.routing import BaseConverter

from api import errors, fields
from api.schemas.ledger import Problem
from api.services import Services
from api.views import (
    applications,
    audit,
    estimates,
    health,
    ledger_views,
    pages,
    parties,
    policies,
    redemptions,
    transactions,
    vouchers,
    webhooks,
)
from voucher.clock import clock_from_env
from voucher.transactions import load_json

DEFAULTS = {
    "DATABASE_URL": None,
    "POLICY_DIR": None,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "CLOCK": None,
    "CHECKPOINT_KEY": None,
    "CHECKPOINT_PUBLIC_KEY": None,
    "API_TITLE": "Voucher API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {"description": "Subsidy and voucher calculator and ledger for China's data-economy incentive "
                                "policies. Money is a decimal string in yuan. Errors are RFC 9457 "
                                "application/problem+json. Browse at /docs."},
        "security": [{"bearerAuth": []}],
        "servers": [{"url": "/"}],
    },
}


def from_env() -> dict:
    env = os.environ
    config: dict = {}
    if env.get("VOUCHER_DATABASE_URL"):
        config["DATABASE_URL"] = env["VOUCHER_DATABASE_URL"]
    if env.get("VOUCHER_POLICIES"):
        config["POLICY_DIR"] = env["VOUCHER_POLICIES"]
    for name in ("CHECKPOINT_KEY", "CHECKPOINT_PUBLIC_KEY"):
        if env.get(f"VOUCHER_{name}"):
            config[name] = env[f"VOUCHER_{name}"]
    if env.get("VOUCHER_MAX_BODY"):
        config["MAX_CONTENT_LENGTH"] = int(env["VOUCHER_MAX_BODY"])
    clock = clock_from_env(env)
    if clock is not None:
        config["CLOCK"] = clock
    return config


class StrictJSONProvider(DefaultJSONProvider):
    """`request.get_json()` reads as the views' parser and the CLI do: a key named twice is refused."""

    def loads(self, s, **kwargs):
        return load_json(s.decode("utf-8") if isinstance(s, (bytes, bytearray)) else s)


class _Flask(Flask):
    json_provider_class = StrictJSONProvider


class IdConverter(BaseConverter):
    """Path ids: no control characters (PostgreSQL cannot store NUL), at most 200 characters."""

    regex = r"[^/\x00-\x1f\x7f]{1,200}"


class VoucherApi(Api):
    """flask-smorest's Api, with every error documented and rendered as problem+json."""

    ERROR_SCHEMA = Problem

    def _register_responses(self) -> None:
        """As flask-smorest's, but every error response is the Problem schema as application/problem+json."""
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, errors.PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A problem (RFC 9457): 400, 401, 403, 404, 409, 413, 422 or 503, "
                                   "with the field and the reason.", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, errors.PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


def build_app(config: dict | None = None) -> Flask:
    app = _Flask("api")
    app.config.from_mapping(DEFAULTS)
    app.config.update(from_env())
    app.config.update(config or {})
    app.json.ensure_ascii = False  # Chinese names as UTF-8, not \u escapes
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    app.extensions["voucher"] = Services(app.config)

    api = VoucherApi(app)
    fields.register(api)
    api.spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API key made with `voucher keys create ROLE SUBJECT`; also accepted as X-API-Key."})
    api.register_converter(IdConverter, lambda c: {"type": "string", "minLength": 1, "maxLength": 200,
                                                   "pattern": r"^[^/\x00-\x1f\x7f]+$"})
    errors.register(app)

    for module in (health, policies, estimates, transactions, applications, vouchers, redemptions, ledger_views,
                   audit, parties, webhooks):
        api.register_blueprint(module.blp)
    app.register_blueprint(pages.blp)
    return app
