"""The policy table: one TOML file per scheme in `policies/`, loaded into frozen `Policy` records.

A policy is data, not code: a scheme of a known shape is a new file. TOML is read with
`parse_float=Decimal` so that `rate = 0.001` is exactly one per mille, then checked by
a strict schema (`policy_schema.py`) that names the file, the field and the reason. The
records themselves are in `policy_records.py`; their names are also importable from here.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path

from voucher.errors import PolicyInvalid, quote
from voucher.policy_records import (
    DRAFT,
    IN_FORCE,
    Caps,
    Condition,
    Formula,
    Milestone,
    Policy,
    PolicyError,
    PolicyId,
    Stacking,
    Threshold,
    VoucherTerms,
)
from voucher.policy_schema import build_policy

__all__ = ["DRAFT", "IN_FORCE", "Caps", "Condition", "Formula", "Milestone", "Policy", "PolicyError", "PolicyId",
           "PolicyTable", "Stacking", "Threshold", "VoucherTerms", "default_policy_dir", "load_policies",
           "load_policy_file", "load_policy_table"]


def default_policy_dir() -> Path:
    """$VOUCHER_POLICIES, else `policies/` beside the package (a source checkout), else ./policies."""
    env = os.environ.get("VOUCHER_POLICIES")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parent.parent / "policies"
    return beside if beside.is_dir() else Path("policies")


def load_policy_file(path: Path) -> tuple[Policy | None, list[PolicyError]]:
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
