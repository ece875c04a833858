"""What was granted before an estimate: the quota already used, read from the ledger or given by hand."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal("0.00")


def _money_map() -> defaultdict:
    return defaultdict(lambda: ZERO)


@dataclass
class History:
    """Quota already used, for one enterprise (and for pools, by everyone).

    Attributes:
        granted_year: (policy id, year) → amount granted to this enterprise.
        granted_total: policy id → amount granted to this enterprise, all years.
        claims: policy id → number of grants to this enterprise.
        years: policy id → the years this enterprise was supported.
        pool_used: (policy id, year) → amount granted to all claimants (a shared budget).
        pool_awards: (policy id, year) → number of awards to all claimants.
        businesses: business id → every (policy id, stacking group, exclusive group) it was claimed
            under: one contract may be claimed once per group (Hubei's three parties).
        once_keys: (policy id, key) already paid once: a milestone or a first recognition.
    """

    granted_year: defaultdict = field(default_factory=_money_map)
    granted_total: defaultdict = field(default_factory=_money_map)
    claims: defaultdict = field(default_factory=lambda: defaultdict(int))
    years: defaultdict = field(default_factory=lambda: defaultdict(set))
    pool_used: defaultdict = field(default_factory=_money_map)
    pool_awards: defaultdict = field(default_factory=lambda: defaultdict(int))
    businesses: dict = field(default_factory=dict)
    once_keys: set = field(default_factory=set)

    def record(self, policy_id: str, year: int, amount: Decimal, *, business: str, group: str | None,
               exclusive: str | None, once: tuple[str, ...] = ()) -> None:
        """Count one grant against every quota it uses."""
        self.granted_year[(policy_id, year)] += amount
        self.granted_total[policy_id] += amount
        self.claims[policy_id] += 1
        self.years[policy_id].add(year)
        self.pool_used[(policy_id, year)] += amount
        self.pool_awards[(policy_id, year)] += 1
        if group is not None:  # None: a policy whose grants claim no business (one_claim_per_business = false)
            self.businesses.setdefault(business, []).append((policy_id, group, exclusive))
        self.once_keys.update((policy_id, key) for key in once)

    def claimed_by(self, business: str, group: str | None, exclusive: str | None) -> str | None:
        """The policy that already holds `business` in this stacking group or exclusive group, if any."""
        if group is None:  # a policy whose grants claim no business is refused for none
            return None
        for policy_id, their_group, their_exclusive in self.businesses.get(business, ()):
            if their_group == group or (exclusive and their_exclusive == exclusive):
                return policy_id
        return None

    def copy(self) -> History:
        new = History()
        for name in ("granted_year", "granted_total", "pool_used"):
            getattr(new, name).update(getattr(self, name))
        new.claims.update(self.claims)
        new.pool_awards.update(self.pool_awards)
        new.years.update({k: set(v) for k, v in self.years.items()})
        new.businesses.update({k: list(v) for k, v in self.businesses.items()})
        new.once_keys.update(self.once_keys)
        return new

    @classmethod
    def from_dict(cls, data: dict) -> History:
        """From JSON: {"granted": [{"policy_id", "year", "amount"}], "pool_used": [...], "businesses": {...}}."""
        from voucher.errors import InputError
        from voucher.money import parse_money

        history = cls()
        if not isinstance(data, dict):
            raise InputError("history", "must be an object")
        for i, row in enumerate(data.get("granted", [])):
            where = f"history.granted[{i}]"
            if not isinstance(row, dict) or not isinstance(row.get("policy_id"), str):
                raise InputError(f"{where}.policy_id", "is required")
            year = row.get("year")
            if not isinstance(year, int) or isinstance(year, bool):
                raise InputError(f"{where}.year", "must be an integer year")
            amount = parse_money(row.get("amount"), f"{where}.amount")
            business = str(row.get("business", f"{where}"))
            history.record(row["policy_id"], year, amount, business=business,
                           group=str(row.get("group", row["policy_id"])), exclusive=None,
                           once=tuple(row.get("once", ())))
        for i, row in enumerate(data.get("pool_used", [])):
            where = f"history.pool_used[{i}]"
            if not isinstance(row, dict) or not isinstance(row.get("policy_id"), str):
                raise InputError(f"{where}.policy_id", "is required")
            key = (row["policy_id"], row.get("year"))
            history.pool_used[key] += parse_money(row.get("amount"), f"{where}.amount")
            awards = row.get("awards", 0)
            if not isinstance(awards, int) or isinstance(awards, bool) or awards < 0:
                raise InputError(f"{where}.awards", "must be a whole number of awards")
            history.pool_awards[key] += awards
        return history
