"""One business, one entry; business ids and invoice numbers compared by their normalised key.

On SQLite and PostgreSQL. Guizhou's compute voucher is 3% of a contract (贵州算力券, capped at
2,000,000 a year), so a 1,000,000.00 contract issues a 30,000.00 voucher.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_support import (  # noqa: F401  (fixtures are used by name)
    ADMIN, GZ_PLATFORM, HZ_PLATFORM, all_entries, backend, clock, dump, guizhou_enterprise, gz_contract, ledger,
    ledger_url, refused,
)
from voucher.businesses import BusinessMismatch, normal_key
from voucher.errors import Conflict, InputError

GZ = "guizhou-compute-voucher"
SPELLINGS = ["BASE-1", "ＢASE-1", "base-1", "BASE-1\u200b", " \ufeffBase\u2060-1\u200c\u200d "]


@pytest.fixture
def gz(ledger):
    for serial in (1, 2):
        ledger.register_enterprise(guizhou_enterprise(serial), actor=ADMIN)
    ledger.onboard_party(GZ_PLATFORM, "platform", "贵州算力调度平台", actor=ADMIN)
    ledger.onboard_party(HZ_PLATFORM, "platform", "杭州平台", actor=ADMIN)
    return guizhou_enterprise(1).credit_code, guizhou_enterprise(2).credit_code


def post(ledger, code, tx, key=None, platform=GZ_PLATFORM):
    return ledger.post_transaction(code, tx, platform=platform, actor=f"platform:{platform}", key=key)


def posts(ledger) -> int:
    return len(all_entries(ledger, event="transaction.post"))


def test_the_four_spellings_are_one_key():
    assert {normal_key(s) for s in SPELLINGS} == {"base-1"}
    assert normal_key("ＩＮＶ－００１") == normal_key("inv-001")  # full-width letters, digits and hyphen
    assert normal_key("Straße") == normal_key("STRASSE")  # case folding, not just lower()
    assert normal_key("BASE-2") != normal_key("BASE-1")


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_the_key_is_stable(text):
    """Normalising twice changes nothing, and decoration never makes two ids differ."""
    key = normal_key(text)
    assert normal_key(key) == key
    assert normal_key(f" \u200b{text.upper()}\ufeff ") == normal_key(text.upper())


@pytest.mark.parametrize("granting", [True, False], ids=["issues-a-voucher", "issues-nothing"])
def test_sixty_four_keys_for_one_contract_write_one_entry(ledger, gz, granting):
    """Each retry with a new Idempotency-Key used to add a `transaction.post` entry (64 for one contract)."""
    code = gz[0]
    contract = gz_contract("GZ-64", "1000000.00") if granting else gz_contract("GZ-64", "1000000.00",
                                                                               province="浙江省")
    first = post(ledger, code, contract, key="key-0")
    assert [v["face"] for v in first["vouchers"]] == (["30000.00"] if granting else [])
    state = dump(ledger)
    for n in range(1, 64):
        assert post(ledger, code, dict(contract), key=f"key-{n}") == first
    assert post(ledger, code, dict(contract)) == first  # and with no key at all
    assert dump(ledger) == state  # no entry, no voucher, not even a remembered key
    assert posts(ledger) == 1


def test_the_four_spellings_are_one_business_when_reposted(ledger, gz):
    code = gz[0]
    first = post(ledger, code, gz_contract("BASE-1", "1000000.00"), key="first")
    assert first["transaction"]["id"] == "BASE-1" and first["vouchers"][0]["business"] == "BASE-1"
    state = dump(ledger)
    for n, spelling in enumerate(SPELLINGS):
        assert post(ledger, code, gz_contract(spelling, "1000000.00"), key=f"again-{n}") == first
    assert dump(ledger) == state and posts(ledger) == 1


def test_the_four_spellings_are_one_business_when_claimed(ledger, gz):
    a, b = gz
    post(ledger, a, gz_contract("BASE-1", "1000000.00"))
    for spelling in SPELLINGS[1:]:  # the other enterprise claims the same contract: one claim per business
        refused(ledger, Conflict, ledger.apply, b, GZ, gz_contract(spelling, "1000000.00"), actor=b,
                why="claimed")
    # An application holds its business while it is open, however the id is spelt.
    app = ledger.apply(b, GZ, gz_contract("BASE-2", "1000000.00"), actor=b)
    for spelling in ("base-2", "ＢＡＳＥ-２", "BASE-2\u2060"):
        err = refused(ledger, Conflict, ledger.apply, b, GZ, gz_contract(spelling, "1000000.00"), actor=b)
        assert app["id"] in str(err)
    voucher = ledger.approve(app["id"], actor=ADMIN)["voucher"]
    assert voucher["business"] == "BASE-2"  # displayed as sent
    refused(ledger, Conflict, ledger.apply, a, GZ, gz_contract("base-2\u200b", "1000000.00"), actor=a,
            why="claimed")


def test_a_different_body_is_refused_naming_the_fields(ledger, gz):
    a, b = gz
    post(ledger, a, gz_contract("GZ-1", "1000000.00"))
    err = refused(ledger, BusinessMismatch, post, ledger, a, gz_contract("gz-1", "1000000.01"), key="k2")
    assert err.fields == ("transaction.amount",) and err.field == "transaction.amount"
    assert err.context["differs"] == "transaction.amount" and err.code == "business_differs"
    err = refused(ledger, BusinessMismatch, post, ledger, a, gz_contract("GZ-1", "2000000.00", day="2026-03-02"))
    assert err.fields == ("transaction.date", "transaction.amount")
    err = refused(ledger, BusinessMismatch, post, ledger, b, gz_contract("GZ-1", "1000000.00"))
    assert err.fields == ("enterprise",)
    err = refused(ledger, BusinessMismatch, post, ledger, a, gz_contract("GZ-1", "1000000.00"),
                  platform=HZ_PLATFORM)  # another platform cannot read the first answer either
    assert err.fields == ("transaction.platform",)
    assert isinstance(err, Conflict)


def test_a_business_stays_posted_after_its_keys_are_pruned(ledger, gz, clock):
    code = gz[0]
    first = post(ledger, code, gz_contract("GZ-1", "1000000.00"), key="k1")
    clock.advance(days=30)
    ledger.expire()
    with ledger.store.read() as tx:
        assert tx.value("SELECT COUNT(*) FROM requests") == 0
    state = dump(ledger)
    assert post(ledger, code, gz_contract("GZ-1", "1000000.00"), key="k1") == first
    assert post(ledger, code, gz_contract("gz-1", "1000000.00"), key="k2") == first
    assert dump(ledger) == state


def test_the_first_answer_shows_the_vouchers_as_issued(ledger, gz, clock):
    code = gz[0]
    first = post(ledger, code, gz_contract("GZ-1", "1000000.00"))
    voucher = first["vouchers"][0]["id"]
    ledger.redeem(voucher, enterprise=code, amount="100.00", party=GZ_PLATFORM, invoice="I-1", actor=code)
    clock.advance(days=1)
    assert post(ledger, code, gz_contract("GZ-1", "1000000.00"), key="later") == first
    assert ledger.voucher(voucher)["available"] == "29900.00"  # the voucher itself moved on


def test_invoice_spellings_collide(ledger, gz):
    code = gz[0]
    voucher = post(ledger, code, gz_contract("GZ-1", "1000000.00"))["vouchers"][0]["id"]
    ledger.redeem(voucher, enterprise=code, amount="100.00", party=GZ_PLATFORM, invoice="INV-001", actor=code)
    for spelling in ("inv-001", "ＩＮＶ-００１", "INV-001\u200b", " INV-001\ufeff"):
        err = refused(ledger, Conflict, ledger.redeem, voucher, enterprise=code, amount="1.00", party=GZ_PLATFORM,
                      invoice=spelling, actor=code)
        assert err.field == "invoice" and "INV-001" in str(err)
    hold = ledger.hold(voucher, enterprise=code, amount="5.00", platform=GZ_PLATFORM, actor="p")
    refused(ledger, Conflict, ledger.commit_hold, hold["id"], platform=GZ_PLATFORM, invoice="inv-001", actor="p")
    red = ledger.redeem(voucher, enterprise=code, amount="1.00", party=GZ_PLATFORM, invoice="INV-002", actor=code)
    assert red["invoice"] == "INV-002"


def test_an_id_of_only_invisible_characters_is_refused(ledger, gz):
    code = gz[0]
    refused(ledger, InputError, post, ledger, code, gz_contract("\u200b\u200d", "1000000.00"))
    refused(ledger, InputError, ledger.apply, code, GZ, gz_contract("\ufeff", "1000000.00"), actor=code)
    voucher = post(ledger, code, gz_contract("GZ-1", "1000000.00"))["vouchers"][0]["id"]
    refused(ledger, InputError, ledger.redeem, voucher, enterprise=code, amount="1.00", party=GZ_PLATFORM,
            invoice="\u2060", actor=code)
