"""`audit verify`: proof that the whole ledger is what its journal says, not only that the chain holds.

In one read snapshot, a page of entries at a time:

1. the chain: ids without gaps, each `prev_hash` the previous hash, each hash recomputed
   by the entry's version (1: the entry and its postings' account and amount; 2: every
   column of the entry and its postings), postings that sum to zero, the head on the last;
2. the postings' own columns (enterprise, policy, year, day, kind, party, n): what caps
   and balances read must be what the entry implies, so a version 1 posting moved to
   another enterprise is caught although its hash never covered that column;
3. the replay (`voucher.replay`): balances that may not go negative, every step in a
   state its row allows, and every derived table compared column by column;
4. given a signed checkpoint (`voucher.checkpoint`), that the ledger still holds the
   entry the checkpoint named with the hash it signed: a ledger truncated or rewritten
   since, even with every later hash recomputed, no longer verifies.

Every problem is reported (`problems`, each with its kind, entry or table and row, and
a detail); `problem` and `first_bad_entry` name the first, as callers read them before.
"""

from __future__ import annotations

import json

from voucher.errors import quote
from voucher.journal import entry_hash
from voucher.replay import DERIVED, Entry, Leg, Problem, Replay

MAX_PROBLEMS = 1000
"""Problems reported in full; beyond this only their number (one bad column can repeat on every row)."""

ORDER = ("chain", "posting", "head", "checkpoint", "balance", "replay", "table")
"""Problems are reported chain first: a broken chain explains what follows from it."""


def verify_ledger(journal, *, page: int = 5000, checkpoint: dict | None = None, public_key: object = None) -> dict:
    """The audit report: ok, entries, first_bad_entry, problem, problems, last_hash (when ok)."""
    signed = None
    if checkpoint is not None:
        from voucher.checkpoint import check_signature

        signed = check_signature(checkpoint, public_key)  # a forged or edited checkpoint is refused here
    wanted = {chain["head_id"] for chain in signed["chains"]} if signed else set()
    replay = Replay(getattr(journal, "table", None))
    problems: list[Problem] = []
    seen: dict[int, str] = {}
    with journal.store.read() as db:
        head = db.one("SELECT last_id, last_hash FROM head WHERE id = 1")
        count = db.value("SELECT COUNT(*) FROM entries")
        prev, number, last, version_2 = "", 0, 0, False
        while True:
            entries = db.rows("SELECT * FROM entries WHERE id > ? ORDER BY id LIMIT ?", (last, page))
            if not entries:
                break
            legs: dict[int, list[dict]] = {}
            for row in db.rows("SELECT * FROM postings WHERE entry_id > ? AND entry_id <= ? ORDER BY entry_id, n",
                               (last, entries[-1]["id"])):
                legs.setdefault(row["entry_id"], []).append(row)
            for entry in entries:
                number += 1
                postings = legs.get(entry["id"], [])
                version_2 = version_2 or entry.get("hash_version") == 2
                problem = _chain_problem(entry, postings, prev, number, version_2)
                if problem:  # a missing entry is reported by its own id, the first that is not there
                    problems.append(Problem("chain", problem, number if entry["id"] != number else entry["id"]))
                problems += _posting_problems(entry, postings)
                if entry["id"] in wanted:
                    seen[entry["id"]] = entry["hash"]
                replay.apply(_entry(entry, postings, replay))
                prev, number = entry["hash"], entry["id"]
            last = entries[-1]["id"]
        orphan = db.value("SELECT MIN(p.entry_id) FROM postings p LEFT JOIN entries e ON e.id = p.entry_id "
                          "WHERE e.id IS NULL")
        for spec in DERIVED:
            replay.problems += replay.compare(db, spec)
    if head["last_id"] != last or head["last_hash"] != prev:  # checked on an emptied ledger too
        removed = head["last_id"] > last
        problems.append(Problem("head", "the head does not point at the last entry: "
                                + ("entries were removed" if removed else "the head or the last entry was altered"),
                                min(last, head["last_id"]) + 1 if head["last_id"] != last else last))
    if orphan is not None:
        problems.append(Problem("chain", "postings without an entry", orphan))
    if signed:
        problems += _checkpoint_problems(signed, seen, last)
    problems += replay.problems
    return _report(problems, count, prev, signed)


def _chain_problem(entry: dict, postings: list[dict], prev: str, number: int, version_2: bool) -> str | None:
    if entry["id"] != number:
        return f"entry ids jump from {number - 1} to {entry['id']}: an entry is missing"
    if entry["prev_hash"] != prev:
        return "prev_hash does not match the previous entry's hash"
    version = entry.get("hash_version")
    version = 1 if version is None else version  # written before the column existed
    if version not in (1, 2):
        return f"unknown hash version {quote(version)}: it was altered"
    if version == 1 and version_2:
        return "a version 1 hash after version 2 entries: the version was altered"
    if entry_hash(entry, postings) != entry["hash"]:
        return "hash does not match the entry's content: it was altered"
    if sum(int(p["amount"]) for p in postings) != 0:
        return "postings do not sum to zero"
    return None


def _posting_problems(entry: dict, postings: list[dict]) -> list[Problem]:
    """Each posting's copied columns against its entry: version 1 hashes never covered them."""
    out = []
    for n, p in enumerate(postings):
        kind, _, key = (p["account"] or "").partition(":")
        expect = {"n": n, "enterprise": entry["enterprise"], "policy_id": entry["policy_id"], "year": entry["year"],
                  "day": entry["day"], "kind": kind, "party": key if kind in ("receivable", "paid") else ""}
        for column, value in expect.items():
            if p.get(column) != value:
                out.append(Problem("posting", f"entry {entry['id']}: posting {p['n']} ({p['account']}) has "
                                   f"{column} {quote(p.get(column))}; its entry implies {quote(value)}", entry["id"],
                                   table="postings", row={"entry_id": p["entry_id"], "n": p["n"]}, column=column))
    return out


def _entry(row: dict, postings: list[dict], replay: Replay) -> Entry:
    try:
        memo = json.loads(row["memo"] or "{}")
    except ValueError:
        memo = None
    if not isinstance(memo, dict):
        replay.problems.append(Problem("replay", f"entry {row['id']}: its memo is not a JSON object", row["id"]))
        memo = {}
    return Entry(row["id"], row["day"], row["event"], row["actor"], row["enterprise"], row["policy_id"], row["year"],
                 row["voucher_id"], row["ref"], row["reverses"], memo,
                 tuple(Leg(p["account"], (p["account"] or "").partition(":")[0], p["party"], int(p["amount"]))
                       for p in postings), row["at"])


def _checkpoint_problems(signed: dict, seen: dict[int, str], last: int) -> list[Problem]:
    from voucher.checkpoint import MAIN

    out = []
    for chain in signed["chains"]:
        head_id, head_hash = chain["head_id"], chain["head_hash"]
        if chain["name"] != MAIN:
            out.append(Problem("checkpoint", f"the checkpoint names a chain {quote(chain['name'])} this ledger does "
                                             "not keep"))
        elif head_id == 0:
            continue  # a checkpoint of an empty ledger: anything since extends it
        elif head_id not in seen:
            out.append(Problem("checkpoint", f"the checkpoint of {signed['at']} names entry {head_id}, which the "
                                             f"ledger no longer holds (it ends at entry {last}): it was truncated",
                               head_id))
        elif seen[head_id] != head_hash:
            out.append(Problem("checkpoint", f"entry {head_id} does not carry the hash the checkpoint of "
                                             f"{signed['at']} signed: the ledger was rewritten at or before it",
                               head_id))
    return out


def _report(problems: list[Problem], count: int, last_hash: str, signed: dict | None) -> dict:
    problems.sort(key=lambda p: ORDER.index(p.kind))  # stable: entry order within a kind
    first = problems[0] if problems else None
    report: dict = {"ok": not problems, "entries": count,
                    "first_bad_entry": next((p.entry for p in problems if p.entry is not None), None),
                    "problem": first.detail if first else None}
    if not problems:
        report["last_hash"] = last_hash
    report["problems"] = [p.to_dict() for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        report["problems"].append({"kind": "more", "detail": f"{len(problems) - MAX_PROBLEMS} more problems"})
    if signed:
        report["checkpoint"] = {"at": signed["at"], "entries": signed["entries"], "key_id": signed["key_id"],
                                "chains": signed["chains"]}
    return report
