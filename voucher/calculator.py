"""The calculator: applies the policy table to one enterprise's transactions. Pure: no I/O.

Transactions are taken in the order given, which is the order vouchers would be issued
in: a per-item policy (Guizhou's voucher per contract) decides each business as it
arrives, against the quota left, so memory stays flat however long the stream. A
per-year policy (Guiyang's annual purchases) only sums as it goes and decides at `finish`.

Stacking (不重复支持，就高不就低 / 从优、就高、不重复): when a business qualifies under several
policies of one stacking group, each offers what it would grant now, after its caps; the
highest is granted and the others are set aside with the reason. A per-year policy
offers rate × amount, since its threshold and caps are only known at the year's end.
Ties go to the policy whose id sorts first, so the result never depends on file order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from voucher.enterprise import Enterprise
from voucher.history import History
from voucher.money import ZERO, to_fen
from voucher.policy import DRAFT, Policy, PolicyTable
from voucher.results import CAP_NAMES, CapStep, Estimate, Grant, PolicyResult, Refusal
from voucher.transactions import Transaction

Parameters = dict[str, dict[str, Decimal]]
"""Values an administrator sets where the source gives none: {policy id: {"rate"|"amount": value}}."""


def expiry_date(issued: date, months: int) -> date:
    """Last valid day: the same day `months` later, or the month's last day if it has none.

    This is the Civil Code's rule (民法典 第二百零一、二百零二条): the period runs from the
    day after issue and ends on the corresponding day of the last month, or on that
    month's last day when there is no corresponding day (issued 31 August → 28/29 February).
    """
    return issued + relativedelta(months=months)


@dataclass(slots=True)
class _Year:
    """A per-year policy's running sums for one calendar year."""

    eligible: Decimal  # every eligible business: what the threshold is tested on
    kept: Decimal  # the businesses not set aside for another scheme: what the rate applies to
    last_day: date
    count: int = 0


def _test(op: str, actual: object, expected: object) -> bool:
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        return expected in actual
    return expected not in actual  # not_contains


def _describe(cond, actual: object) -> str:
    shown = sorted(actual) if isinstance(actual, frozenset) else actual
    return f"{cond.field} {cond.op} {cond.value!r} failed (is {shown!r}): {cond.clause}"


class Calculation:
    """One estimate in progress. `feed` each transaction, then `finish`."""

    def __init__(self, table: PolicyTable, enterprise: Enterprise, *, history: History | None = None,
                 parameters: Parameters | None = None, include_drafts: bool = False) -> None:
        self.table = table
        self.enterprise = enterprise
        self.state = history.copy() if history else History()
        self.parameters = parameters or {}
        self.results = {p.id: PolicyResult(p) for p in table}
        self.years: dict[tuple[str, int], _Year] = {}
        self.unmatched: dict[str, int] = {}
        self.count = 0
        # Enterprise conditions do not change during an estimate: test them once.
        self.blocked: dict[str, Refusal | None] = {}
        for p in table:
            self.blocked[p.id] = self._enterprise_refusal(p, include_drafts)
        self._tx_conditions = {p.id: tuple(c for c in p.eligibility if c.field.startswith("transaction."))
                               for p in table}

    def _enterprise_refusal(self, p: Policy, include_drafts: bool) -> Refusal | None:
        if p.status == DRAFT and not include_drafts:
            return Refusal("draft", "draft for comment (征求意见稿), not in force; ask with include_drafts "
                           "to see what it would give", "")
        for cond in p.eligibility:
            if cond.field.startswith("enterprise."):
                actual = getattr(self.enterprise, cond.field[11:], None)
                if not _test(cond.op, actual, cond.value):
                    return Refusal("eligibility", _describe(cond, actual), "")
        return None

    def _refusal(self, p: Policy, tx: Transaction) -> Refusal | None:
        blocked = self.blocked[p.id]
        if blocked:
            return blocked._replace(business=tx.id)
        if not p.in_window(tx.date):
            return Refusal("window", lambda: f"{tx.date} is outside the policy window {p.window_text()}", tx.id)
        if tx.role not in p.roles:
            return Refusal("role", lambda: f"role {tx.role!r} may not claim (allowed: {', '.join(sorted(p.roles))})", tx.id)
        for cond in self._tx_conditions[p.id]:
            actual = getattr(tx, cond.field[12:], None)
            if not _test(cond.op, actual, cond.value):
                return Refusal("eligibility", lambda: _describe(cond, actual), tx.id)
        claimed = self.state.businesses.get(tx.id)
        if claimed and (claimed[1] == p.stacking.group or
                        (p.voucher.exclusive_group and claimed[2] == p.voucher.exclusive_group)):
            return Refusal("claimed", lambda: f"business {tx.id} was already claimed under {claimed[0]} "
                           f"(one claim per business: {p.stacking.clause or p.voucher.clause})", tx.id)
        return None

    def _value(self, p: Policy, name: str) -> Decimal | None:
        fixed = getattr(p.formula, name)
        return fixed if fixed is not None else self.parameters.get(p.id, {}).get(name)

    def _price(self, p: Policy, tx: Transaction) -> tuple[Decimal, Decimal | None, Decimal, str, tuple] | Refusal:
        """(raw, rate, before caps, detail, once keys) for one business, or why there is none."""
        f = p.formula
        if f.kind == "rate":
            rate = self._value(p, "rate")
            if rate is None:
                return Refusal("unset", "the source gives no rate; an administrator must set it "
                               f"(parameter {p.id}.rate)", tx.id)
            raw = tx.amount * rate
            return raw, rate, to_fen(raw, f.rounding), "", ()
        if f.kind == "fixed":
            amount = self._value(p, "amount")
            if amount is None:
                return Refusal("unset", "the source gives no amount; an administrator must set it "
                               f"(parameter {p.id}.amount)", tx.id)
            return amount, None, amount, "fixed award", ()
        if f.kind == "by_category":
            awards = dict(f.categories)
            if tx.category not in awards:
                return Refusal("category", lambda: f"category {tx.category!r} has no award (one of "
                               f"{', '.join(awards)})", tx.id)
            if tx.category in f.once and (p.id, tx.category) in self.state.once_keys:
                return Refusal("once", lambda: f"{tx.category} is awarded once (首次); it was paid before", tx.id)
            once = (tx.category,) if tx.category in f.once else ()
            return awards[tx.category], None, awards[tx.category], f"award for {tx.category}", once
        passed = [m for m in f.milestones if tx.amount > m.over and (p.id, m.key) not in self.state.once_keys]
        if not passed:
            return Refusal("milestone", lambda: f"{tx.amount:,.2f} passes no milestone not already paid", tx.id)
        total = sum((m.award for m in passed), ZERO)
        detail = "milestones " + ", ".join(f"{m.key} (> {m.over:,.0f}: {m.award:,.0f})" for m in passed)
        return total, None, total, detail, tuple(m.key for m in passed)

    def _caps(self, p: Policy, year: int, amount: Decimal) -> tuple[Decimal, tuple[CapStep, ...], Refusal | None]:
        """Apply each cap the clause names: the item, then the enterprise, then shared pools."""
        caps, s, steps = p.caps, self.state, []
        if amount <= 0:  # a zero base or rate: nothing to grant, and no quota or claim to spend on it
            return ZERO, (), Refusal("zero", f"nothing to grant: the amount before caps is {amount:,.2f}", "")
        for level in ("per_item", "per_entity_year", "per_entity_total", "pool_year"):
            limit = getattr(caps, level)
            if limit is None:
                continue
            if level == "per_item":
                used = ZERO
            elif level == "per_entity_year":
                used = s.granted_year[(p.id, year)]
            elif level == "per_entity_total":
                used = s.granted_total[p.id]
            else:
                used = s.pool_used[(p.id, year)]
            removed = amount - (limit - used) if amount > limit - used else ZERO
            if removed > amount:
                removed = amount
            steps.append(CapStep(level, limit, used, removed))
            amount -= removed
        for level, what in (("awards_per_year", "awards a year for all claimants"),
                            ("claims_per_entity", "claims per enterprise"),
                            ("years_per_entity", "years of support per enterprise")):
            limit = getattr(caps, level)
            if limit is None:
                continue
            used = (s.pool_awards[(p.id, year)] if level == "awards_per_year" else
                    s.claims[p.id] if level == "claims_per_entity" else len(s.years[p.id] - {year}))
            if used >= limit:
                steps.append(CapStep(level, Decimal(limit), Decimal(used), amount))
                return ZERO, tuple(steps), Refusal("cap", lambda: f"at most {limit} {what}; {used} used", "")
        if amount <= 0 and steps:
            step = next(st for st in reversed(steps) if st.removed > 0)  # the cap that left nothing
            return ZERO, tuple(steps), Refusal("cap", lambda: f"{CAP_NAMES[step.level]} {step.limit:,.2f} reached "
                                               f"({step.used:,.2f} used): nothing left", "")
        return amount, tuple(steps), None

    def feed(self, tx: Transaction) -> list[Grant]:
        """Decide one business; returns the grants made for it now (per-item policies)."""
        self.count += 1
        candidates = self.table.by_kind.get(tx.kind)
        if not candidates:
            self.unmatched[tx.kind] = self.unmatched.get(tx.kind, 0) + 1
            return []
        offers: dict[str, list] = {}
        for p in candidates:
            refusal = self._refusal(p, tx)
            if refusal is None:
                offer = self._offer(p, tx)
                if isinstance(offer, Refusal):
                    refusal = offer
                else:
                    offers.setdefault(p.stacking.group, []).append(offer)
                    continue
            self.results[p.id].refuse(refusal)
        grants = []
        for group in offers.values():
            group.sort(key=lambda o: (-o[0], o[1].id))
            (value, winner, grant), losers = group[0], group[1:]
            for _, loser, _ in losers:
                self.results[loser.id].refuse(Refusal(
                    "set_aside", lambda: f"business {tx.id} is granted under {winner.id} ({value:,.2f}), the higher "
                    f"({loser.stacking.clause or 'one scheme per business'})", tx.id))
            set_aside = tuple((lp.id, lv) for lv, lp, _ in losers)
            if grant is None:  # a per-year policy won: the business joins its year's base
                self.years[(winner.id, tx.year)].kept += tx.amount
                continue
            grant = grant._replace(set_aside=set_aside)
            self._commit(grant, tx.id)
            grants.append(grant)
        return grants

    def _offer(self, p: Policy, tx: Transaction):
        """(value, policy, grant or None) for stacking, or a Refusal."""
        if p.formula.aggregate == "year":
            year = self.years.get((p.id, tx.year))
            if year is None:
                year = self.years[(p.id, tx.year)] = _Year(ZERO, ZERO, tx.date)
            year.eligible += tx.amount
            year.count += 1
            year.last_day = max(year.last_day, tx.date)
            rate = self._value(p, "rate")
            return (to_fen(tx.amount * rate, p.formula.rounding) if rate is not None else ZERO), p, None
        if p.threshold and not p.threshold.passes(tx.amount):
            return Refusal("threshold", lambda: f"{tx.amount:,.2f} does not pass the threshold {p.threshold.describe()}"
                           f" ({'inclusive' if p.threshold.inclusive else 'strict'}: {p.threshold.clause})", tx.id)
        priced = self._price(p, tx)
        if isinstance(priced, Refusal):
            return priced
        raw, rate, before, detail, once = priced
        amount, steps, refusal = self._caps(p, tx.year, before)
        if refusal:
            return refusal._replace(business=tx.id)
        expires = expiry_date(tx.date, p.voucher.validity_months) if p.voucher.validity_months else None
        return amount, p, Grant(p, tx.id, tx.year, tx.date, tx.amount, rate, raw, before, steps, amount,
                                tx.amount if p.threshold else None, (), expires, detail, once)

    def _commit(self, grant: Grant, business: str) -> None:
        p = grant.policy
        self.state.record(p.id, grant.year, grant.amount, business=business, group=p.stacking.group,
                          exclusive=p.voucher.exclusive_group, once=grant.once)
        result = self.results[p.id]
        result.amount += grant.amount
        result.grants += 1

    def finish(self) -> list[Grant]:
        """Decide every per-year policy, earliest year first; returns those grants."""
        grants = []
        for (policy_id, year), acc in sorted(self.years.items(), key=lambda item: (item[0][1], item[0][0])):
            p = self.table.by_id[policy_id]
            business = f"{p.id}/{year}"
            if p.threshold and not p.threshold.passes(acc.eligible):
                self.results[p.id].refuse(Refusal(
                    "threshold", f"{year}: annual total {acc.eligible:,.2f} does not pass the threshold "
                    f"{p.threshold.describe()} ({'inclusive' if p.threshold.inclusive else 'strict'}: "
                    f"{p.threshold.clause})", business))
                continue
            if acc.kept <= 0:
                continue  # every business of the year went to a higher scheme; refusals say so
            rate = self._value(p, "rate")
            if rate is None:
                self.results[p.id].refuse(Refusal("unset", "the source gives no rate; an administrator must "
                                                  f"set it (parameter {p.id}.rate)", business))
                continue
            raw = acc.kept * rate
            before = to_fen(raw, p.formula.rounding)
            amount, steps, refusal = self._caps(p, year, before)
            if refusal:
                self.results[p.id].refuse(refusal._replace(business=business, reason=f"{year}: {refusal.text}"))
                continue
            grant = Grant(p, business, year, acc.last_day, acc.kept, rate, raw, before, steps, amount,
                          acc.eligible if p.threshold else None, (), None,
                          f"{acc.count} transactions in {year}")
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
    """Apply every policy to the transactions and explain each result."""
    calc = Calculation(table, enterprise, history=history, parameters=parameters, include_drafts=include_drafts)
    grants = []
    for grant in stream(calc, transactions):
        if keep_grants:
            grants.append(grant)
    return calc.estimate(grants)
