"""The records a policy file becomes: `Policy` and its parts, frozen, with the clause each part quotes.

Kept apart from loading (`policy.py`) and from the file schema (`policy_schema.py`), which both
build on them, so that neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from voucher.errors import PolicyInvalid, quote
from voucher.kinds import ConditionOp, FormulaBase, FormulaKind

PolicyId = str
IN_FORCE, DRAFT = "in_force", "draft"


class Condition(NamedTuple):
    """An eligibility test on the enterprise or the transaction, with the clause it comes from."""

    field: str  # "enterprise.local_tax", "transaction.province", "transaction.category"
    op: ConditionOp
    value: object
    clause: str
    roles: frozenset[str] = frozenset()  # the claimant roles it applies to; empty: every role


class Milestone(NamedTuple):
    over: Decimal
    award: Decimal
    key: str


def expiry_date(issued: date, months: int) -> date:
    """Last valid day: the same day `months` later, or the month's last day if it has none.

    This is the Civil Code's rule (民法典 第二百零一、二百零二条): the period runs from the
    day after issue and ends on the corresponding day of the last month, or on that
    month's last day when there is no corresponding day (issued 31 August → 28/29 February).
    A period that would run past the calendar's last day (issued on or after 9999-07-01 for
    six months) ends on 9999-12-31: the voucher is valid as long as a date can say.
    """
    if (issued.year * 12 + issued.month - 1 + months) // 12 > date.max.year:
        return date.max
    return issued + relativedelta(months=months)



@dataclass(frozen=True, slots=True)
class Formula:
    """How an amount is produced.

    Attributes:
        kind: rate (rate × base), fixed, by_category (a fixed amount per category) or
            milestones (an award for each threshold passed for the first time).
        base: the transaction's field a rate multiplies and milestones compare (`base_of`);
            `amount` is the only one today, and the schema refuses any other.
        aggregate: item (each transaction is one business) or year (a year's
            transactions are summed into one business, as Guiyang's 年度交易金额).
        rate: None when `rate_set_by` says an administrator sets it.
        rounding: a `decimal` rounding constant, applied once, to the fen.
        note: the clause's words for the formula, shown with it (`Policy.detail`).
    """

    kind: FormulaKind
    aggregate: str = "item"
    rate: Decimal | None = None
    rate_set_by: str | None = None
    amount: Decimal | None = None
    amount_set_by: str | None = None
    categories: tuple[tuple[str, Decimal], ...] = ()
    milestones: tuple[Milestone, ...] = ()
    once: frozenset[str] = frozenset()  # categories paid once per enterprise (首次认定)
    rounding: str = "ROUND_HALF_UP"
    base: FormulaBase = FormulaBase.AMOUNT
    note: str = ""

    def base_of(self, tx) -> Decimal:
        """The value of `tx` that the rate multiplies (milestones compare it): the field `base` names."""
        try:
            return _BASES[self.base](tx)
        except KeyError:
            raise PolicyInvalid(f"formula.base {quote(self.base)} is not one the calculator computes "
                                f"(one of {', '.join(_BASES)})", field="formula.base") from None


_BASES = {FormulaBase.AMOUNT: lambda tx: tx.amount}


@dataclass(frozen=True, slots=True)
class Threshold:
    amount: Decimal
    inclusive: bool
    on: str  # "item" or "year"
    clause: str = ""

    def passes(self, base: Decimal) -> bool:
        return base >= self.amount if self.inclusive else base > self.amount

    def describe(self) -> str:
        return f"{'≥' if self.inclusive else '>'} {self.amount:,.2f}"

    def explain(self) -> str:
        """The test with its reading and its words: '> 5,000,000.00 (strict: 年度交易金额超过 500 万元)'."""
        return f"{self.describe()} ({'inclusive' if self.inclusive else 'strict'}: {self.clause})"


@dataclass(frozen=True, slots=True)
class Caps:
    """Limits at each level the clause names; None where it names none."""

    per_item: Decimal | None = None
    per_entity_year: Decimal | None = None
    per_entity_total: Decimal | None = None
    pool_year: Decimal | None = None  # a budget shared by all claimants
    awards_per_year: int | None = None  # a count shared by all claimants
    claims_per_entity: int | None = None
    years_per_entity: int | None = None
    clause: str = ""


@dataclass(frozen=True, slots=True)
class VoucherTerms:
    """What the grant becomes: a voucher with an expiry, or a direct award."""

    issues_voucher: bool = False
    kind: str = "cash"
    validity_months: int | None = None
    month_end_rule: str = ""
    transferable: bool = False  # false (不得转让): only the holder spends it; true: any enterprise in good standing
    exclusive_group: str | None = None
    one_claim_per_business: bool = True  # false: its grants claim no business, nor are refused for a claimed one
    settlement: str = "direct"  # direct | proof_confirm_settle (Jinan)
    clause: str = ""

    @property
    def grant_kind(self) -> str:
        """What the ledger records a grant as: the voucher's kind, or `award` where no voucher is issued."""
        return self.kind if self.issues_voucher else "award"

    def last_valid_day(self, issued: date) -> date | None:
        """The voucher's last valid day when issued on `issued` (`expiry_date`); None if it does not expire."""
        return expiry_date(issued, self.validity_months) if self.validity_months else None


@dataclass(frozen=True, slots=True)
class Stacking:
    group: str
    rule: str  # "highest": one scheme per business, the one that grants most
    clause: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    """One row of the policy table, as loaded from `policies/<id>.toml`.

    Attributes:
        version: the first 12 hex digits of the file's SHA-256, so an estimate can name
            exactly the text it was computed from.
        kinds: transaction kinds it applies to; roles: the enterprise's role in them.
        business_age_years: how old a business may be when the ledger is asked to grant for
            it: dated in the calendar year of posting or up to this many years before
            (1: this year or last year, as 上年度 rewards need). Estimates do not apply it.
    """

    id: PolicyId
    version: str
    name_zh: str
    name_en: str
    authority: str
    document: str
    clause: str
    status: str
    province: str
    city: str
    valid_from: date | None
    valid_until: date | None
    kinds: frozenset[str]
    roles: frozenset[str]
    formula: Formula
    caps: Caps
    voucher: VoucherTerms
    stacking: Stacking
    eligibility: tuple[Condition, ...] = ()
    threshold: Threshold | None = None
    interpretation: tuple[str, ...] = ()
    source: str = ""
    published_in: str = ""
    business_age_years: int = 1

    def oldest_business_year(self, posted: date) -> int:
        """The earliest calendar year of a business the ledger still grants for when posted on `posted`."""
        return posted.year - self.business_age_years

    def claim_groups(self) -> dict:
        """The stacking and exclusive groups in which a grant claims its business; none where the file
        says `one_claim_per_business = false`. As keyword arguments of `History.record` and `claimed_by`."""
        if not self.voucher.one_claim_per_business:
            return {"group": None, "exclusive": None}
        return {"group": self.stacking.group, "exclusive": self.voucher.exclusive_group}

    def claim_scopes(self) -> list[str]:
        """The ledger's claim rows for one grant (`claims.scope`): its groups, as `group:` and `excl:` keys."""
        groups = self.claim_groups()
        return ([f"group:{groups['group']}"] if groups["group"] else []) + (
            [f"excl:{groups['exclusive']}"] if groups["exclusive"] else [])

    def in_window(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_until is None or day <= self.valid_until)

    def summary(self) -> dict:
        """The policy's identity and reach, as the CLI and the API list it (amounts stay Decimal)."""
        return {"id": self.id, "version": self.version, "name_zh": self.name_zh, "name_en": self.name_en,
                "status": self.status, "authority": self.authority, "province": self.province, "city": self.city,
                "valid_from": self.valid_from, "valid_until": self.valid_until, "kinds": sorted(self.kinds),
                "roles": sorted(self.roles)}

    def detail(self) -> dict:
        """Everything the file says: the clause, its readings, formula, threshold, caps, voucher terms, stacking."""
        f, c, v, s, t = self.formula, self.caps, self.voucher, self.stacking, self.threshold
        caps = {name: getattr(c, name) for name in ("per_item", "per_entity_year", "per_entity_total", "pool_year",
                                                     "awards_per_year", "claims_per_entity", "years_per_entity")}
        return {**self.summary(), "document": self.document, "published_in": self.published_in, "clause": self.clause,
                "interpretation": list(self.interpretation), "business_age_years": self.business_age_years,
                "eligibility": [{"field": e.field, "op": e.op, "clause": e.clause, "roles": sorted(e.roles),
                                 "value": sorted(e.value) if isinstance(e.value, (set, frozenset, tuple, list))
                                 else e.value} for e in self.eligibility],
                "formula": {"kind": f.kind, "aggregate": f.aggregate, "rate": str(f.rate) if f.rate is not None else None,
                            "rate_set_by": f.rate_set_by, "amount": f.amount, "amount_set_by": f.amount_set_by,
                            "categories": dict(f.categories), "rounding": f.rounding, "rate_base": f.base,
                            "note": f.note,
                            "milestones": [{"key": m.key, "over": m.over, "award": m.award} for m in f.milestones]},
                "threshold": None if not t else {"amount": t.amount, "inclusive": t.inclusive, "on": t.on,
                                                 "clause": t.clause},
                "caps": {**{k: x for k, x in caps.items() if x is not None}, "clause": c.clause},
                "voucher": {"issues_voucher": v.issues_voucher, "kind": v.kind, "validity_months": v.validity_months,
                            "month_end_rule": v.month_end_rule, "transferable": v.transferable,
                            "exclusive_group": v.exclusive_group, "settlement": v.settlement,
                            "one_claim_per_business": v.one_claim_per_business},
                "stacking": {"group": s.group, "rule": s.rule, "clause": s.clause}}

    def window_text(self) -> str:
        if self.valid_from is None and self.valid_until is None:
            return "open (the source gives no dates)"
        return f"{self.valid_from or '…'} … {self.valid_until or 'open'}"


class PolicyError(NamedTuple):
    """A reason a policy file was not loaded: errors are data, reported all at once."""

    source: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.message}"
