"""What the calculator returns: grants and refusals that carry their own explanation.

Results keep numbers, not sentences: formatting every step of a million transactions
would cost more than computing them, so `explain()` renders the text on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from voucher.money import fmt_wan, fmt_yuan, plain
from voucher.policy import Policy

ROUNDING_NAMES = {"ROUND_HALF_UP": "四舍五入, ROUND_HALF_UP", "ROUND_HALF_EVEN": "ROUND_HALF_EVEN",
                  "ROUND_DOWN": "truncated, ROUND_DOWN"}
CAP_NAMES = {
    "per_item": "cap per item",
    "per_entity_year": "cap per enterprise per year",
    "per_entity_total": "cumulative cap per enterprise",
    "pool_year": "shared pool per year",
}


class CapStep(NamedTuple):
    """One cap met on the way: its limit, what was used before, and what it removed."""

    level: str
    limit: Decimal
    used: Decimal
    removed: Decimal

    def to_dict(self, final: Decimal) -> dict:
        return {"level": self.level, "limit": plain(self.limit), "used_before": plain(self.used),
                "removed": plain(self.removed), "remaining_after": plain(max(self.limit - self.used - final, 0))
                if self.level in CAP_NAMES else None}


class Grant(NamedTuple):
    """An amount a policy grants for one business (a contract, or a year's purchases).

    `raw` is base × rate before rounding; `before_caps` is it rounded to the fen. `year` is
    the year it counts against per-year caps and pools: the year of issue. `issued_on` is
    the ledger's day of issue; None in an estimate, which assumes issue on `day`.
    """

    policy: Policy
    business: str
    year: int
    day: date
    base: Decimal
    rate: Decimal | None
    raw: Decimal
    before_caps: Decimal
    caps: tuple[CapStep, ...]
    amount: Decimal
    threshold_base: Decimal | None = None
    set_aside: tuple[tuple[str, Decimal], ...] = ()
    expires_on: date | None = None
    detail: str = ""
    once: tuple[str, ...] = ()
    issued_on: date | None = None

    def issue_text(self) -> str:
        if self.issued_on is None:
            return (f"an estimate: assumes issue on {self.day}, so per-year caps count in {self.year} and "
                    "the validity runs from that day")
        return f"issued {self.issued_on}: per-year caps count in the year of issue, {self.year}"

    def explain(self) -> list[str]:
        p = self.policy
        lines = [f"{p.id} ({p.name_zh}) v{p.version}, {self.business}: clause 「{_short(p.clause)}」",
                 f"window {p.window_text()}: {self.day} is inside"]
        if p.threshold and self.threshold_base is not None:
            t = p.threshold
            lines.append(f"threshold {t.describe()} ({'inclusive' if t.inclusive else 'strict'}"
                         f"{', ' + t.clause if t.clause else ''}): {fmt_yuan(self.threshold_base)} passes")
        lines.append(self.issue_text())
        if self.rate is not None:
            lines.append(f"{fmt_yuan(self.base)} × {self.rate} = {self.raw} → {fmt_yuan(self.before_caps)} "
                         f"({ROUNDING_NAMES.get(p.formula.rounding, p.formula.rounding)})")
        else:
            lines.append(f"{self.detail or 'fixed award'}: {fmt_yuan(self.before_caps)}")
        for cap in self.caps:
            name = CAP_NAMES.get(cap.level, cap.level)
            left = max(cap.limit - cap.used, 0)
            lines.append(f"{name} {fmt_yuan(cap.limit)}: used {fmt_yuan(cap.used)}, remaining {fmt_yuan(left)}"
                         f", removed {fmt_yuan(cap.removed)}" if cap.level in CAP_NAMES
                         else f"{cap.level} {cap.limit}: used {cap.used}, removed {fmt_yuan(cap.removed)}")
        for other, amount in self.set_aside:
            lines.append(f"stacking ({p.stacking.clause or p.stacking.rule}): {other} would give "
                         f"{fmt_yuan(amount)}, set aside for this higher one")
        if self.expires_on:
            months = p.voucher.validity_months
            capped = (self.day.year * 12 + self.day.month - 1 + months) // 12 > date.max.year
            lines.append(f"voucher valid through {self.expires_on} ({months} months" +
                         (" would pass the calendar's last day: capped at it)" if capped else ")"))
        lines.append(f"granted {fmt_yuan(self.amount)} ({fmt_wan(self.amount)})")
        return lines

    def to_dict(self) -> dict:
        return {
            "policy_id": self.policy.id, "policy_version": self.policy.version, "business": self.business,
            "year": self.year, "date": self.day.isoformat(), "base": plain(self.base),
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "issue_assumed": self.issued_on is None,
            "rate": str(self.rate) if self.rate is not None else None, "raw": str(self.raw),
            "before_caps": plain(self.before_caps), "rounding": self.policy.formula.rounding,
            "threshold_base": plain(self.threshold_base) if self.threshold_base is not None else None,
            "caps": [c.to_dict(self.amount) for c in self.caps],
            "set_aside": [{"policy_id": o, "amount": plain(a)} for o, a in self.set_aside],
            "amount": plain(self.amount), "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "detail": self.detail, "explanation": self.explain(),
        }


class Refusal(NamedTuple):
    """Why a policy gave nothing for a business; `code` groups like refusals in a summary.

    `reason` may be a zero-argument callable: only the first refusal of each code is
    shown, so the sentence is formatted only for that one.
    """

    code: str
    reason: object
    business: str

    @property
    def text(self) -> str:
        return self.reason() if callable(self.reason) else self.reason


@dataclass
class PolicyResult:
    """One policy's outcome over a whole estimate; refusals are counted, with the first example kept."""

    policy: Policy
    amount: Decimal = Decimal("0.00")
    grants: int = 0
    refusals: dict[str, list] = field(default_factory=dict)  # code -> [count, first Refusal]

    @property
    def applies(self) -> bool:
        return self.grants > 0

    def refuse(self, refusal: Refusal) -> None:
        seen = self.refusals.get(refusal.code)
        if seen:
            seen[0] += 1
        else:
            self.refusals[refusal.code] = [1, refusal._replace(reason=refusal.text)]

    def reasons(self) -> list[str]:
        return [(f"{r.business}: " if r.business else "") + r.reason + (f" (and {n - 1} more like it)" if n > 1 else "")
                for n, r in self.refusals.values()]

    def to_dict(self) -> dict:
        p = self.policy
        return {
            "policy_id": p.id, "policy_version": p.version, "name_zh": p.name_zh, "name_en": p.name_en,
            "status": p.status, "applies": self.applies, "amount": plain(self.amount), "grants": self.grants,
            "not_applied": [{"code": r.code, "reason": r.reason, "business": r.business, "count": n}
                            for n, r in self.refusals.values()],
        }


@dataclass
class Estimate:
    """All policies' results for one enterprise and one stream of transactions."""

    results: list[PolicyResult]
    grants: list[Grant]
    transactions: int
    unmatched: dict[str, int]

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.results), Decimal("0.00"))

    def result(self, policy_id: str) -> PolicyResult:
        return next(r for r in self.results if r.policy.id == policy_id)

    def to_dict(self, *, grants: bool = True) -> dict:
        data = {"total": plain(self.total), "total_wan": fmt_wan(self.total), "transactions": self.transactions,
                "results": [r.to_dict() for r in self.results],
                "unmatched_kinds": dict(sorted(self.unmatched.items()))}
        if grants:
            data["grants"] = [g.to_dict() for g in self.grants]
        return data


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
