"""One business, one entry: the key ids are compared by, and the record of each business posted.

People and systems spell one contract number many ways: `BASE-1`, full-width `ＢASE-1`,
`base-1`, `BASE-1` followed by an invisible U+200B. `normal_key` is the one form every
comparison of a business id or an invoice number uses (claims, open applications,
invoices, posted businesses); what is displayed keeps what the caller sent.

`businesses` holds, per normalised id, the first `transaction.post` entry for it. A
re-post of that id answers from it and writes nothing, whatever Idempotency-Key comes
with it and however long ago the key was pruned; a re-post with other content is refused
naming the fields that differ. Every column is derived from the entry alone
(`business_row`), so a replay of the journal re-derives the table.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable

from voucher.errors import Conflict, InputError
from voucher.states import Event
from voucher.store import Tx
from voucher.transactions import FIELDS


def normal_key(text: str) -> str:
    """NFKC, case-folded, format characters (U+200B/C/D, U+2060, U+FEFF, bidi marks) removed, stripped."""
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFKC", text.casefold()).strip()


def required_key(text: str, field: str) -> str:
    """The key of an id that must have one: an id of only invisible characters names nothing."""
    key = normal_key(text)
    if not key:
        raise InputError(field, "has no visible characters")
    return key


def claim_key(enterprise: str, business: str, per_year: bool) -> str:
    """The `claims.business` key: a contract is one business whoever claims it (同一业务只能一方申领);
    a year's purchases under a per-year policy are the enterprise's own, so that key carries it."""
    key = normal_key(business)
    return f"{enterprise}:{key}" if per_year else key


class BusinessMismatch(Conflict):
    """This business id was posted before with different content."""

    code = "business_differs"

    def __init__(self, business: str, fields: list[str]) -> None:
        super().__init__(f"business {business} was posted before with a different {', '.join(fields)}; "
                         "a business is posted once (post a correction under a new id)", field=fields[0],
                         differs=", ".join(fields))
        self.fields = tuple(fields)
        self.errors = [{"field": f, "reason": "differs from the first posting of this business"} for f in fields]


# --- the businesses table ------------------------------------------------------------------------

def transaction_of(memo: dict) -> dict:
    """The posted transaction in a `transaction.post` memo (which also records `not_issued`)."""
    return {name: memo.get(name, "") for name in FIELDS}


def business_row(entry: dict) -> dict:
    """The `businesses` row a `transaction.post` entry makes: from the entry alone, for replay."""
    memo = json.loads(entry["memo"] or "{}")
    return {"key": normal_key(entry["ref"]), "id": entry["ref"], "enterprise": entry["enterprise"],
            "platform": memo.get("platform", ""), "entry_id": entry["id"],
            "tx": json.dumps(transaction_of(memo), sort_keys=True, ensure_ascii=False)}


def record_business(db: Tx, entry_id: int) -> None:
    """Add the business an entry posted, unless its key was posted before (the first posting holds it)."""
    row = business_row(db.one("SELECT id, ref, enterprise, memo FROM entries WHERE id = ?", (entry_id,)))
    if not db.one("SELECT entry_id FROM businesses WHERE key = ?", (row["key"],)):
        db.insert("businesses", row)


def posted(db: Tx, business: str) -> dict | None:
    return db.one("SELECT * FROM businesses WHERE key = ?", (normal_key(business),))


def differences(first: dict, enterprise: str, transaction: dict) -> list[str]:
    """The request fields in which a re-post differs from the first posting (the id's spelling aside)."""
    before = json.loads(first["tx"])
    fields = ["enterprise"] if first["enterprise"] != enterprise else []
    return fields + [f"transaction.{name}" for name in FIELDS
                     if name != "id" and str(before.get(name, "")) != str(transaction.get(name, ""))]


def first_answer(db: Tx, first: dict, issued_view: Callable[[Tx, str], dict]) -> dict:
    """The answer the first posting gave: its transaction, its vouchers as issued, why others issued none.

    The vouchers a posting issued are the `issue` entries that follow it in the same write.
    """
    memo = json.loads(db.value("SELECT memo FROM entries WHERE id = ?", (first["entry_id"],)) or "{}")
    vouchers = []
    for entry in db.rows("SELECT event, ref, voucher_id FROM entries WHERE id > ? ORDER BY id LIMIT 64",
                         (first["entry_id"],)):
        if entry["event"] != Event.ISSUE or entry["ref"] != first["id"]:
            break
        vouchers.append(issued_view(db, entry["voucher_id"]))
    return {"transaction": transaction_of(memo), "vouchers": vouchers, "not_issued": memo.get("not_issued", [])}


# --- filling the keys of a ledger made before them (schema step 0003_idem_business_keys) ---------

def fill_keys(db: Tx) -> None:
    """Normalised keys for existing claims, applications, invoices and posted businesses.

    Rows that collide only once normalised (made before keys existed) stay: the first keeps
    the key, a later claim keeps its old spelling and a later invoice gets no key, so the
    migration never fails on old data and every new id is compared by its key.
    """
    claims = db.rows("SELECT c.business, c.scope, c.voucher_id, v.enterprise, v.business AS shown FROM claims c "
                     "JOIN vouchers v ON v.id = c.voucher_id")
    for row in sorted(claims, key=lambda r: (int(r["voucher_id"][1:]), r["scope"])):  # V<n>: n is the issue entry
        key = claim_key(row["enterprise"], row["shown"], row["business"] == f"{row['enterprise']}:{row['shown']}")
        if key != row["business"] and not db.one("SELECT 1 AS x FROM claims WHERE business = ? AND scope = ?",
                                                 (key, row["scope"])):
            db.run("UPDATE claims SET business = ? WHERE business = ? AND scope = ?", (key, row["business"], row["scope"]))
    for row in db.rows("SELECT id, business FROM applications"):
        db.run("UPDATE applications SET business_key = ? WHERE id = ?", (normal_key(row["business"]), row["id"]))
    for row in sorted(db.rows("SELECT id, invoice FROM redemptions"), key=lambda r: int(r["id"][1:])):
        key = normal_key(row["invoice"])
        if not db.one("SELECT id FROM redemptions WHERE invoice_key = ?", (key,)):
            db.run("UPDATE redemptions SET invoice_key = ? WHERE id = ?", (key, row["id"]))
    for entry in db.rows("SELECT id FROM entries WHERE event = 'transaction.post' ORDER BY id"):
        record_business(db, entry["id"])
