"""The policy table: one TOML file per scheme in `policies/`, loaded into frozen `Policy` records.

A policy is data, not code: a scheme of a known shape is a new file. TOML is read with
`parse_float=Decimal` so that `rate = 0.001` is exactly one per mille, then checked by
a strict schema (`policy_schema.py`) that names the file, the field and the reason.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

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


def default_policy_dir() -> Path:
    """$VOUCHER_POLICIES, else `policies/` beside the package (a source checkout), else ./policies."""
    env = os.environ.get("VOUCHER_POLICIES")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parent.parent / "policies"
    return beside if beside.is_dir() else Path("policies")


def load_policy_file(path: Path) -> tuple[Policy | None, list[PolicyError]]:
    from voucher.policy_schema import build_policy

    raw = path.read_bytes()
    try:
        data = tomllib.loads(raw.decode("utf-8"), parse_float=Decimal)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, [PolicyError(str(path), "(file)", f"not valid TOML: {exc}")]
    version = hashlib.sha256(raw).hexdigest()[:12]
    errors = build_policy(data, version=version, source=str(path))
    if isinstance(errors, Policy):
        if errors.id != path.stem:
            return None, [PolicyError(str(path), "id",
                                      f"{quote(errors.id)} must match the file name {quote(path.stem)}")]
        return errors, []
    return None, errors


def load_policies(directory: Path | str | None = None) -> tuple[list[Policy], list[PolicyError]]:
    """Every `*.toml` in `directory`, sorted by id, and every error found on the way."""
    directory = Path(directory) if directory else default_policy_dir()
    if not directory.is_dir():
        return [], [PolicyError(str(directory), "(directory)", "no such policy directory")]
    policies: list[Policy] = []
    errors: list[PolicyError] = []
    for path in sorted(directory.glob("*.toml")):
        policy, problems = load_policy_file(path)
        errors.extend(problems)
        if policy:
            policies.append(policy)
    return policies, errors


def load_policy_table(directory: Path | str | None = None) -> PolicyTable:
    """Load and raise `PolicyInvalid` listing every problem, for callers that cannot go on without."""
    policies, errors = load_policies(directory)
    if errors:
        raise PolicyInvalid("; ".join(map(str, errors)), errors=len(errors))
    return PolicyTable(policies)


class PolicyTable:
    """The loaded policies, indexed by id and by transaction kind."""

    def __init__(self, policies: list[Policy]) -> None:
        self.policies = tuple(sorted(policies, key=lambda p: p.id))
        self.by_id = {p.id: p for p in self.policies}
        by_kind: dict[str, list[Policy]] = {}
        for policy in self.policies:
            for kind in policy.kinds:
                by_kind.setdefault(kind, []).append(policy)
        self.by_kind = {k: tuple(v) for k, v in by_kind.items()}
        self.derived: dict = {}  # what users of the table precompute from it once (the calculator's rules)

    def __iter__(self):
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def get(self, policy_id: str) -> Policy:
        from voucher.errors import NotFound

        try:
            return self.by_id[policy_id]
        except KeyError:
            raise NotFound(f"no policy {quote(policy_id)}", field="policy_id") from None

    def parameter(self, policy_id: str, name: str, value: object, field: str) -> Decimal:
        """A value an administrator sets where the source gives none (a rate or an amount), parsed.

        Refused, naming `field`, for a policy not in the table or a value its source fixes:
        a typo would otherwise be ignored and the estimate silently left unchanged.
        """
        from voucher.errors import InputError
        from voucher.money import parse_money, parse_rate

        policy = self.by_id.get(policy_id)
        if policy is None:
            raise InputError(field, f"no policy {quote(policy_id)} in the table")
        if name not in ("rate", "amount"):
            raise InputError(field, f"{quote(name)} is not a parameter; write rate or amount")
        if getattr(policy.formula, f"{name}_set_by") != "administrator":
            raise InputError(field, f"{policy_id} takes no {name} from an administrator: its source fixes it")
        return parse_rate(value, field) if name == "rate" else parse_money(value, field, positive=True)

    def subset(self, ids: tuple[str, ...]) -> PolicyTable:
        """The table of just these policies, made once and kept: the calculator's rules derived for it
        (`derived`) are then reused by every later grant instead of being worked out per posting."""
        key = ("subset", ids)
        table = self.derived.get(key)
        if table is None:
            table = self.derived[key] = PolicyTable([self.by_id[i] for i in ids])
        return table

    def issuing(self, kind: str) -> PolicyTable:
        """The voucher-issuing policies of one transaction kind: what a platform's posting may issue."""
        return self.subset(tuple(p.id for p in self.by_kind.get(kind, ()) if p.voucher.issues_voucher))

    def in_force_on(self, day: date) -> list[Policy]:
        """Policies whose window holds `day`; a draft for comment is never in force."""
        return [p for p in self.policies if p.status == IN_FORCE and p.in_window(day)]
