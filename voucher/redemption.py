"""Spending a voucher: holds, redemption, proof of service, confirmation, settlement, payment, clawback.

Jinan's data voucher shows the longest path (the others skip proof and confirmation):
redeem with a provider → the provider uploads proof (a file hash bound to the
redemption) → the holder confirms and rates → the provider asks for settlement (兑现申请)
→ one administrator approves → another pays (市财政局拨付). Each step checks who takes it
and the state it follows, and is refused, writing nothing, when either is wrong.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from voucher.businesses import normal_key, required_key
from voucher.errors import Conflict, Forbidden, InputError, NotFound, quote
from voucher.journal import Posting
from voucher.money import parse_money, plain
from voucher.states import CLOSED, REDEMPTION_TRANSITIONS, Event, settlement_needs
from voucher.states import RedemptionStatus as R
from voucher.states import VoucherStatus as V
from voucher.store import Tx, from_fen, to_fen_int

SHA256 = re.compile(r"[0-9a-f]{64}")


def spend_status(redeemed: int, left: int) -> V:
    """A live voucher's status from what its standing redemptions took and what is left (available + held).

    `issued` until something is redeemed; `redeemed` only when nothing is left, neither
    available nor held (a hold may still lapse back); `partly_redeemed` in between. A
    reversal or a lapsed hold moves it back; expired and voided are final and set elsewhere.
    """
    if redeemed <= 0:
        return V.ISSUED
    return V.REDEEMED if left <= 0 else V.PARTLY_REDEEMED


def restatus(db: Tx, voucher_id: str) -> None:
    """Set a live voucher's status from the ledger (`spend_status`); a closed one keeps its status."""
    redeemed = db.value("SELECT COALESCE(SUM(amount), 0) FROM redemptions WHERE voucher_id = ? "
                        "AND status <> ?", (voucher_id, R.REVERSED))
    left = db.value("SELECT COALESCE(SUM(amount), 0) FROM postings WHERE account IN (?, ?)",
                    (f"voucher:{voucher_id}", f"hold:{voucher_id}"))
    db.run("UPDATE vouchers SET status = ? WHERE id = ? AND status NOT IN (?, ?)",
           (spend_status(int(redeemed), int(left)), voucher_id, *sorted(CLOSED)))


def restatus_all(db: Tx) -> None:
    """Schema step 0003_idem_voucher_status: every live voucher's status by `spend_status`."""
    for v in db.rows("SELECT id FROM vouchers WHERE status NOT IN (?, ?)", tuple(sorted(CLOSED))):
        restatus(db, v["id"])


class Redemptions:
    # --- holds at a platform's checkout ---------------------------------------------------

    def hold(self, voucher_id: str, *, enterprise: str, amount: object, platform: str, ttl_seconds: int = 900,
             actor: str, key: str | None = None) -> dict:
        """Reserve voucher value during checkout; it lapses unless committed within `ttl_seconds`."""
        value = parse_money(amount, "amount", positive=True)
        if not isinstance(ttl_seconds, int) or not 1 <= ttl_seconds <= 86400:
            raise InputError("ttl_seconds", "must be a whole number of seconds from 1 to 86400")

        def work(db: Tx) -> dict:
            v = self._spendable(db, voucher_id, enterprise, value)
            self._party(db, platform, onboarded=True)
            expires_at = self.now() + timedelta(seconds=ttl_seconds)
            hold_id = f"H{self.next_id(db)}"
            entry = self.append(db, Event.HOLD, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                                year=v["year"], voucher_id=voucher_id, ref=hold_id,
                                memo={"platform": platform, "expires_at": expires_at.isoformat()},
                                postings=(Posting("voucher", voucher_id, -value), Posting("hold", voucher_id, value)))
            db.insert("holds", {"id": hold_id, "voucher_id": voucher_id, "party": platform, "amount": to_fen_int(value),
                                "expires_at": expires_at.isoformat(), "status": "held", "entry_id": entry})
            return self._hold_view(db, hold_id)
        return self.idempotent(key, ["hold", voucher_id, enterprise, str(value), platform, ttl_seconds], work)

    def release_hold(self, hold_id: str, *, platform: str, actor: str, key: str | None = None) -> dict:
        def work(db: Tx) -> dict:
            h = self._open_hold(db, hold_id, platform)
            self._end_hold(db, h, "hold.release", "released", actor)
            return self._hold_view(db, hold_id)
        return self.idempotent(key, ["release", hold_id, platform], work)

    def commit_hold(self, hold_id: str, *, platform: str, invoice: str, actor: str, key: str | None = None) -> dict:
        """The checkout completed: the held value becomes a redemption in the platform's favour."""
        def work(db: Tx) -> dict:
            h = self._open_hold(db, hold_id, platform)
            v = self._live(db, self._voucher_row(db, h["voucher_id"]))  # not expired, nor its holder blacklisted
            self._check_invoice(db, invoice)
            db.run("UPDATE holds SET status = 'committed' WHERE id = ?", (hold_id,))
            return self._redeem(db, v, from_fen(h["amount"]), platform, invoice, actor, source="hold", hold_id=hold_id)
        return self.idempotent(key, ["commit", hold_id, platform, invoice], work)

    def lapse_holds(self, db: Tx, voucher_id: str, *, force: bool = False) -> None:
        """Return value of holds past their time (or all, when the voucher closes) to the voucher."""
        now = self.now().isoformat()
        for h in db.rows("SELECT * FROM holds WHERE voucher_id = ? AND status = 'held' ORDER BY id", (voucher_id,)):
            if force or h["expires_at"] < now:
                self._end_hold(db, h, "hold.lapse", "lapsed", "system:hold-timer")

    def _end_hold(self, db: Tx, h: dict, event: str, status: str, actor: str) -> None:
        v = self._voucher_row(db, h["voucher_id"])
        value = from_fen(h["amount"])
        self.append(db, event, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"], year=v["year"],
                    voucher_id=v["id"], ref=h["id"],
                    postings=(Posting("hold", v["id"], -value), Posting("voucher", v["id"], value)))
        db.run("UPDATE holds SET status = ? WHERE id = ?", (status, h["id"]))

    def _open_hold(self, db: Tx, hold_id: str, platform: str) -> dict:
        h = db.one("SELECT * FROM holds WHERE id = ?", (hold_id,))
        if not h:
            raise NotFound(f"no hold {quote(hold_id)}", field="hold")
        if h["party"] != platform:
            raise Forbidden(f"hold {hold_id} belongs to another platform", field="hold")
        self.lapse_holds(db, h["voucher_id"])
        h = db.one("SELECT * FROM holds WHERE id = ?", (hold_id,))
        if h["status"] != "held":
            raise Conflict(f"hold {hold_id} is {h['status']}", field="hold")
        return h

    def _hold_view(self, db: Tx, hold_id: str) -> dict:
        h = db.one("SELECT id, voucher_id, party, amount, expires_at, status FROM holds WHERE id = ?", (hold_id,))
        return {**h, "amount": plain(from_fen(h["amount"]))}

    # --- redemption ---------------------------------------------------------------------------

    def redeem(self, voucher_id: str, *, enterprise: str, amount: object, party: str, invoice: str, actor: str,
               key: str | None = None) -> dict:
        """兑现 against a purchase from `party` (an onboarded provider or platform), in full or in part."""
        value = parse_money(amount, "amount", positive=True)

        def work(db: Tx) -> dict:
            v = self._spendable(db, voucher_id, enterprise, value)
            self._check_invoice(db, invoice)
            return self._redeem(db, v, value, party, invoice, actor, source="direct")
        return self.idempotent(key, ["redeem", voucher_id, enterprise, str(value), party, invoice], work)

    def _redeem(self, db: Tx, v: dict, value, party: str, invoice: str, actor: str, *, source: str,
                hold_id: str | None = None) -> dict:
        self._party(db, party, onboarded=True)
        red_id = f"R{self.next_id(db)}"
        spent_from = "hold" if hold_id else "voucher"
        entry = self.append(db, Event.REDEEM, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                            year=v["year"], voucher_id=v["id"], ref=red_id,
                            memo={"party": party, "invoice": invoice, "source": source, "hold": hold_id},
                            postings=(Posting(spent_from, v["id"], -value),
                                      Posting("receivable", party, value, party=party)))
        db.insert("redemptions", {"id": red_id, "voucher_id": v["id"], "party": party, "amount": to_fen_int(value),
                                  "invoice": invoice, "invoice_key": normal_key(invoice),
                                  "status": REDEMPTION_TRANSITIONS[Event.REDEEM].to,
                                  "hold_id": hold_id, "entry_id": entry})
        restatus(db, v["id"])
        view = self.redemption_view(db, red_id)
        self.emit(db, entry, "voucher.redeemed", [v["enterprise"], party, v["platform"]], view)
        return view

    def _spendable(self, db: Tx, voucher_id: str, enterprise: str, value) -> dict:
        """The voucher, if `enterprise` holds it, it is live today and it has `value` unspent."""
        v = self._voucher_row(db, voucher_id)
        if v["enterprise"] != enterprise:
            if not self.table.get(v["policy_id"]).voucher.transferable:
                raise Forbidden(f"voucher {voucher_id} belongs to another enterprise; vouchers are not transferable "
                                "(不得转让)", field="voucher")
            self._enterprise(db, enterprise)  # transferable: the one who spends it is in good standing too
        self._live(db, v)
        self.lapse_holds(db, voucher_id)
        available = self.balance(db, account=f"voucher:{voucher_id}")
        if value > available:
            raise Conflict(f"amount {plain(value)} is more than the {plain(available)} available on {voucher_id}",
                           field="amount")
        return v

    def _live(self, db: Tx, v: dict) -> dict:
        """The voucher row, if it may be spent today: not closed, not past its last day, its holder in good standing."""
        self._enterprise(db, v["enterprise"])
        if v["status"] in CLOSED:
            raise Conflict(f"voucher {v['id']} is {v['status']}", field="voucher")
        if v["expires_on"] and self.today() > date.fromisoformat(v["expires_on"]):
            raise Conflict(f"voucher {v['id']} expired after {v['expires_on']} (逾期作废)", field="voucher")
        return v

    def _check_invoice(self, db: Tx, invoice: str) -> None:
        """An invoice backs one claim, however it is spelt (compared by `normal_key`: case, width, invisibles)."""
        if not isinstance(invoice, str) or not invoice.strip() or len(invoice) > 100:
            raise InputError("invoice", "an invoice number is required (at most 100 characters)")
        used = db.one("SELECT id, invoice FROM redemptions WHERE invoice_key = ? OR invoice = ?",
                      (required_key(invoice, "invoice"), invoice))
        if used:
            raise Conflict(f"invoice {invoice} already backs redemption {used['id']} (as {used['invoice']}); "
                           "an invoice backs one claim", field="invoice")

    # --- proof, confirmation, settlement, payment -------------------------------------------

    def proof(self, redemption_id: str, *, party: str, file_hash: str, actor: str, key: str | None = None) -> dict:
        """The provider's proof of service, stored as the SHA-256 of the file, bound to the redemption."""
        if not isinstance(file_hash, str) or not SHA256.fullmatch(file_hash):
            raise InputError("file_hash", "must be the file's SHA-256 as 64 lowercase hex digits")
        return self._step(redemption_id, Event.PROOF, party=party, actor=actor, key=key,
                          set_={"proof_hash": file_hash}, memo={"file_hash": file_hash})

    def confirm(self, redemption_id: str, *, enterprise: str, rating: int, actor: str, key: str | None = None) -> dict:
        """The holder confirms the service was done and rates it (1-5), the basis for paying."""
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InputError("rating", "must be a whole number from 1 to 5")
        return self._step(redemption_id, Event.CONFIRM, holder=enterprise, actor=actor, key=key,
                          set_={"rating": rating}, memo={"rating": rating})

    def request_settlement(self, redemption_id: str, *, party: str, actor: str, key: str | None = None) -> dict:
        return self._step(redemption_id, Event.SETTLE_REQUEST, party=party, actor=actor, key=key)

    def approve_settlement(self, redemption_id: str, *, actor: str, key: str | None = None) -> dict:
        return self._step(redemption_id, Event.SETTLE_APPROVE, actor=actor, key=key, set_={"approved_by": actor},
                          event_type="settlement.approved")

    def pay(self, redemption_id: str, *, actor: str, key: str | None = None) -> dict:
        """拨付: moves the receivable to paid. The approver may not also pay (four eyes)."""
        return self._step(redemption_id, Event.PAY, actor=actor, key=key, set_={"paid_by": actor},
                          event_type="settlement.paid", money=("receivable", "paid"))

    def clawback(self, redemption_id: str, *, reason: str, actor: str, key: str | None = None) -> dict:
        """Fraud found later (套取财政资金): the redeemed value returns to the policy's budget."""
        if not reason:
            raise InputError("reason", "a clawback states its reason")

        def work(db: Tx) -> dict:
            r, v = self._redemption(db, redemption_id)
            if r["status"] not in REDEMPTION_TRANSITIONS[Event.CLAWBACK].needs:
                raise Conflict(f"redemption {redemption_id} is already {r['status']}", field="redemption")
            sits = "paid" if r["status"] == R.PAID else "receivable"
            value = from_fen(r["amount"])
            entry = self.append(db, Event.CLAWBACK, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                                year=v["year"], voucher_id=v["id"], ref=redemption_id,
                                memo={"reason": reason, "from": sits, "recover_from": r["party"]},
                                postings=(Posting(sits, r["party"], -value, party=r["party"]),
                                          Posting("budget", f"{v['policy_id']}:{v['year']}", value)))
            db.run("UPDATE redemptions SET status = ?, entry_id = ? WHERE id = ?",
                   (REDEMPTION_TRANSITIONS[Event.CLAWBACK].to, entry, redemption_id))
            return self.redemption_view(db, redemption_id)
        return self.idempotent(key, ["clawback", redemption_id, reason, actor], work)

    def reverse(self, entry_id: int, *, reason: str, actor: str, key: str | None = None) -> dict:
        """Correct a redemption made in error, before settlement is asked: a reversing entry that names it."""
        if not reason:
            raise InputError("reason", "a reversal states its reason")

        def work(db: Tx) -> dict:
            original = db.one("SELECT * FROM entries WHERE id = ?", (entry_id,))
            if not original:
                raise NotFound(f"no entry {entry_id}", field="entry_id")
            if original["event"] != Event.REDEEM:
                raise Conflict(f"entry {entry_id} is a {original['event']}; only a redemption is reversed this way "
                               "(void a voucher, claw back a payment)", field="entry_id")
            r, v = self._redemption(db, original["ref"])
            if r["status"] not in REDEMPTION_TRANSITIONS[Event.REVERSE].needs:
                raise Conflict(f"redemption {r['id']} is {r['status']}; too late to reverse", field="entry_id")
            legs = db.rows("SELECT kind, account, party, amount FROM postings WHERE entry_id = ? ORDER BY n", (entry_id,))
            # The value goes back where it came from: the voucher, or, once the voucher is closed (its
            # unspent value already returned by expiry or voiding), the budget, so none is stranded.
            closed = v["status"] in CLOSED

            def undo(leg: dict) -> Posting:
                kind, account = leg["kind"], leg["account"].split(":", 1)[1]
                if kind in ("voucher", "hold"):
                    kind, account = ("budget", f"{v['policy_id']}:{v['year']}") if closed else ("voucher", account)
                return Posting(kind, account, -from_fen(leg["amount"]), party=leg["party"] or "")
            postings = tuple(undo(leg) for leg in legs)
            entry = self.append(db, Event.REVERSE, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                                year=v["year"], voucher_id=v["id"], ref=r["id"], reverses=entry_id,
                                memo={"reason": reason}, postings=postings)
            db.run("UPDATE redemptions SET status = ?, entry_id = ? WHERE id = ?",
                   (REDEMPTION_TRANSITIONS[Event.REVERSE].to, entry, r["id"]))
            restatus(db, v["id"])
            return {"entry_id": entry, "reverses": entry_id, "redemption": self.redemption_view(db, r["id"])}
        return self.idempotent(key, ["reverse", entry_id, reason, actor], work)

    def _step(self, redemption_id: str, event: Event, *, actor: str, key: str | None, party: str | None = None,
              holder: str | None = None, set_: dict | None = None,
              memo: dict | None = None, event_type: str | None = None, money: tuple | None = None) -> dict:
        def work(db: Tx) -> dict:
            r, v = self._redemption(db, redemption_id)
            policy = self.table.get(v["policy_id"])
            if party is not None:
                if r["party"] != party:
                    raise Forbidden(f"redemption {redemption_id} is with another provider", field="redemption")
                self._party(db, party, onboarded=True)
            if holder is not None and v["enterprise"] != holder:
                raise Forbidden(f"only the holder of {v['id']} may confirm", field="redemption")
            allowed, status = REDEMPTION_TRANSITIONS[event]
            if event == Event.SETTLE_REQUEST:  # it follows confirmation where the policy asks for proof
                allowed = settlement_needs(policy.voucher.settlement)
            if r["status"] not in allowed:
                raise Conflict(f"redemption {redemption_id} is {r['status']}; {event} needs "
                               f"{' or '.join(sorted(allowed))} first", field="redemption")
            if event == Event.PAY and r["approved_by"] == actor:
                raise Forbidden(f"{actor} approved this settlement and may not also pay it (four eyes)", field="actor")
            if event == Event.PAY:  # the journal, not the status row (which a hand edit can set back), says if it was paid
                done = db.one("SELECT id, event FROM entries WHERE voucher_id = ? AND ref = ? AND event IN "
                              "(?, ?, ?) ORDER BY id LIMIT 1",
                              (v["id"], redemption_id, Event.PAY, Event.CLAWBACK, Event.REVERSE))
                if done:
                    raise Conflict(f"redemption {redemption_id} was already settled by entry {done['id']} "
                                   f"({done['event']}); the journal holds no second payment", field="redemption")
            if event in (Event.SETTLE_APPROVE, Event.PAY):
                self._enterprise(db, v["enterprise"])  # a blacklisted holder's claims are not paid
                if self._party(db, r["party"])["status"] == "blacklisted":
                    raise Forbidden(f"{r['party']} is blacklisted (列入黑名单); its claims are not paid", field="party")
            value = from_fen(r["amount"])
            postings = (Posting(money[0], r["party"], -value, party=r["party"]),
                        Posting(money[1], r["party"], value, party=r["party"])) if money else ()
            entry = self.append(db, event, actor=actor, enterprise=v["enterprise"], policy_id=v["policy_id"],
                                year=v["year"], voucher_id=v["id"], ref=redemption_id, memo=memo, postings=postings)
            assignments = {"status": status, "entry_id": entry, **(set_ or {})}
            db.run(f"UPDATE redemptions SET {', '.join(f'{c} = ?' for c in assignments)} WHERE id = ?",
                   (*assignments.values(), redemption_id))
            view = self.redemption_view(db, redemption_id)
            if event_type:
                self.emit(db, entry, event_type, [v["enterprise"], r["party"]], view)
            return view
        return self.idempotent(key, [event, redemption_id, party, holder, actor, set_, memo], work)

    def _redemption(self, db: Tx, redemption_id: str) -> tuple[dict, dict]:
        r = db.one("SELECT * FROM redemptions WHERE id = ?", (redemption_id,))
        if not r:
            raise NotFound(f"no redemption {quote(redemption_id)}", field="redemption")
        return r, self._voucher_row(db, r["voucher_id"])

    def redemption_view(self, db: Tx, redemption_id: str) -> dict:
        r, v = self._redemption(db, redemption_id)
        return {"id": r["id"], "voucher_id": r["voucher_id"], "enterprise": v["enterprise"], "policy_id": v["policy_id"],
                "party": r["party"], "amount": plain(from_fen(r["amount"])), "invoice": r["invoice"],
                "status": r["status"], "proof_hash": r["proof_hash"], "rating": r["rating"],
                "approved_by": r["approved_by"], "paid_by": r["paid_by"]}

