"""Ledger invariants under random sequences of steps (hypothesis stateful testing, SQLite in memory).

Whatever order enterprises apply, platforms post, holders redeem and hold, administrators
void, and time passes and vouchers expire, these hold after every step:
  - no voucher, hold or receivable balance is negative, and every entry balances;
  - an enterprise's net grant under Guizhou's voucher in a year never passes 2,000,000;
  - Hangzhou's shared pool never passes 50,000,000 in a year;
  - every amount is a whole number of fen; a refused step writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger_support import credit_code, policy_table
from voucher.enterprise import Enterprise
from voucher.errors import VoucherError
from voucher.ledger import Ledger
from voucher.store import SQLiteStore
from voucher.transactions import CHINA_TZ

GZ, HZ = "guizhou-compute-voucher", "hangzhou-compute-voucher"
FEN = Decimal("0.01")
AMOUNTS = st.integers(min_value=1, max_value=4_000_000_000).map(lambda fen: Decimal(fen) / 100)
SPEND = st.integers(min_value=1, max_value=200_000_000).map(lambda fen: Decimal(fen) / 100)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = datetime(2026, 1, 5, 9, 0, tzinfo=CHINA_TZ)
        self.book = Ledger(SQLiteStore(":memory:"), policy_table(), clock=lambda: self.now)
        admin = "admin:li"
        self.guizhou = [Enterprise(credit_code(900 + i, "520100"), province="贵州省", city="贵阳市",
                                   roles=frozenset({"demand"})) for i in range(2)]
        self.hangzhou = [Enterprise(credit_code(950 + i, "330100"), province="浙江省", city="杭州市", sme=True,
                                    roles=frozenset({"demand"})) for i in range(3)]
        for e in self.guizhou + self.hangzhou:
            self.book.register_enterprise(e, actor=admin)
        self.book.onboard_party("gz", "platform", "贵州算力调度平台", actor=admin)
        self.book.set_parameter(HZ, "rate", "0.9", actor=admin)
        self.vouchers: list[tuple[str, str]] = []  # (voucher id, holder)
        self.holds: list[str] = []
        self.serial = 0

    def teardown(self) -> None:
        event("issued" if self.vouchers else "nothing issued")  # pytest --hypothesis-show-statistics
        assert self.book.verify()["ok"]
        self.book.close()

    def _step(self, call, *args, **kwargs):
        """Take a step; a refusal must leave the journal exactly as it was."""
        before = self.book.verify()["entries"]
        try:
            return call(*args, **kwargs)
        except VoucherError:
            assert self.book.verify()["entries"] == before
            return None

    def _contract(self, amount: Decimal, city: str, province: str) -> dict:
        self.serial += 1
        return {"id": f"C{self.serial}", "date": self.now.date().isoformat(), "kind": "compute_purchase",
                "amount": f"{amount:.2f}", "province": province, "city": city}

    @rule(who=st.integers(0, 1), amount=AMOUNTS, via_platform=st.booleans())
    def guizhou_contract(self, who, amount, via_platform):
        e = self.guizhou[who]
        tx = self._contract(amount, "贵阳市", "贵州省")
        if via_platform:
            out = self._step(self.book.post_transaction, e.credit_code, tx, platform="gz", actor="platform:gz")
            issued = out["vouchers"] if out else []
        else:
            app = self._step(self.book.apply, e.credit_code, GZ, tx, actor=e.credit_code)
            approved = app and self._step(self.book.approve, app["id"], actor="admin:li")
            issued = [approved["voucher"]] if approved else []
        self.vouchers += [(v["id"], v["enterprise"]) for v in issued]

    @rule(who=st.integers(0, 2), amount=AMOUNTS)
    def hangzhou_claim(self, who, amount):
        e = self.hangzhou[who]
        app = self._step(self.book.apply, e.credit_code, HZ, self._contract(amount, "杭州市", "浙江省"),
                         actor=e.credit_code)
        approved = app and self._step(self.book.approve, app["id"], actor="admin:li")
        if approved:
            self.vouchers.append((approved["voucher"]["id"], e.credit_code))

    @precondition(lambda self: self.vouchers)
    @rule(pick=st.integers(0, 10_000), amount=SPEND, own=st.booleans())
    def redeem(self, pick, amount, own):
        voucher_id, holder = self.vouchers[pick % len(self.vouchers)]
        claimant = holder if own else self.guizhou[0].credit_code
        self.serial += 1
        self._step(self.book.redeem, voucher_id, enterprise=claimant, amount=f"{amount:.2f}", party="gz",
                   invoice=f"INV-{self.serial}", actor="platform:gz")

    @precondition(lambda self: self.vouchers)
    @rule(pick=st.integers(0, 10_000), amount=SPEND, ttl=st.integers(1, 7200))
    def hold(self, pick, amount, ttl):
        voucher_id, holder = self.vouchers[pick % len(self.vouchers)]
        held = self._step(self.book.hold, voucher_id, enterprise=holder, amount=f"{amount:.2f}", platform="gz",
                          ttl_seconds=ttl, actor="platform:gz")
        if held:
            self.holds.append(held["id"])

    @precondition(lambda self: self.holds)
    @rule(pick=st.integers(0, 10_000), commit=st.booleans())
    def end_hold(self, pick, commit):
        hold_id = self.holds[pick % len(self.holds)]
        if commit:
            self.serial += 1
            self._step(self.book.commit_hold, hold_id, platform="gz", invoice=f"INV-{self.serial}", actor="platform:gz")
        else:
            self._step(self.book.release_hold, hold_id, platform="gz", actor="platform:gz")

    @precondition(lambda self: self.vouchers)
    @rule(pick=st.integers(0, 10_000))
    def void(self, pick):
        voucher_id, _ = self.vouchers[pick % len(self.vouchers)]
        self._step(self.book.void, voucher_id, reason="申请材料有误", actor="admin:li")

    @rule(days=st.integers(1, 200))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        self.book.expire(self.now.date())

    @invariant()
    def nothing_negative_and_every_amount_in_fen(self):
        for account, value in self.book.balances()["accounts"].items():
            amount = Decimal(value)
            assert amount == amount.quantize(FEN)
            if not account.startswith("budget:"):
                assert amount >= 0, (account, amount)

    @invariant()
    def caps_and_pools_hold(self):
        with self.book.store.read() as tx:
            for row in tx.rows("SELECT enterprise, year, -SUM(amount) AS used FROM postings WHERE kind = 'budget' "
                               "AND policy_id = ? GROUP BY enterprise, year", (GZ,)):
                assert row["used"] <= 2_000_000 * 100, row
            for row in tx.rows("SELECT year, -SUM(amount) AS used FROM postings WHERE kind = 'budget' "
                               "AND policy_id = ? GROUP BY year", (HZ,)):
                assert row["used"] <= 50_000_000 * 100, row


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
test_ledger_invariants = LedgerMachine.TestCase
