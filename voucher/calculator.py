"""The calculator: applies the policy table to one enterprise's transactions. Pure: no I/O.

Transactions are taken in the order given, which is the order vouchers would be issued
in: a per-item policy (Guizhou's voucher per contract) decides each business as it
arrives, against the quota left, so memory stays flat however long the stream. A
per-year policy (Guiyang's annual purchases) only sums as it goes and decides at `finish`.

Stacking (不重复支持，就高不就低 / 从优、就高、不重复): when a business qualifies under several
policies of one stacking group, each offers what it would grant now, after its caps; the
highest is granted and the others are set aside with the reason. A per-year policy
offers what it would pay given the year so far: nothing before its threshold is passed.
Ties go to the policy whose id sorts first, so the result never depends on file order.

Per-year caps and pools count the year the money is granted. The ledger says when that
is (`issue_on`, its today in China) and when the business was put to it (`posted_on`),
and a business dated after that day, or older than the policy admits, gets nothing. An
estimate is a what-if with no issue day: it assumes issue on each business's own date,
so its caps count in that year and its validity runs from that day, and it says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from voucher.eligibility import dated, describe, enterprise_refusal, passes, role_refusals
from voucher.enterprise import Enterprise
from voucher.errors import quote
from voucher.history import History
from voucher.kinds import FormulaKind
from voucher.money import ZERO, round_to_fen
from voucher.policy import DRAFT, Policy, PolicyTable
from voucher.policy_records import expiry_date  # noqa: F401  (the Civil Code's period, imported from here)
from voucher.results import CAP_NAMES, CapStep, Estimate, Grant, PolicyResult, Refusal
from voucher.transactions import Transaction

COUNT_CAPS = (("awards_per_year", "awards a year for all claimants"),
              ("claims_per_entity", "claims per enterprise"),
              ("years_per_entity", "years of support per enterprise"))

Parameters = dict[str, dict[str, Decimal]]
"""Values an administrator sets where the source gives none: {policy id: {"rate"|"amount": value}}."""


@dataclass(slots=True)
class _Year:
    """A per-year policy's running sums for one calendar year."""

    eligible: Decimal  # every eligible business: what the threshold is tested on
    kept: Decimal  # the businesses not set aside for another scheme: what the rate applies to
    last_day: date
    count: int = 0


class _Rule(NamedTuple):
    """A policy with what the hot path needs precomputed: a million lookups a second add up."""

    policy: Policy
    result: PolicyResult
    blocked: Refusal | None  # an enterprise condition failed: every business is refused alike
    role_blocked: dict  # role → Refusal, where a condition for that claimant role fails
    start: date
    end: date
    roles: frozenset[str]
    conditions: tuple  # (attribute, op, value, Condition) on the transaction
    money_caps: tuple  # (level, limit) for each money cap the clause names
    count_caps: tuple  # (level, limit, what) for each count cap
    per_year: bool


class Calculation:
    """One estimate in progress. `feed` each transaction, then `finish`."""

    def __init__(self, table: PolicyTable, enterprise: Enterprise, *, history: History | None = None,
                 parameters: Parameters | None = None, include_drafts: bool = False,
                 issue_on: date | None = None, posted_on: date | None = None) -> None:
        self.table = table
        self.issue_on = issue_on
        self.posted_on = posted_on or issue_on
        self.enterprise = enterprise
        self.state = history.copy() if history else History()
        self.parameters = parameters or {}
        self.results = {p.id: PolicyResult(p) for p in table}
        self.years: dict[tuple[str, int], _Year] = {}
        self.unmatched: dict[str, int] = {}
        self.count = 0
        # Quota only grows during a calculation, so a (policy, year) whose enterprise or pool
        # quota ran out stays out: remember the refusal instead of pricing every later business.
        self.exhausted: dict[tuple[str, int], Refusal] = {}
        self.rules = {p.id: self._rule(p, include_drafts) for p in table}
        self.by_kind = {kind: tuple(self.rules[p.id] for p in policies) for kind, policies in table.by_kind.items()}

    def _rule(self, p: Policy, include_drafts: bool) -> _Rule:
        static = self.table.derived.get(("rule", p.id))
        if static is None:  # what depends on the policy alone is worked out once per table
            caps = p.caps
            static = self.table.derived[("rule", p.id)] = (
                p.valid_from or date.min, p.valid_until or date.max, p.roles,
                tuple((c.field[12:], c.op, c.value, c) for c in p.eligibility if c.field.startswith("transaction.")),
                tuple((level, getattr(caps, level)) for level in CAP_NAMES if getattr(caps, level) is not None),
                tuple((level, getattr(caps, level), what) for level, what in COUNT_CAPS
                      if getattr(caps, level) is not None),
                p.formula.aggregate == "year")
        return _Rule(p, self.results[p.id], self._enterprise_refusal(p, include_drafts), role_refusals(p, self.enterprise),
                     *static)

    def _enterprise_refusal(self, p: Policy, include_drafts: bool) -> Refusal | None:
        if p.status == DRAFT and not include_drafts:
            return Refusal("draft", "draft for comment (征求意见稿), not in force; ask with --include-drafts "
                           "(include_drafts in the API) to see what it would give", "")
        return enterprise_refusal(p, self.enterprise)

    def _refusal(self, r: _Rule, tx: Transaction) -> Refusal | None:
        if r.blocked:
            return r.blocked
        p = r.policy
        if not r.start <= tx.date <= r.end:
            return Refusal("window", lambda: f"{tx.date} is outside the policy window {p.window_text()}", tx.id)
        if self.posted_on is not None:
            refusal = dated(p, tx, self.posted_on)
            if refusal:
                return refusal
        if tx.role not in r.roles:
            return Refusal("role", lambda: f"role {quote(tx.role)} may not claim "
                           f"(allowed: {', '.join(sorted(p.roles))})", tx.id)
        if r.role_blocked and tx.role in r.role_blocked:
            return r.role_blocked[tx.role]
        for attr, op, value, cond in r.conditions:
            if cond.roles and tx.role not in cond.roles:
                continue
            actual = getattr(tx, attr)
            if not passes(op, actual, value):
                return Refusal("eligibility", lambda: describe(cond, actual), tx.id)
        claimed = self.state.businesses and self.state.claimed_by(tx.id, **p.claim_groups())
        if claimed:
            return Refusal("claimed", lambda: f"business {tx.id} was already claimed under {claimed} "
                           f"(one claim per business: {p.stacking.clause or p.voucher.clause})", tx.id)
        return None

    def _cap_year(self, business_year: int) -> int:
        """The year a grant counts against per-year caps and pools: the year of issue."""
        return self.issue_on.year if self.issue_on is not None else business_year

    def _value(self, p: Policy, name: str) -> Decimal | None:
        fixed = getattr(p.formula, name)
        return fixed if fixed is not None else self.parameters.get(p.id, {}).get(name)

    def _price(self, p: Policy, tx: Transaction) -> tuple[Decimal, Decimal | None, Decimal, str, tuple] | Refusal:
        """(raw, rate, before caps, detail, once keys) for one business, or why there is none."""
        f = p.formula
        if f.kind == FormulaKind.RATE:
            rate = f.rate if f.rate is not None else self._value(p, "rate")
            if rate is None:
                return Refusal("unset", "the source gives no rate; an administrator must set it "
                               f"(parameter {p.id}.rate)", tx.id)
            return (raw := f.base_of(tx) * rate), rate, round_to_fen(raw, f.rounding), "", ()
        if f.kind == FormulaKind.FIXED:
            amount = self._value(p, "amount")
            if amount is None:
                return Refusal("unset", "the source gives no amount; an administrator must set it "
                               f"(parameter {p.id}.amount)", tx.id)
            return amount, None, amount, "fixed award", ()
        if f.kind == FormulaKind.BY_CATEGORY:
            awards = dict(f.categories)
            if tx.category not in awards:
                return Refusal("category", lambda: f"category {quote(tx.category)} has no award (one of "
                               f"{', '.join(awards)})", tx.id)
            if tx.category in f.once and (p.id, tx.category) in self.state.once_keys:
                return Refusal("once", lambda: f"{tx.category} is awarded once (首次); it was paid before", tx.id)
            once = (tx.category,) if tx.category in f.once else ()
            return awards[tx.category], None, awards[tx.category], f"award for {tx.category}", once
        passed = [m for m in f.milestones if f.base_of(tx) > m.over and (p.id, m.key) not in self.state.once_keys]
        if not passed:
            return Refusal("milestone", lambda: f"{f.base_of(tx):,.2f} passes no milestone not already paid", tx.id)
        total = sum((m.award for m in passed), ZERO)
        detail = "milestones " + ", ".join(f"{m.key} (> {m.over:,.0f}: {m.award:,.0f})" for m in passed)
        return total, None, total, detail, tuple(m.key for m in passed)

    def _used(self, level: str, policy_id: str, year: int) -> Decimal:
        s = self.state
        if level == "per_entity_year":
            return s.granted_year[(policy_id, year)]
        if level == "per_entity_total":
            return s.granted_total[policy_id]
        if level == "pool_year":
            return s.pool_used[(policy_id, year)]
        return ZERO  # per_item: nothing used before

    def _count_used(self, level: str, policy_id: str, year: int, coming: set[int] = frozenset()) -> int:
        """Awards in the year (all claimants), claims, or other years supported (with `coming` ones)."""
        s = self.state
        if level == "awards_per_year":
            return s.pool_awards[(policy_id, year)]
        if level == "claims_per_entity":
            return s.claims[policy_id]
        return len((s.years[policy_id] | coming) - {year})

    def _caps(self, r: _Rule, year: int, amount: Decimal) -> tuple[Decimal, tuple[CapStep, ...], Refusal | None]:
        """Apply each cap the clause names: the item, then the enterprise, then shared pools."""
        pid = r.policy.id
        if amount <= 0:  # a zero base or rate: nothing to grant, and no quota or claim to spend on it
            return ZERO, (), Refusal("zero", f"nothing to grant: the amount before caps is {amount:,.2f}", "")
        for level, limit, what in r.count_caps:
            used = self._count_used(level, pid, year)
            if used >= limit:
                step = CapStep(level, Decimal(limit), Decimal(used), amount)
                refusal = self.exhausted[(pid, year)] = Refusal("cap", f"at most {limit} {what}; {used} used", "")
                return ZERO, (step,), refusal
        steps = []
        for level, limit in r.money_caps:
            used = self._used(level, pid, year)
            room = limit - used
            removed = ZERO if amount <= room else (amount if room <= 0 else amount - room)
            steps.append(CapStep(level, limit, used, removed))
            amount -= removed
        if amount <= 0 and steps:
            step = next(st for st in reversed(steps) if st.removed > 0)  # the cap that left nothing
            refusal = Refusal("cap", f"{CAP_NAMES[step.level]} {step.limit:,.2f} reached ({step.used:,.2f} used): "
                              "nothing left", "")
            if step.level != "per_item" and step.used >= step.limit:
                self.exhausted[(pid, year)] = refusal
            return ZERO, tuple(steps), refusal
        return amount, tuple(steps), None

    def feed(self, tx: Transaction) -> list[Grant]:
        """Decide one business; returns the grants made for it now (per-item policies)."""
        self.count += 1
        rules = self.by_kind.get(tx.kind)
        if rules is None:
            self.unmatched[tx.kind] = self.unmatched.get(tx.kind, 0) + 1
            return []
        offers: dict[str, list] = {}
        for r in rules:
            refusal = self._refusal(r, tx)
            if refusal is None:
                offer = self._offer(r, tx)
                if offer.__class__ is not Refusal:
                    group = offers.get(r.policy.stacking.group)
                    if group is None:
                        offers[r.policy.stacking.group] = [offer]
                    else:
                        group.append(offer)
                    continue
                refusal = offer
            r.result.refuse(refusal)
        grants = []
        for group in offers.values():
            if len(group) > 1:
                grants += self._stack(group, tx)
                continue
            _, rule, grant = group[0]
            if grant is None:  # a per-year policy: the business joins its year's base
                self.years[(rule.policy.id, tx.year)].kept += rule.policy.formula.base_of(tx)
            else:
                self._commit(grant, tx.id)
                grants.append(grant)
        return grants

    def _stack(self, group: list, tx: Transaction) -> list[Grant]:
        """Several schemes of one stacking group for one business: grant the highest, set the others aside."""
        valued = [(value if value is not None else self._year_offer(rule, tx), rule, grant)
                  for value, rule, grant in group]
        valued.sort(key=lambda o: (-o[0], o[1].policy.id))
        (value, winner, grant), losers = valued[0], valued[1:]
        for _, loser, _ in losers:
            loser.result.refuse(Refusal(
                "set_aside", lambda: f"business {tx.id} is granted under {winner.policy.id} ({value:,.2f}), the "
                f"higher ({loser.policy.stacking.clause or 'one scheme per business'})", tx.id))
        if grant is None:
            self.years[(winner.policy.id, tx.year)].kept += winner.policy.formula.base_of(tx)
            return []
        grant = grant._replace(set_aside=tuple((lr.policy.id, lv) for lv, lr, _ in losers))
        self._commit(grant, tx.id)
        return [grant]

    def _year_offer(self, r: _Rule, tx: Transaction) -> Decimal:
        """What a per-year policy would pay for this business, given the year so far.

        Nothing while the year's eligible total has not passed the threshold (the year may
        never pass it); after that rate × amount, within the quota its caps leave once the
        year's businesses already kept are counted.
        """
        p = r.policy
        acc = self.years[(p.id, tx.year)]
        year = self._cap_year(tx.year)
        rate = self._value(p, "rate")
        if rate is None or (p.threshold and not p.threshold.passes(acc.eligible)) or (p.id, year) in self.exhausted:
            return ZERO
        # Years of this run that will be supported count against years_per_entity too.
        coming = {self._cap_year(y) for (pid, y), a in self.years.items()
                  if pid == p.id and a.kept > 0 and (not p.threshold or p.threshold.passes(a.eligible))
                  } if r.count_caps else set()
        for level, limit, _ in r.count_caps:
            if self._count_used(level, p.id, year, coming) >= limit:
                return ZERO
        offer = round_to_fen(p.formula.base_of(tx) * rate, p.formula.rounding)
        for level, limit in r.money_caps:
            years = [acc] if level != "per_entity_total" else [a for (pid, _), a in self.years.items() if pid == p.id]
            accrued = sum((a.kept for a in years), ZERO) * rate
            room = limit - self._used(level, p.id, year) - accrued
            offer = min(offer, max(round_to_fen(room, p.formula.rounding), ZERO))
        return offer

    def _offer(self, r: _Rule, tx: Transaction):
        """(value, rule, grant) for stacking — value and grant None for a per-year policy — or a Refusal."""
        p = r.policy
        if r.per_year:
            key = (p.id, tx.year)
            year = self.years.get(key)
            if year is None:
                year = self.years[key] = _Year(ZERO, ZERO, tx.date)
            year.eligible += tx.amount
            year.count += 1
            if tx.date > year.last_day:
                year.last_day = tx.date
            return None, r, None
        year = self._cap_year(tx.year)
        if self.exhausted:
            spent = self.exhausted.get((p.id, year))
            if spent:
                return Refusal(spent.code, spent.reason, tx.id)
        if p.threshold and not p.threshold.passes(tx.amount):
            return Refusal("threshold", lambda: f"{tx.amount:,.2f} does not pass the threshold "
                           f"{p.threshold.explain()}", tx.id)
        priced = self._price(p, tx)
        if priced.__class__ is Refusal:
            return priced
        raw, rate, before, detail, once = priced
        amount, steps, refusal = self._caps(r, year, before)
        if refusal:
            return Refusal(refusal.code, refusal.reason, tx.id)
        expires = p.voucher.last_valid_day(self.issue_on or tx.date)
        return amount, r, Grant(p, tx.id, year, tx.date, p.formula.base_of(tx), rate, raw, before, steps, amount,
                                tx.amount if p.threshold else None, (), expires, detail, once, self.issue_on)

    def _commit(self, grant: Grant, business: str) -> None:
        p = grant.policy
        self.state.record(p.id, grant.year, grant.amount, business=business, once=grant.once,
                          **p.claim_groups())
        result = self.results[p.id]
        result.amount += grant.amount
        result.grants += 1

    def finish(self) -> list[Grant]:
        """Decide every per-year policy, earliest year first; returns those grants."""
        grants = []
        for (policy_id, year), acc in sorted(self.years.items(), key=lambda item: (item[0][1], item[0][0])):
            r = self.rules[policy_id]
            p = r.policy
            business = f"{p.id}/{year}"
            if p.threshold and not p.threshold.passes(acc.eligible):
                r.result.refuse(Refusal(
                    "threshold", f"{year}: annual total {acc.eligible:,.2f} does not pass the threshold "
                    f"{p.threshold.explain()}", business))
                continue
            if acc.kept <= 0:
                continue  # every business of the year went to a higher scheme; refusals say so
            rate = self._value(p, "rate")
            if rate is None:
                r.result.refuse(Refusal("unset", "the source gives no rate; an administrator must "
                                        f"set it (parameter {p.id}.rate)", business))
                continue
            raw = acc.kept * rate
            before = round_to_fen(raw, p.formula.rounding)
            amount, steps, refusal = self._caps(r, self._cap_year(year), before)
            if refusal:
                r.result.refuse(Refusal(refusal.code, f"{year}: {refusal.text}", business))
                continue
            expires = p.voucher.last_valid_day(self.issue_on or acc.last_day)
            grant = Grant(p, business, self._cap_year(year), acc.last_day, acc.kept, rate, raw, before, steps, amount,
                          acc.eligible if p.threshold else None, (), expires, f"{acc.count} transactions in {year}", (),
                          self.issue_on)
            self._commit(grant, business)
            grants.append(grant)
        for p in self.table:
            result = self.results[p.id]
            if not result.grants and not result.refusals:
                result.refuse(Refusal("no_business", "no transaction of kind "
                                      f"{' / '.join(sorted(p.kinds))} to apply it to", ""))
        return grants

    def estimate(self, grants: list[Grant]) -> Estimate:
        return Estimate(list(self.results.values()), grants, self.count, self.unmatched)


def stream(calc: Calculation, transactions: Iterable[Transaction]) -> Iterator[Grant]:
    """Every grant as it is decided; the per-year ones come at the end."""
    for tx in transactions:
        yield from calc.feed(tx)
    yield from calc.finish()


def estimate(table: PolicyTable, enterprise: Enterprise, transactions: Iterable[Transaction], *,
             history: History | None = None, parameters: Parameters | None = None,
             include_drafts: bool = False, keep_grants: bool = True) -> Estimate:
    """Apply every policy to the transactions and explain each result (a what-if: issue on each business's date)."""
    calc = Calculation(table, enterprise, history=history, parameters=parameters, include_drafts=include_drafts)
    grants = []
    for grant in stream(calc, transactions):
        if keep_grants:
            grants.append(grant)
    return calc.estimate(grants)
