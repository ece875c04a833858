"""Reading the ledger: balances on a date, entry history with cursors, yearly policy reports, CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import date
from typing import IO

from voucher.errors import InputError, NotFound
from voucher.journal import equal_to
from voucher.money import plain
from voucher.states import Event
from voucher.store import from_fen

ENTRY_FILTERS = ("enterprise", "policy_id", "year", "voucher_id", "event")
EXPORT_COLUMNS = ("entry_id", "at", "event", "actor", "enterprise", "policy_id", "year", "voucher_id", "ref",
                  "reverses", "account", "amount", "hash")


def among(column: str, values, where: list[str], params: list) -> None:
    """Add `column IN (...)` for a set of values (a scoped administrator's policies); None adds nothing,
    and an empty set matches no row."""
    if values is None:
        return
    values = sorted(values)
    where.append(f"{column} IN ({', '.join('?' for _ in values)})" if values else "1 = 0")
    params.extend(values)


class Reports:
    def balances(self, *, enterprise: str | None = None, policy_id: str | None = None, year: int | None = None,
                 on: date | None = None, policy_ids=None) -> dict:
        """Every account touched by the filters, with its balance at the end of day `on` (default: now).

        `policy_ids` limits the postings to those policies (a scoped administrator's view)."""
        where, params = equal_to({"enterprise": enterprise, "policy_id": policy_id, "year": year})
        among("policy_id", policy_ids, where, params)
        if on:
            where.append("day <= ?")
            params.append(on.isoformat())
        sql = "SELECT account, kind, SUM(amount) AS total FROM postings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY account, kind ORDER BY account"
        with self.store.read() as db:
            rows = db.rows(sql, params)
        accounts = {r["account"]: plain(from_fen(r["total"])) for r in rows}
        by_kind: dict[str, object] = {}
        for r in rows:
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + int(r["total"])
        return {"as_of": (on or self.today()).isoformat(), "accounts": accounts,
                "totals": {k: plain(from_fen(v)) for k, v in sorted(by_kind.items())},
                "filters": {"enterprise": enterprise, "policy_id": policy_id, "year": year}}

    def entries(self, *, after: int = 0, limit: int = 100, policy_ids=None, **filters) -> dict:
        """Entries in order, `limit` at a time; pass the returned `next` as `after` for the next page.

        `policy_ids` keeps only the entries of those policies (a scoped administrator's view)."""
        unknown = set(filters) - set(ENTRY_FILTERS)
        if unknown:
            raise InputError(sorted(unknown)[0], "is not a filter; use " + ", ".join(ENTRY_FILTERS))
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InputError("limit", "must be from 1 to 1000")
        where, params = equal_to(filters)
        among("policy_id", policy_ids, where, params)
        where.append("id > ?")
        params.append(int(after))
        with self.store.read() as db:
            rows = db.rows(f"SELECT * FROM entries WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
                           (*params, limit + 1))
            page = rows[:limit]
            ids = [r["id"] for r in page]
            legs: dict[int, list] = {}
            if ids:
                marks = ", ".join("?" for _ in ids)
                for leg in db.rows(f"SELECT entry_id, account, amount FROM postings WHERE entry_id IN ({marks}) "
                                   "ORDER BY entry_id, n", ids):
                    legs.setdefault(leg["entry_id"], []).append(
                        {"account": leg["account"], "amount": plain(from_fen(leg["amount"]))})
        items = [{**{k: r[k] for k in ("id", "at", "event", "actor", "enterprise", "policy_id", "year",
                                       "voucher_id", "ref", "reverses", "hash")},
                  "memo": json.loads(r["memo"] or "{}"), "postings": legs.get(r["id"], [])} for r in page]
        return {"items": items, "next": ids[-1] if len(rows) > limit else None}

    def vouchers(self, *, enterprise: str | None = None, policy_id: str | None = None, status: str | None = None,
                 after: str | None = None, limit: int = 100, policy_ids=None) -> dict:
        where, params = equal_to({"enterprise": enterprise, "policy_id": policy_id, "status": status})
        among("policy_id", policy_ids, where, params)
        with self.store.read() as db:
            rows = db.rows("SELECT id, entry_id FROM vouchers" + (" WHERE " + " AND ".join(where) if where else "")
                           + " ORDER BY entry_id", params)
            start = next((i + 1 for i, r in enumerate(rows) if r["id"] == after), 0) if after else 0
            page = rows[start:start + limit]
            items = [self.voucher_view(db, r["id"]) for r in page]
        return {"items": items, "next": page[-1]["id"] if start + limit < len(rows) else None}

    def voucher(self, voucher_id: str) -> dict:
        with self.store.read() as db:
            view = self.voucher_view(db, voucher_id)
            view["redemptions"] = [self.redemption_view(db, r["id"]) for r in
                                   db.rows("SELECT id FROM redemptions WHERE voucher_id = ? ORDER BY entry_id",
                                           (voucher_id,))]
        return view

    def redemption(self, redemption_id: str) -> dict:
        with self.store.read() as db:
            return self.redemption_view(db, redemption_id)

    def entry_policy(self, entry_id: int) -> str | None:
        """The policy an entry belongs to (None for one that belongs to none, such as a registration)."""
        with self.store.read() as db:
            row = db.one("SELECT policy_id FROM entries WHERE id = ?", (entry_id,))
        if not row:
            raise NotFound(f"no entry {entry_id}", field="entry_id")
        return row["policy_id"]

    def application(self, app_id: str) -> dict:
        with self.store.read() as db:
            return self._application(db, app_id)

    def yearly_report(self, policy_id: str, year: int) -> dict:
        """Granted, redeemed, expired, voided, clawed back, paid, and what is left of a shared pool."""
        policy = self.table.get(policy_id)
        sums: dict[str, int] = {}
        with self.store.read() as db:
            for row in db.rows("SELECT e.event, p.kind, SUM(p.amount) AS total FROM postings p JOIN entries e "
                               "ON e.id = p.entry_id WHERE p.policy_id = ? AND p.year = ? GROUP BY e.event, p.kind",
                               (policy_id, year)):
                sums[(row["event"], row["kind"])] = int(row["total"])
            vouchers = db.value("SELECT COUNT(*) FROM vouchers WHERE policy_id = ? AND year = ?", (policy_id, year))
            enterprises = db.value("SELECT COUNT(DISTINCT enterprise) FROM vouchers WHERE policy_id = ? AND year = ?",
                                   (policy_id, year))

        def total(event: str, kind: str, sign: int = 1):
            return from_fen(sign * sums.get((event, kind), 0))

        granted = total(Event.ISSUE, "voucher")
        returned = sum((total(e, "budget") for e in (Event.EXPIRE, Event.VOID, Event.CLAWBACK, Event.REVERSE)), from_fen(0))
        net = granted - returned
        report = {"policy_id": policy_id, "year": year, "vouchers": vouchers, "enterprises": enterprises,
                  "granted": plain(granted),
                  "redeemed": plain(total(Event.REDEEM, "receivable") - total(Event.REVERSE, "receivable", -1)),
                  "paid": plain(total(Event.PAY, "paid")), "expired": plain(total(Event.EXPIRE, "budget")),
                  "voided": plain(total(Event.VOID, "budget")), "clawed_back": plain(total(Event.CLAWBACK, "budget")),
                  "net_granted": plain(net), "pool": None, "pool_left": None}
        if policy.caps.pool_year is not None:
            report["pool"] = plain(policy.caps.pool_year)
            report["pool_left"] = plain(policy.caps.pool_year - net)
        return report

    def export_csv(self, out: IO[str], policy_ids=None) -> int:
        """One row per posting (and one per entry that moves no money), in ledger order;
        with `policy_ids`, only the entries of those policies."""
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for row in self._export_rows(policy_ids):
            writer.writerow(row)
            count += 1
        return count

    def _export_rows(self, policy_ids=None) -> Iterator[tuple]:
        where: list[str] = []
        params: list = []
        among("e.policy_id", policy_ids, where, params)
        with self.store.read() as db:
            rows = db.rows("SELECT e.id, e.at, e.event, e.actor, e.enterprise, e.policy_id, e.year, e.voucher_id, "
                           "e.ref, e.reverses, p.account, p.amount, e.hash FROM entries e LEFT JOIN postings p "
                           "ON p.entry_id = e.id " + (f"WHERE {where[0]} " if where else "") + "ORDER BY e.id, p.n",
                           params)
        for r in rows:
            amount = plain(from_fen(r["amount"])) if r["amount"] is not None else ""
            yield (r["id"], r["at"], r["event"], r["actor"], r["enterprise"] or "", r["policy_id"] or "",
                   r["year"] or "", r["voucher_id"] or "", r["ref"] or "", r["reverses"] or "",
                   r["account"] or "", amount, r["hash"])

