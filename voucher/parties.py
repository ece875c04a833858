"""Who takes part: enterprises (their profiles and standing) and providers and platforms.

Registration, onboarding, exit (退出) and blacklisting (列入黑名单), each one journal entry;
`_enterprise` and `_party` are the checks every other step uses to refuse a party that
is unknown, not onboarded or blacklisted.
"""

from __future__ import annotations

import json

from voucher.changes import require_admin
from voucher.enterprise import Enterprise, validate_credit_code
from voucher.errors import Forbidden, InputError, NotFound, quote
from voucher.states import Event
from voucher.store import Tx


class Parties:

    def register_enterprise(self, enterprise: Enterprise, *, actor: str, key: str | None = None) -> dict:
        """An administrator records or updates an enterprise's profile; its standing (blacklist) is kept.

        Only an administrator: the profile holds the facts eligibility is decided on. An
        enterprise asks for a change with `submit_enterprise_change` (voucher/changes.py).
        """
        require_admin(actor, "registers an enterprise or sets its profile")

        def work(db: Tx) -> dict:
            row = db.one("SELECT status FROM enterprises WHERE credit_code = ?", (enterprise.credit_code,))
            entry = self.append(db, Event.ENTERPRISE_REGISTER, actor=actor, enterprise=enterprise.credit_code,
                                memo=enterprise.to_dict())
            profile = json.dumps(enterprise.to_dict(), ensure_ascii=False)
            if row:
                db.run("UPDATE enterprises SET profile = ?, entry_id = ? WHERE credit_code = ?",
                       (profile, entry, enterprise.credit_code))
            else:
                db.insert("enterprises", {"credit_code": enterprise.credit_code, "profile": profile,
                                          "status": "active", "entry_id": entry})
            return {"credit_code": enterprise.credit_code, "status": row["status"] if row else "active"}
        return self.idempotent(key, ["register", enterprise.to_dict(), actor], work)

    def onboard_party(self, party_id: str, kind: str, name: str, *, actor: str, key: str | None = None) -> dict:
        """Admit a provider (服务商) or platform; only onboarded parties can take redemptions."""
        if kind not in ("provider", "platform"):
            raise InputError("kind", "must be provider or platform")
        if not party_id or len(party_id) > 100:
            raise InputError("party_id", "is required (at most 100 characters)")

        def work(db: Tx) -> dict:
            row = db.one("SELECT status FROM parties WHERE id = ?", (party_id,))
            if row and row["status"] == "blacklisted":
                raise Forbidden(f"{party_id} is blacklisted and cannot be onboarded", field="party_id")
            entry = self.append(db, Event.PARTY_ONBOARD, actor=actor, ref=party_id, memo={"kind": kind, "name": name})
            if row:
                db.run("UPDATE parties SET status = 'onboarded', kind = ?, name = ?, entry_id = ? WHERE id = ?",
                       (kind, name, entry, party_id))
            else:
                db.insert("parties", {"id": party_id, "kind": kind, "name": name, "status": "onboarded",
                                      "entry_id": entry})
            return {"id": party_id, "kind": kind, "name": name, "status": "onboarded"}
        return self.idempotent(key, ["onboard", party_id, kind, name, actor], work)

    def exit_party(self, party_id: str, *, reason: str, forced: bool, actor: str, key: str | None = None) -> dict:
        """A provider leaves, voluntarily or forced out (强制退出); it takes no new redemptions."""
        def work(db: Tx) -> dict:
            self._party(db, party_id)
            entry = self.append(db, Event.PARTY_EXIT, actor=actor, ref=party_id, memo={"reason": reason, "forced": forced})
            db.run("UPDATE parties SET status = 'exited', entry_id = ? WHERE id = ? AND status <> 'blacklisted'",
                   (entry, party_id))
            return {"id": party_id, "status": self._party(db, party_id)["status"]}
        return self.idempotent(key, ["exit", party_id, reason, forced, actor], work)

    def blacklist(self, subject: str, *, reason: str, actor: str, key: str | None = None) -> dict:
        """列入黑名单: an enterprise or a party; it can no longer apply, redeem or settle."""
        if not reason:
            raise InputError("reason", "a blacklisting states its reason")

        def work(db: Tx) -> dict:
            enterprise = db.one("SELECT credit_code FROM enterprises WHERE credit_code = ?", (subject,))
            party = db.one("SELECT id FROM parties WHERE id = ?", (subject,))
            if not enterprise and not party:
                raise NotFound(f"no enterprise or party {quote(subject)}", field="subject")
            entry = self.append(db, Event.BLACKLIST, actor=actor, enterprise=subject if enterprise else None,
                                ref=subject, memo={"reason": reason})
            db.run("UPDATE enterprises SET status = 'blacklisted', entry_id = ? WHERE credit_code = ?", (entry, subject))
            db.run("UPDATE parties SET status = 'blacklisted', entry_id = ? WHERE id = ?", (entry, subject))
            return {"subject": subject, "status": "blacklisted", "reason": reason}
        return self.idempotent(key, ["blacklist", subject, reason, actor], work)

    def _enterprise(self, db: Tx, code: str, *, active: bool = True) -> Enterprise:
        code = validate_credit_code(code, "enterprise")
        row = db.one("SELECT profile, status FROM enterprises WHERE credit_code = ?", (code,))
        if not row:
            raise NotFound(f"enterprise {code} is not registered", field="enterprise")
        if active and row["status"] == "blacklisted":
            raise Forbidden(f"enterprise {code} is blacklisted (列入黑名单)", field="enterprise")
        return Enterprise.from_dict(json.loads(row["profile"]))

    def _party(self, db: Tx, party_id: str, *, onboarded: bool = False) -> dict:
        row = db.one("SELECT * FROM parties WHERE id = ?", (party_id,))
        if not row:
            raise NotFound(f"{quote(party_id)} is not an onboarded provider or platform", field="party")
        if onboarded and row["status"] != "onboarded":
            raise Forbidden(f"{party_id} is {row['status']}, not onboarded", field="party")
        return row
