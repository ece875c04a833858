"""Webhook subscriptions: platforms, enterprises, providers and administrators subscribe to ledger events.

A subscriber receives the events that concern it (its vouchers, its redemptions);
an administrator's subscription receives all, a scoped administrator's those of the
policies its scope named when it subscribed. The worker in `voucher.webhooks` delivers.
"""

from __future__ import annotations

from api.services import ledger
from api.auth import current_principal, requires, scope_ids
from api.idempotency import idempotent, key
from api.schemas.ledger import DeliveriesOut, SubscriptionCreated, SubscriptionOut
from api.schemas.requests import DeliveriesQuery, SubscriptionIn
from api.views import Blueprint
from voucher.webhooks import deliveries, list_subscriptions, subscribe, unsubscribe

blp = Blueprint("webhooks", __name__, url_prefix="/v1/webhooks", description="Subscriptions to ledger events.")
ANYONE = ("enterprise", "platform", "provider", "admin")


@blp.route("", methods=["POST"])
@requires(*ANYONE)
@idempotent(required=False)
@blp.arguments(SubscriptionIn())
@blp.response(201, SubscriptionCreated)
def create(args: dict):
    """Subscribe a URL to event types; the signing secret (whsec_...) is in this response only."""
    who, book = current_principal(), ledger()
    events, scope = sorted(set(args["events"])), scope_ids()
    return book.idempotent(key(), ["subscribe", who.actor, args["url"], events, sorted(scope or [])],
                           lambda db: subscribe(db, who, args["url"], events, book.now(), scope))


@blp.route("")
@requires(*ANYONE)
@blp.response(200, SubscriptionOut(many=True))
def list_all():
    """Your live subscriptions (an unscoped administrator sees everyone's)."""
    return list_subscriptions(ledger().store, current_principal())


@blp.route("/<id:subscription_id>", methods=["DELETE"])
@requires(*ANYONE)
@blp.response(204)
def delete(subscription_id: str):
    """Stop deliveries to this subscription; pending ones are dropped."""
    unsubscribe(ledger().store, current_principal(), subscription_id, ledger().now())


@blp.route("/<id:subscription_id>/deliveries")
@requires(*ANYONE)
@blp.arguments(DeliveriesQuery(), location="query")
@blp.response(200, DeliveriesOut)
def list_deliveries(args: dict, subscription_id: str):
    """The latest deliveries to this subscription: status, attempts, last HTTP status or error."""
    return {"items": deliveries(ledger().store, current_principal(), subscription_id, args["limit"])}
