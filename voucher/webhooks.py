"""Webhooks: subscriptions, Standard Webhooks signatures, and the delivery worker.

The ledger writes each event to its `outbox` in the same database transaction as the
posting that caused it (`Journal.emit`), so an event exists exactly when its posting
does. This worker (`voucher-webhooks`, one or more processes beside the web workers):

  1. sweeps vouchers expiring within 30 days into `voucher.expiring` events, once each,
     and (hourly) expires overdue vouchers through the ledger, which emits `voucher.expired`;
  2. fans each new outbox event out to the live subscriptions whose owner it concerns
     (the event's `subjects` holds the enterprise, the platform, the party; administrators
     get every event, a scoped administrator those of its policies), one delivery row each;
  3. claims due deliveries in a write transaction (so two workers never send the same
     one at once), POSTs them signed, and on failure retries on a backoff schedule.

Delivery is at least once: a receiver de-duplicates on the `webhook-id` header (the
same for every retry of an event). Signatures follow Standard Webhooks: webhook-signature
is "v1," + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}")), the secret being the
base64 after "whsec_". Redirects are not followed, and private addresses are refused
unless allowed, so a subscription cannot be aimed at the service's own network.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import signal
import socket
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from voucher.errors import NotFound, quote
from voucher.journal import Journal
from voucher.states import LIVE
from voucher.store import open_store

EVENT_TYPES = ("voucher.issued", "voucher.expiring", "voucher.expired", "voucher.voided", "voucher.redeemed",
               "settlement.approved", "settlement.paid")
SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
"""Seconds to wait after the 1st, 2nd, ... failed attempt; after the last, the delivery is failed (~27 hours)."""
EXPIRING_DAYS = 30
log = logging.getLogger("voucher.webhooks")


def _ms(moment: float) -> int:
    return int(moment * 1000)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


# --- subscriptions (called from the API views) -----------------------------------------------

def subscribe(db, owner, url: str, events: list[str], now: datetime, scope=None) -> dict:
    """Inside a write transaction: record a subscription; its secret is returned this once.

    `scope`: a scoped administrator's policy ids (resolved now), whose events alone it receives.
    """
    sub = {"id": f"sub_{secrets.token_hex(8)}", "owner": owner.actor, "role": owner.role, "subject": owner.subject,
           "url": url, "secret": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
           "events": json.dumps(sorted(set(events))), "created_at": now.isoformat(),
           "scope": json.dumps(sorted(scope)) if scope is not None else None}
    db.insert("webhook_subscriptions", sub)
    return {**_public(sub), "secret": sub["secret"]}


def _public(row: dict) -> dict:
    return {"id": row["id"], "owner": row["owner"], "url": row["url"], "events": json.loads(row["events"]),
            "created_at": row["created_at"]}


def _sees_all(owner) -> bool:
    """An unscoped administrator manages every subscription; anyone else only its own."""
    return owner.role == "admin" and getattr(owner, "scope", None) is None


def _owned(db, owner, sub_id: str) -> dict:
    row = db.one("SELECT * FROM webhook_subscriptions WHERE id = ? AND deleted_at IS NULL", (sub_id,))
    if not row or (not _sees_all(owner) and row["owner"] != owner.actor):
        raise NotFound(f"no subscription {quote(sub_id)}", field="subscription")
    return row


def list_subscriptions(store, owner) -> list[dict]:
    sql, params = "SELECT * FROM webhook_subscriptions WHERE deleted_at IS NULL", []
    if not _sees_all(owner):
        sql, params = sql + " AND owner = ?", [owner.actor]
    with store.read() as db:
        return [_public(r) for r in db.rows(sql + " ORDER BY created_at, id", params)]


def unsubscribe(store, owner, sub_id: str, now: datetime) -> None:
    with store.write() as db:
        _owned(db, owner, sub_id)
        db.run("UPDATE webhook_subscriptions SET deleted_at = ? WHERE id = ?", (now.isoformat(), sub_id))


def deliveries(store, owner, sub_id: str, limit: int = 100) -> list[dict]:
    with store.read() as db:
        _owned(db, owner, sub_id)
        rows = db.rows("SELECT * FROM webhook_deliveries WHERE subscription_id = ? ORDER BY event_id DESC LIMIT ?",
                       (sub_id, limit))
    return [{"id": r["id"], "event_id": f"evt_{r['event_id']}", "event_type": r["event_type"], "status": r["status"],
             "attempts": r["attempts"], "last_status": r["last_status"], "last_error": r["last_error"],
             "next_attempt_at": _iso(r["next_at"]) if r["status"] == "pending" else None,
             "delivered_at": _iso(r["delivered_at"])} for r in rows]


def _event_policy(db, event: dict) -> str | None:
    """The policy an event concerns: its payload's, or that of the voucher it names."""
    payload = json.loads(event["payload"] or "{}")
    if payload.get("policy_id"):
        return payload["policy_id"]
    if payload.get("voucher_id"):
        return db.value("SELECT policy_id FROM vouchers WHERE id = ?", (payload["voucher_id"],))
    return None


# --- signatures -------------------------------------------------------------------------------

def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def verify(secret: str, headers, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute, compare in constant time, and refuse stale timestamps."""
    try:
        msg_id, timestamp = headers["webhook-id"], int(headers["webhook-timestamp"])
    except (KeyError, TypeError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, msg_id, timestamp, body).encode()
    return any(hmac.compare_digest(expected, sig.encode()) for sig in headers.get("webhook-signature", "").split())


# --- the worker ---------------------------------------------------------------------------------

class Worker:
    """One pass of each step per `run_once`; state lives in the database, so any worker can resume."""

    def __init__(self, store, *, ledger=None, clock=time.time, schedule=SCHEDULE, timeout: float = 10.0,
                 allow_private: bool = False, batch: int = 100) -> None:
        self.store, self.ledger, self.clock = store, ledger, clock
        self.journal = ledger if ledger is not None else Journal(store)  # the ledger's clock, where there is one
        self.schedule, self.timeout, self.allow_private, self.batch = schedule, timeout, allow_private, batch
        self.last_expiry = 0.0

    def run_once(self) -> dict:
        stats = {"expired": 0, "expiring": self.sweep_expiring(), "events": self.fan_out()}
        if self.ledger is not None and self.clock() - self.last_expiry >= 3600:
            stats["expired"] = len(self.ledger.expire()["expired"])
            self.last_expiry = self.clock()
            stats["events"] += self.fan_out()
        stats.update(self.deliver_due())
        return stats

    def sweep_expiring(self, today: date | None = None) -> int:
        """voucher.expiring for live vouchers with value left whose last day is within 30 days; once each."""
        today = today or self.journal.today()
        with self.store.write() as db:
            rows = db.rows("SELECT id, enterprise, platform, policy_id, expires_on, entry_id FROM vouchers "
                           "WHERE status IN (?, ?, ?) AND expires_on IS NOT NULL "
                           "AND expires_on >= ? AND expires_on <= ? AND id NOT IN (SELECT voucher_id FROM webhook_notices "
                           "WHERE type = 'voucher.expiring') ORDER BY id",
                           (*sorted(LIVE), today.isoformat(), (today + timedelta(days=EXPIRING_DAYS)).isoformat()))
            sent = 0
            for v in rows:
                available = self.journal.balance(db, account=f"voucher:{v['id']}")
                if available <= 0:
                    continue  # nothing to lose; asked again next sweep in case a hold is released
                payload = {"voucher_id": v["id"], "enterprise": v["enterprise"], "policy_id": v["policy_id"],
                           "expires_on": v["expires_on"], "available": f"{available:.2f}"}
                self.journal.emit(db, v["entry_id"], "voucher.expiring", [v["enterprise"], v["platform"]], payload)
                db.insert("webhook_notices", {"voucher_id": v["id"], "type": "voucher.expiring",
                                              "at": self.journal.now().isoformat()})
                sent += 1
        return sent

    def fan_out(self) -> int:
        """Hand new outbox events to matching subscriptions; the cursor moves in the same transaction."""
        now = _ms(self.clock())
        with self.store.write() as db:
            cursor = db.value("SELECT value FROM webhook_state WHERE name = 'outbox'")
            if cursor is None:
                db.insert("webhook_state", {"name": "outbox", "value": 0})
                cursor = 0
            events = db.rows("SELECT id, type, subjects, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                             (cursor, self.batch))
            if not events:
                return 0
            subs = db.rows("SELECT id, role, subject, events, scope FROM webhook_subscriptions "
                           "WHERE deleted_at IS NULL")
            wanted = [(s, set(json.loads(s["events"])), set(json.loads(s["scope"])) if s["scope"] else None)
                      for s in subs]
            for event in events:
                subjects = set(json.loads(event["subjects"] or "[]"))
                policy = _event_policy(db, event)
                for sub, types, scope in wanted:
                    if event["type"] in types and ((sub["role"] == "admin" and (scope is None or policy in scope))
                                                   or sub["subject"] in subjects):
                        db.insert("webhook_deliveries", {
                            "id": f"evt_{event['id']}:{sub['id']}", "event_id": event["id"],
                            "subscription_id": sub["id"], "event_type": event["type"], "status": "pending",
                            "attempts": 0, "next_at": now, "created_at": now})
            db.run("UPDATE webhook_state SET value = ? WHERE name = 'outbox'", (events[-1]["id"],))
        return len(events)

    def deliver_due(self) -> dict:
        now = _ms(self.clock())
        lease = now + _ms(self.timeout * 2 + 30)  # another worker may retry it only after this
        with self.store.write() as db:
            due = db.rows("SELECT d.id, d.event_id, d.attempts, s.url, s.secret, s.deleted_at, o.type, o.payload, "
                          "o.at FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id "
                          "JOIN outbox o ON o.id = d.event_id WHERE d.status = 'pending' AND d.next_at <= ? "
                          "ORDER BY d.next_at, d.id LIMIT ?", (now, self.batch))
            for d in due:
                db.run("UPDATE webhook_deliveries SET next_at = ? WHERE id = ?", (lease, d["id"]))
        counts = {"delivered": 0, "retrying": 0, "failed": 0}
        for d in due:
            if d["deleted_at"]:
                status, error, final = None, "the subscription was deleted", True
            else:
                status, error, final = self.send(d)
            counts[self.record(d, status, error, final)] += 1
        return counts

    def send(self, d: dict) -> tuple[int | None, str | None, bool]:
        """POST one event; (HTTP status, error, whether retrying is pointless)."""
        msg_id = f"evt_{d['event_id']}"
        body = json.dumps({"id": msg_id, "type": d["type"], "timestamp": d["at"], "data": json.loads(d["payload"])},
                          ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self.clock())
        parts = urlsplit(d["url"])
        try:
            if not self.allow_private and _private(parts.hostname or ""):
                return None, f"{parts.hostname} is a private address; not delivered", True
            conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = conn_cls(parts.hostname, parts.port, timeout=self.timeout)
            try:
                conn.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                             headers={"Content-Type": "application/json", "User-Agent": "voucher-webhooks/1",
                                      "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
                                      "webhook-signature": sign(d["secret"], msg_id, timestamp, body)})
                response = conn.getresponse()
                response.read(65536)
            finally:
                conn.close()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500], False
        if 200 <= response.status < 300:
            return response.status, None, False
        return response.status, f"HTTP {response.status}", False

    def record(self, d: dict, status: int | None, error: str | None, final: bool) -> str:
        attempts = d["attempts"] + 1
        now = _ms(self.clock())
        if error is None:
            outcome, next_at, delivered = "delivered", None, now
        elif final or attempts > len(self.schedule):
            outcome, next_at, delivered = "failed", None, None
        else:
            outcome, next_at, delivered = "pending", now + _ms(self.schedule[attempts - 1]), None
        with self.store.write() as db:
            db.run("UPDATE webhook_deliveries SET status = ?, attempts = ?, next_at = ?, last_status = ?, "
                   "last_error = ?, delivered_at = ? WHERE id = ?",
                   (outcome, attempts, next_at, status, error, delivered, d["id"]))
        if outcome != "delivered":
            log.info("delivery %s: %s (attempt %d, %s)", d["id"], error, attempts, outcome)
        return {"delivered": "delivered", "failed": "failed"}.get(outcome, "retrying")


def _private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the connection attempt will fail and be retried
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            return True
    return False


def run_worker(once: bool = False, *, url: str | None = None, interval: float = 1.0, expire: bool = True,
               allow_private: bool = False) -> dict:
    """Loop until SIGTERM/SIGINT (or one pass with `once`); sleeps only when a pass found nothing to do."""
    from voucher.ledger import open_ledger

    book = open_ledger(url) if expire else None
    worker = Worker(book.store if book else open_store(url), ledger=book, allow_private=allow_private)
    stop = []
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.append(True))
    while True:
        stats = worker.run_once()
        if once or stop:
            return stats
        if not (stats["events"] or stats["delivered"] or stats["retrying"] or stats["failed"]):
            time.sleep(interval)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="voucher-webhooks", description="Deliver ledger events to subscribers.")
    parser.add_argument("--database-url", default=None,
                        help="default: $VOUCHER_DATABASE_URL, else sqlite:///voucher.db")
    parser.add_argument("--once", action="store_true", help="one pass, then exit (for cron and tests)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between idle passes")
    parser.add_argument("--no-expire", action="store_true", help="do not run the hourly expiry sweep")
    parser.add_argument("--allow-private", action="store_true",
                        help="deliver to loopback and private addresses (development only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stats = run_worker(args.once, url=args.database_url, interval=args.interval, expire=not args.no_expire,
                       allow_private=args.allow_private)
    log.info("stopped: %s", stats)


if __name__ == "__main__":
    main()
