"""Properties of the calculator over generated enterprises, histories and transactions.

Whatever the input: no amount is negative, every amount is exact to the fen, no grant passes a
cap at any level (with the quota a history already used counted), one business is granted once
per stacking group, and rate policies are monotone in their base. For the two Guizhou rows the
exact totals are known in closed form: Guizhou's voucher gives min(2,000,000, Σ 3% of each
contract, each rounded), however a year's purchases are split or ordered; Guiyang's support is
decided on the year's sum, so splitting it changes nothing.
"""

from __future__ import annotations

import dataclasses
import decimal
import itertools
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import credit_code
from hypothesis import event, example, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from voucher.calculator import estimate
from voucher.enterprise import ROLES, Enterprise
from voucher.history import History
from voucher.money import FEN, round_to_fen
from voucher.policy import DRAFT, PolicyTable, load_policy_table
from voucher.transactions import KINDS, Transaction

D = Decimal
POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
TABLE = load_policy_table(POLICY_DIR)
GUIYANG = "guiyang-data-trading"
GUIZHOU = "guizhou-compute-voucher"
EXCHANGE = "贵阳大数据交易所"
MONEY_CAPS = ("per_item", "per_entity_year", "per_entity_total", "pool_year")

# Values the sources leave to an administrator: any fixed choice will do for the properties.
PARAMETERS = {p.id: {"rate": D("0.1")} if p.formula.rate_set_by else {"amount": D("500")}
              for p in TABLE if p.formula.rate_set_by or p.formula.amount_set_by}

SETTINGS = settings(max_examples=200, deadline=None)
FEW = settings(max_examples=60, deadline=None)


def alone(policy_id: str) -> PolicyTable:
    return PolicyTable([TABLE.get(policy_id)])


def fen_exact(amount: Decimal) -> bool:
    return amount == amount.quantize(FEN) and amount.as_tuple().exponent >= -2


# --- strategies -------------------------------------------------------------------------------------

CITIES = ["贵阳市", "贵安新区", "遵义市", "杭州市", "武汉市", "福州市", "济南市", ""]
PROVINCES = ["贵州省", "浙江省", "湖北省", "福建省", "山东省", ""]
CATEGORIES = sorted({c for p in TABLE for c, _ in p.formula.categories}
                    | {str(c.value) for p in TABLE for c in p.eligibility
                       if c.field == "transaction.category" and isinstance(c.value, str)} | {""})
RECOGNITIONS = sorted({str(c.value) for p in TABLE for c in p.eligibility
                       if c.field == "enterprise.recognitions" and isinstance(c.value, str)} | {"other"})
MAIN_KINDS = ["compute_purchase", "data_purchase", "technology_contract", "bid_won"]


def reusable(txs: list[Transaction], kind: str) -> list[str]:
    """Business ids a new transaction of `kind` may repeat (a second claim on one contract)."""
    return sorted({t.id for t in txs})


ALL_KINDS = sorted(KINDS)

# In fen, so every amount is exact: small ones, the thresholds' edges, and large ones.
_cents = st.one_of(
    st.integers(0, 1_000_000),
    st.sampled_from([499_999_999, 500_000_000, 500_000_001, 2_000_000_000, 6_666_666_667, 6_666_666_700,
                     100_000_000_000, 200_000_000_000]),
    st.integers(100_000_000, 100_000_000_000),
    st.integers(0, 10 ** 14),
)
amounts = _cents.map(lambda c: D(c).scaleb(-2))

enterprises = st.builds(
    Enterprise,
    credit_code=st.integers(1, 10 ** 6).map(credit_code),
    province=st.sampled_from(PROVINCES),
    city=st.sampled_from(CITIES),
    registered_province=st.sampled_from(PROVINCES),
    local_tax=st.booleans(),
    roles=st.frozensets(st.sampled_from(sorted(ROLES)), max_size=3),
    sme=st.booleans(),
    legal_person=st.booleans(),
    operating=st.booleans(),
    data_assets_booked=st.booleans(),
    exchange_certified=st.booleans(),
    recognitions=st.frozensets(st.sampled_from(RECOGNITIONS), max_size=3),
)


@st.composite
def transactions(draw, kinds=ALL_KINDS, max_size=12):
    n = draw(st.integers(0, max_size))
    txs = []
    for i in range(n):
        # Mostly fresh business ids; sometimes one seen before (a second claim on one contract).
        kind = draw(st.sampled_from(kinds))
        seen = reusable(txs, kind)
        tx_id = draw(st.sampled_from(seen)) if seen and draw(st.integers(0, 9)) == 0 else f"T{i}"
        txs.append(Transaction(
            id=tx_id,
            date=draw(st.dates(date(2023, 1, 1), date(2027, 12, 31))),
            kind=kind,
            amount=draw(amounts),
            role=draw(st.sampled_from(sorted(ROLES))),
            province=draw(st.sampled_from(PROVINCES)),
            city=draw(st.sampled_from(CITIES)),
            platform=draw(st.sampled_from([EXCHANGE, ""])),
            category=draw(st.sampled_from(CATEGORIES)),
        ))
    return txs


@st.composite
def histories(draw, policy_ids=None):
    rows = draw(st.lists(st.fixed_dictionaries({
        "policy_id": st.sampled_from(policy_ids or [p.id for p in TABLE]),
        "year": st.integers(2023, 2027),
        "amount": _cents.map(lambda c: str(D(c % 300_000_000).scaleb(-2))),
    }), max_size=4))
    return History.from_dict({"granted": rows})


def eligible_fields(policy) -> tuple[dict, dict]:
    """Enterprise and transaction fields that every condition of `policy` accepts."""
    ent: dict = {}
    tx: dict = {"kind": sorted(policy.kinds)[0], "role": sorted(policy.roles)[0]}
    for c in policy.eligibility:
        target, name = (ent, c.field[11:]) if c.field.startswith("enterprise.") else (tx, c.field[12:])
        if c.op == "eq":
            target[name] = c.value
        elif c.op == "in":
            target[name] = c.value[0]
        elif c.op == "not_in":
            target[name] = next(v for v in ("浙江省", "elsewhere") if v not in c.value)
        elif c.op == "contains":
            target[name] = frozenset(target.get(name, ())) | {c.value}
    if policy.formula.categories and "category" not in tx:
        tx["category"] = policy.formula.categories[0][0]
    return ent, tx


def window(policy) -> tuple[date, date]:
    return (max(policy.valid_from or date.min, date(2023, 1, 1)),
            min(policy.valid_until or date.max, date(2027, 12, 31)))


def eligible_case(policy) -> tuple[Enterprise, Transaction]:
    """An enterprise and a transaction template that every condition of `policy` accepts."""
    ent, tx = eligible_fields(policy)
    start, end = window(policy)
    day = min(start + timedelta(days=30), end)
    return Enterprise(credit_code=credit_code(7), **ent), Transaction(id="B-1", date=day, amount=D("0"), **tx)


@st.composite
def scenarios(draw, max_size=15):
    """An enterprise that some policies accept, and transactions each of which some policy accepts,
    with a field now and then changed at random: random input alone almost never qualifies."""
    chosen = draw(st.lists(st.sampled_from(list(TABLE)), min_size=1, max_size=3))
    ent: dict = {}
    for policy in chosen:
        for name, value in eligible_fields(policy)[0].items():
            ent[name] = ent.get(name, frozenset()) | value if isinstance(value, frozenset) else value
    enterprise = dataclasses.replace(draw(enterprises), **ent)
    if draw(st.integers(0, 4)) == 0:
        enterprise = dataclasses.replace(enterprise, **{"local_tax": draw(st.booleans()),
                                                        "city": draw(st.sampled_from(CITIES))})
    txs = []
    for i in range(draw(st.integers(0, max_size))):
        policy = draw(st.sampled_from(chosen))
        fields = eligible_fields(policy)[1]
        start, end = window(policy)
        seen = reusable(txs, fields["kind"])
        tx = Transaction(id=draw(st.sampled_from(seen)) if seen and draw(st.integers(0, 9)) == 0 else f"T{i}",
                         date=draw(st.dates(start, end)), amount=draw(amounts), **fields)
        if draw(st.integers(0, 4)) == 0:
            name = draw(st.sampled_from(["role", "province", "city", "platform", "category"]))
            choices = {"role": sorted(ROLES), "province": PROVINCES, "city": CITIES, "platform": [EXCHANGE, ""],
                       "category": CATEGORIES}[name]
            tx = tx._replace(**{name: draw(st.sampled_from(choices))})
        txs.append(tx)
    return enterprise, txs


@st.composite
def mostly_eligible(draw, policies=tuple(TABLE), kinds=ALL_KINDS, max_size=12, with_history=False):
    """An enterprise that one to three of `policies` accept, and transactions: two or more (about three in
    four) built for one of those policies (any amount and any day in its window), the others wholly
    random over `kinds`, so most examples reach the grants while random input still comes through.
    With `with_history`, a history mostly of the chosen policies, so earlier grants press on their caps."""
    chosen = draw(st.lists(st.sampled_from(list(policies)), min_size=1, max_size=3))
    ent: dict = {}
    for policy in chosen:
        for name, value in eligible_fields(policy)[0].items():
            ent[name] = ent.get(name, frozenset()) | value if isinstance(value, frozenset) else value
    enterprise = dataclasses.replace(draw(enterprises), **ent)
    txs = draw(transactions(kinds=kinds, max_size=max_size // 4))
    for i in range(len(txs), len(txs) + draw(st.integers(2, max_size - max_size // 4))):
        policy = draw(st.sampled_from(chosen))
        fields = eligible_fields(policy)[1]
        seen = reusable(txs, fields["kind"])
        txs.insert(draw(st.integers(0, len(txs))), Transaction(
            id=draw(st.sampled_from(seen)) if seen and draw(st.integers(0, 9)) == 0 else f"T{i}",
            date=draw(st.dates(*window(policy))), amount=draw(amounts), **fields))
    if not with_history:
        return enterprise, txs
    other = draw(st.sampled_from([p.id for p in TABLE]))  # a history may name any policy
    return enterprise, txs, draw(histories([p.id for p in chosen] + [other]))


# --- the invariants -----------------------------------------------------------------------------------

def check_invariants(result, txs, history: History | None, include_drafts: bool) -> None:
    if currently_in_test_context():  # the share of examples that grant: pytest --hypothesis-show-statistics
        event("grants" if result.grants else "no grant")
    hist = history or History()
    by_policy = defaultdict(list)
    for g in result.grants:
        by_policy[g.policy.id].append(g)

    total = D("0.00")
    for r in result.results:
        p = r.policy
        grants = by_policy[p.id]
        assert r.amount >= 0, p.id
        assert fen_exact(r.amount), (p.id, r.amount)
        assert r.amount == sum((g.amount for g in grants), D("0.00")), p.id
        assert r.grants == len(grants), p.id
        if p.status == DRAFT and not include_drafts:
            assert not grants, f"{p.id} is a draft"
        total += r.amount

        caps = p.caps
        year_sums = defaultdict(lambda: D("0.00"))
        for g in grants:
            year_sums[g.year] += g.amount
        if caps.per_entity_year is not None:
            for year, s in year_sums.items():
                assert s <= max(caps.per_entity_year - hist.granted_year[(p.id, year)], 0), (p.id, year, s)
        if caps.per_entity_total is not None:
            assert r.amount <= max(caps.per_entity_total - hist.granted_total[p.id], 0), (p.id, r.amount)
        if caps.pool_year is not None:
            for year, s in year_sums.items():
                assert s <= max(caps.pool_year - hist.pool_used[(p.id, year)], 0), (p.id, year, s)
        if caps.claims_per_entity is not None and grants:
            assert hist.claims[p.id] + len(grants) <= caps.claims_per_entity, p.id
        if caps.years_per_entity is not None and grants:
            assert len(hist.years[p.id] | set(year_sums)) <= caps.years_per_entity, p.id
        if caps.awards_per_year is not None:
            for year, n in Counter(g.year for g in grants).items():
                assert hist.pool_awards[(p.id, year)] + n <= caps.awards_per_year, (p.id, year)
        once = Counter(k for g in grants for k in g.once)
        assert all(n == 1 for n in once.values()), (p.id, once)
        assert not set(once) & {k for pid, k in hist.once_keys if pid == p.id}, p.id

    assert result.total == total
    assert fen_exact(result.total)

    per_group = Counter()
    for g in result.grants:
        p = g.policy
        assert g.amount >= 0, g
        assert fen_exact(g.amount) and fen_exact(g.before_caps), g
        assert g.amount <= g.before_caps, g
        for cap in g.caps:
            assert cap.level in MONEY_CAPS
            assert g.amount <= cap.limit, (g, cap)
            assert g.amount <= max(cap.limit - cap.used, 0), (g, cap)
            assert cap.removed >= 0
        if p.caps.per_item is not None:
            assert g.amount <= p.caps.per_item
        if g.rate is not None:
            assert g.raw == g.base * g.rate
            assert g.before_caps == round_to_fen(g.raw, p.formula.rounding)
        if p.formula.aggregate == "item":
            tx = [t for t in txs if t.id == g.business and t.date == g.day]
            assert tx, g.business
            assert any(t.kind in p.kinds and t.role in p.roles for t in tx)
            assert p.in_window(g.day)
            per_group[(g.business, p.stacking.group)] += 1
            if p.voucher.exclusive_group:
                per_group[(g.business, "exclusive:" + p.voucher.exclusive_group)] += 1
        else:
            assert g.business == f"{p.id}/{g.year}"
        g.to_dict()  # every grant explains itself without error
    assert all(n == 1 for n in per_group.values()), per_group
    result.to_dict()


@SETTINGS
@given(case=mostly_eligible(), include_drafts=st.booleans())
def test_invariants_over_every_policy(case, include_drafts):
    enterprise, txs = case
    result = estimate(TABLE, enterprise, txs, parameters=PARAMETERS, include_drafts=include_drafts)
    assert result.transactions == len(txs)
    check_invariants(result, txs, None, include_drafts)


@SETTINGS
@given(case=mostly_eligible([p for p in TABLE if p.kinds & set(MAIN_KINDS)], kinds=MAIN_KINDS, with_history=True))
def test_invariants_with_a_history(case):
    enterprise, txs, history = case
    before = History.copy(history)
    result = estimate(TABLE, enterprise, txs, history=history, parameters=PARAMETERS, include_drafts=True)
    # The estimate works on a copy: the caller's history is unchanged.
    assert dict(history.granted_year) == dict(before.granted_year)
    assert dict(history.granted_total) == dict(before.granted_total)
    assert dict(history.claims) == dict(before.claims)
    assert history.businesses == before.businesses
    check_invariants(result, txs, before, True)


@SETTINGS
@given(case=scenarios(), history=st.none() | histories(), include_drafts=st.booleans())
def test_invariants_when_policies_apply(case, history, include_drafts):
    enterprise, txs = case
    before = History.copy(history) if history else None
    result = estimate(TABLE, enterprise, txs, history=history, parameters=PARAMETERS, include_drafts=include_drafts)
    check_invariants(result, txs, before, include_drafts)


GUIZHOU_ENTERPRISE = Enterprise(credit_code(1), province="贵州省", city="贵阳市", local_tax=True, exchange_certified=True,
                                legal_person=True, roles=frozenset({"demand"}))


@SETTINGS
@given(txs=transactions(kinds=["compute_purchase", "data_purchase"], max_size=25))
def test_invariants_for_an_enterprise_every_guizhou_row_accepts(txs):
    # Both Guiyang rows and Guizhou's vouchers can apply: stacking and caps are exercised together.
    txs = [t._replace(role="demand", province="贵州省", city="贵阳市") for t in txs]
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, txs, parameters=PARAMETERS, include_drafts=True)
    check_invariants(result, txs, None, True)
    for year in range(2023, 2028):
        assert sum(g.amount for g in result.grants if g.policy.id == GUIZHOU and g.year == year) <= D("2000000")
    for pid in ("guiyang-data-trading", "guiyang-compute-usage"):
        assert result.result(pid).amount <= D("1000000")
        assert len({g.year for g in result.grants if g.policy.id == pid}) <= 1


# --- monotone in the base -------------------------------------------------------------------------------

RATE_POLICIES = [p.id for p in TABLE if p.formula.kind == "rate"]


@pytest.mark.parametrize("policy_id", RATE_POLICIES)
def test_eligible_case_is_granted(policy_id):
    enterprise, tx = eligible_case(TABLE.get(policy_id))
    result = estimate(alone(policy_id), enterprise, [tx._replace(amount=D("100000000"))], parameters=PARAMETERS,
                      include_drafts=True)
    assert result.result(policy_id).grants == 1, result.result(policy_id).reasons()


@pytest.mark.parametrize("policy_id", RATE_POLICIES)
@FEW
@given(a=amounts, b=amounts)
def test_rate_policy_is_monotone_in_the_base(policy_id, a, b):
    a, b = sorted((a, b))
    enterprise, tx = eligible_case(TABLE.get(policy_id))
    table = alone(policy_id)
    low = estimate(table, enterprise, [tx._replace(amount=a)], parameters=PARAMETERS, include_drafts=True)
    high = estimate(table, enterprise, [tx._replace(amount=b)], parameters=PARAMETERS, include_drafts=True)
    assert low.total <= high.total, (a, b, low.total, high.total)


@SETTINGS
@given(a=amounts, b=amounts)
@example(a=D("1999999999.99"), b=D("2000000000.00"))  # Guiyang's 1‰ would tie Guizhou's capped 2,000,000
@example(a=D("2000000000.00"), b=D("3000000000.00"))
def test_guizhou_pair_total_is_monotone(a, b):
    # With both rows of the stacking group, a single purchase gets the higher of the two, so more never pays less.
    a, b = sorted((a, b))
    table = PolicyTable([TABLE.get(GUIYANG), TABLE.get(GUIZHOU)])
    tx = Transaction("B-1", date(2025, 6, 1), "data_purchase", D(0), province="贵州省", platform=EXCHANGE)
    low = estimate(table, GUIZHOU_ENTERPRISE, [tx._replace(amount=a)])
    high = estimate(table, GUIZHOU_ENTERPRISE, [tx._replace(amount=b)])
    assert low.total <= high.total


@SETTINGS
@given(amount=amounts)
@example(amount=D("2000000000.00"))
@example(amount=D("3000000000.00"))
@example(amount=D("5000000.01"))
def test_single_business_gets_the_higher_scheme(amount):
    # 不重复支持，就高不就低: one purchase qualifying under both rows gets the higher one, never less.
    tx = Transaction("B-1", date(2025, 6, 1), "data_purchase", amount, province="贵州省", platform=EXCHANGE)
    both = PolicyTable([TABLE.get(GUIYANG), TABLE.get(GUIZHOU)])
    got = estimate(both, GUIZHOU_ENTERPRISE, [tx]).total
    best = max(estimate(alone(pid), GUIZHOU_ENTERPRISE, [tx]).total for pid in (GUIYANG, GUIZHOU))
    assert got == best


# --- Guizhou: per contract, per-year cap, however the year is split --------------------------------------

def guizhou_expected(amounts_: list[Decimal]) -> Decimal:
    return min(D("2000000.00"), sum((round_to_fen(a * D("0.03"), decimal.ROUND_HALF_UP) for a in amounts_), D("0.00")))


@SETTINGS
@given(parts=st.lists(amounts, min_size=1, max_size=30), data=st.data())
def test_guizhou_year_total_is_capped_and_exact(parts, data):
    txs = [Transaction(f"C-{i}", date(2025, 1 + i % 12, 1 + i % 28), "compute_purchase", a, province="贵州省")
           for i, a in enumerate(parts)]
    result = estimate(alone(GUIZHOU), GUIZHOU_ENTERPRISE, txs)
    assert result.result(GUIZHOU).amount == guizhou_expected(parts)
    assert result.result(GUIZHOU).amount <= D("2000000")
    # The year's total does not depend on the order the vouchers are issued in.
    shuffled = data.draw(st.permutations(txs))
    assert estimate(alone(GUIZHOU), GUIZHOU_ENTERPRISE, shuffled).total == result.total


@SETTINGS
@given(total_fen=st.integers(1, 10 ** 12), cuts=st.lists(st.integers(0, 10 ** 12), max_size=20))
def test_splitting_guizhou_purchases_never_earns_more_than_the_cap(total_fen, cuts):
    points = sorted({c % total_fen for c in cuts} | {0, total_fen})
    parts = [D(b - a).scaleb(-2) for a, b in itertools.pairwise(points)]
    whole = D(total_fen).scaleb(-2)
    txs = [Transaction(f"S-{i}", date(2026, 3, 1), "data_purchase", a, province="贵州省")
           for i, a in enumerate(parts)]
    split = estimate(TABLE, GUIZHOU_ENTERPRISE, txs).result(GUIZHOU).amount
    one = estimate(TABLE, GUIZHOU_ENTERPRISE, [Transaction("S", date(2026, 3, 1), "data_purchase", whole,
                                                           province="贵州省")]).result(GUIZHOU).amount
    assert split <= D("2000000")
    # Rounding each contract half up can give at most half a fen more per contract than the whole.
    assert split <= one + D("0.005") * len(parts) or one == D("2000000")
    assert split == guizhou_expected(parts)


def test_guizhou_cap_is_per_calendar_year():
    txs = [Transaction("Y1", date(2025, 12, 31), "compute_purchase", D("100000000"), province="贵州省"),
           Transaction("Y2", date(2026, 1, 1), "compute_purchase", D("100000000"), province="贵州省"),
           Transaction("Y3", date(2026, 6, 1), "compute_purchase", D("1"), province="贵州省")]
    result = estimate(alone(GUIZHOU), GUIZHOU_ENTERPRISE, txs)
    assert [(g.business, g.year, g.amount) for g in result.grants] == [
        ("Y1", 2025, D("2000000.00")), ("Y2", 2026, D("2000000.00"))]


# --- Guiyang: decided on the year's sum ------------------------------------------------------------------

def guiyang_expected(total: Decimal) -> Decimal:
    if total <= D("5000000"):
        return D("0.00")
    return min(D("1000000.00"), round_to_fen(total * D("0.001"), decimal.ROUND_HALF_UP))


def guiyang_tx(tx_id: str, amount: Decimal, day: date = date(2026, 5, 1)) -> Transaction:
    # Outside Guizhou province, so Guizhou's voucher does not apply and Guiyang's support stands alone.
    return Transaction(tx_id, day, "data_purchase", amount, province="", platform=EXCHANGE)


@SETTINGS
@given(total_fen=st.integers(0, 2 * 10 ** 11), cuts=st.lists(st.integers(0, 2 * 10 ** 11), max_size=30),
       days=st.lists(st.dates(date(2026, 1, 1), date(2026, 12, 31)), min_size=31, max_size=31))
@example(total_fen=500_000_000, cuts=[1], days=[date(2026, 1, 1)] * 31)  # exactly 5,000,000: strict, nothing
@example(total_fen=500_000_001, cuts=[1, 2, 3], days=[date(2026, 1, 1)] * 31)
@example(total_fen=100_000_000_000, cuts=[7], days=[date(2026, 1, 1)] * 31)  # 1,000,000,000: the cap exactly
def test_splitting_guiyang_purchases_changes_nothing(total_fen, cuts, days):
    points = sorted({c % max(total_fen, 1) for c in cuts} | {0, total_fen})
    parts = [D(b - a).scaleb(-2) for a, b in itertools.pairwise(points)] or [D("0.00")]
    whole = D(total_fen).scaleb(-2)
    split = estimate(TABLE, GUIZHOU_ENTERPRISE, [guiyang_tx(f"G-{i}", a, days[i]) for i, a in enumerate(parts)])
    one = estimate(TABLE, GUIZHOU_ENTERPRISE, [guiyang_tx("G", whole)])
    assert split.result(GUIYANG).amount == one.result(GUIYANG).amount == guiyang_expected(whole)
    assert split.total == one.total == guiyang_expected(whole)
    assert split.result(GUIYANG).amount <= D("1000000")
    # Order does not matter either: the year is one business.
    reverse = estimate(TABLE, GUIZHOU_ENTERPRISE, list(reversed(
        [guiyang_tx(f"G-{i}", a, days[i]) for i, a in enumerate(parts)])))
    assert reverse.total == split.total


@SETTINGS
@given(per_year=st.lists(st.integers(0, 2 * 10 ** 11), min_size=2, max_size=5))
def test_guiyang_supports_one_year_only_and_at_most_1_000_000(per_year):
    txs = [guiyang_tx(f"G-{i}", D(f).scaleb(-2), date(2023 + i, 6, 1)) for i, f in enumerate(per_year)]
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, txs)
    grants = [g for g in result.grants if g.policy.id == GUIYANG]
    assert len(grants) <= 1
    assert result.result(GUIYANG).amount <= D("1000000")
    first = next((D(f).scaleb(-2) for f in per_year if D(f).scaleb(-2) > D("5000000")), None)
    assert result.result(GUIYANG).amount == (guiyang_expected(first) if first is not None else 0)


# --- amounts too small to round to a fen are refused, not crashed on --------------------------------------

@pytest.mark.parametrize(("amount", "kind", "province"), [
    ("0", "compute_purchase", "贵州省"), ("0.01", "compute_purchase", "贵州省"), ("0.16", "data_purchase", "贵州省"),
])
def test_tiny_amounts_give_nothing(amount, kind, province):
    tx = Transaction("Z", date(2026, 1, 1), kind, D(amount), province=province, platform=EXCHANGE)
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, [tx], parameters=PARAMETERS, include_drafts=True)
    assert result.result(GUIZHOU).amount == 0
    check_invariants(result, [tx], None, True)


def test_tiny_guiyang_remainder_after_a_higher_scheme():
    # The year passes 5,000,000 but the purchase left to Guiyang is 1.00: 1‰ of it rounds to 0.00.
    txs = [Transaction("A", date(2025, 1, 1), "data_purchase", D("6000000"), province="贵州省", platform=EXCHANGE),
           guiyang_tx("B", D("1.00"), date(2025, 1, 2))]
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, txs)
    assert result.result(GUIZHOU).amount == D("180000.00")
    assert result.result(GUIYANG).amount == 0
    check_invariants(result, txs, None, False)


# --- stacking with a per-year policy: its offer is what it would actually pay ----------------------------

@pytest.mark.parametrize("amount", ["2000000000", "3000000000"])
def test_stacking_compares_what_each_policy_would_actually_pay(amount):
    tx = Transaction("B-1", date(2025, 6, 1), "data_purchase", D(amount), province="贵州省", platform=EXCHANGE)
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, [tx])
    assert result.result(GUIZHOU).amount == D("2000000.00")
    assert result.total == D("2000000.00")


def test_stacking_does_not_lose_a_business_to_a_threshold_never_passed():
    txs = [Transaction("A", date(2025, 1, 1), "compute_purchase", D("66666600"), province="贵州省"),
           Transaction("B", date(2025, 2, 1), "data_purchase", D("4000000"), province="贵州省", platform=EXCHANGE)]
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, txs)
    # Guizhou has 2.00 left in 2025; Guiyang's year (4,000,000) never passes 5,000,000.
    assert result.result(GUIZHOU).amount == D("2000000.00")


def test_stacking_does_not_lose_a_business_to_the_one_year_rule():
    txs = [guiyang_tx("a", D("10000000"), date(2025, 3, 1)),  # Guiyang's one year of support: 10,000
           Transaction("b", date(2026, 1, 1), "compute_purchase", D("66400000"), province="贵州省"),  # 1,992,000
           Transaction("c", date(2026, 2, 1), "data_purchase", D("10000000"), province="贵州省", platform=EXCHANGE)]
    result = estimate(TABLE, GUIZHOU_ENTERPRISE, txs)
    assert result.result(GUIYANG).amount == D("10000.00")
    # Guiyang cannot support 2026 (one year only), so c is Guizhou's: 8,000 more, up to the 2,000,000 cap.
    assert result.result(GUIZHOU).amount == D("2000000.00")
    assert result.total == D("2010000.00")


def test_a_business_granted_under_two_groups_is_claimed_once():
    enterprise = Enterprise(credit_code(3), city="杭州市")
    contract = Transaction("C-1", date(2025, 1, 1), "compute_purchase", D("1000000"), province="贵州省")
    result = estimate(TABLE, enterprise, [contract, contract],
                      parameters={"hangzhou-compute-voucher": {"rate": D("0.1")}})
    # The first submission is granted under both groups (Guizhou's voucher and Hangzhou's); the second under none.
    assert sorted((g.policy.id, g.amount) for g in result.grants) == [
        ("guizhou-compute-voucher", D("30000.00")), ("hangzhou-compute-voucher", D("100000.00"))]
