"""The policy table: every shipped file loads; every broken file is refused naming file, field and reason."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from voucher.errors import NotFound, PolicyInvalid
from voucher.policy import (
    DRAFT, IN_FORCE, Caps, Condition, PolicyError, PolicyTable, Stacking, Threshold, load_policies,
    load_policy_file, load_policy_table,
)
from voucher.transactions import KINDS

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"
POLICY_FILES = sorted(POLICY_DIR.glob("*.toml"))
HEX12 = re.compile(r"^[0-9a-f]{12}$")

MINIMAL = '''\
id = "minimal"
name_zh = "最小政策"
name_en = "Minimal policy"
authority = "某市大数据发展管理局"
document = "《某办法》"
clause = "给予交易额 1‰的资金支持"
status = "in_force"
province = "贵州省"
kinds = ["data_purchase"]
roles = ["demand"]

[formula]
kind = "rate"
rate = 0.001
'''


def write(directory: Path, text: str, name: str = "minimal") -> Path:
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def broken(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the policy text"
    return text.replace(old, new)


# --- the shipped table ------------------------------------------------------------------------------

def test_the_shipped_table_loads_without_errors():
    policies, errors = load_policies(POLICY_DIR)
    assert errors == []
    assert [p.id for p in policies] == sorted(path.stem for path in POLICY_FILES)
    assert len(policies) >= 2
    table = load_policy_table(POLICY_DIR)
    assert len(table) == len(POLICY_FILES)


def test_the_shipped_table_loads_by_relative_path(monkeypatch):
    monkeypatch.chdir(ROOT)
    policies, errors = load_policies("policies")
    assert errors == []
    assert {p.id for p in policies} == {path.stem for path in POLICY_FILES}


@pytest.mark.parametrize("path", POLICY_FILES, ids=[p.stem for p in POLICY_FILES])
def test_each_shipped_file(path):
    policy, errors = load_policy_file(path)
    assert errors == []
    assert policy is not None
    assert policy.id == path.stem
    assert policy.source == str(path)
    assert HEX12.match(policy.version)
    assert policy.version == hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert policy.status in (IN_FORCE, DRAFT)
    assert policy.clause and policy.clause == policy.clause.strip()
    assert policy.kinds and policy.kinds <= KINDS
    assert policy.roles
    f = policy.formula
    for value in (f.rate, f.amount, *(a for _, a in f.categories), *(m.award for m in f.milestones)):
        assert value is None or isinstance(value, Decimal)
    for name in ("per_item", "per_entity_year", "per_entity_total", "pool_year"):
        limit = getattr(policy.caps, name)
        assert limit is None or (isinstance(limit, Decimal) and limit > 0)
    if f.rate_set_by or f.amount_set_by:
        assert policy.interpretation, "a value set by an administrator must be explained"
    if policy.valid_from and policy.valid_until:
        assert policy.valid_from <= policy.valid_until


@pytest.mark.parametrize(("policy_id", "rate"), [
    ("guiyang-data-trading", "0.001"),
    ("guizhou-compute-voucher", "0.03"),
])
def test_shipped_rates_are_exact_decimals(policy_id, rate):
    policy = load_policy_table(POLICY_DIR).get(policy_id)
    assert isinstance(policy.formula.rate, Decimal)
    assert policy.formula.rate == Decimal(rate)
    assert str(policy.formula.rate) == rate


def test_guiyang_row_reads_the_clause():
    p = load_policy_table(POLICY_DIR).get("guiyang-data-trading")
    assert (p.formula.kind, p.formula.aggregate, p.formula.rounding) == ("rate", "year", "ROUND_HALF_UP")
    assert p.threshold == Threshold(Decimal("5000000"), False, "year", "年度交易金额超过 500 万元")
    assert p.caps.per_entity_total == Decimal("1000000")
    assert p.caps.years_per_entity == 1
    assert p.stacking.group == "guizhou-data-compute"
    assert p.valid_from is None and p.valid_until is None


def test_guizhou_row_reads_the_clause():
    p = load_policy_table(POLICY_DIR).get("guizhou-compute-voucher")
    assert (p.formula.kind, p.formula.aggregate, p.formula.rate) == ("rate", "item", Decimal("0.03"))
    assert p.caps.per_entity_year == Decimal("2000000")
    assert p.voucher.validity_months == 6 and p.voucher.transferable is False
    assert "compute_provider" not in p.roles
    assert p.valid_from == date(2024, 1, 1)


# --- version ----------------------------------------------------------------------------------------

def test_version_is_the_file_hash_and_changes_with_the_text(tmp_path):
    original = POLICY_DIR / "guiyang-data-trading.toml"
    copy = tmp_path / original.name
    shutil.copyfile(original, copy)
    first, errors = load_policy_file(copy)
    assert errors == []
    assert HEX12.match(first.version)
    assert first.version == load_policy_file(original)[0].version
    assert first.version == hashlib.sha256(copy.read_bytes()).hexdigest()[:12]

    copy.write_text(copy.read_text(encoding="utf-8") + "# administrator's note\n", encoding="utf-8")
    second, errors = load_policy_file(copy)
    assert errors == []
    assert HEX12.match(second.version)
    assert second.version != first.version
    assert second.version == hashlib.sha256(copy.read_bytes()).hexdigest()[:12]

    copy.write_text(copy.read_text(encoding="utf-8").replace("rate = 0.001", "rate = 0.002"), encoding="utf-8")
    third, _ = load_policy_file(copy)
    assert third.formula.rate == Decimal("0.002")
    assert len({first.version, second.version, third.version}) == 3


def test_same_text_same_version(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = write(tmp_path / "a", MINIMAL), write(tmp_path / "b", MINIMAL)
    assert load_policy_file(a)[0].version == load_policy_file(b)[0].version


# --- a minimal valid file, and exact numbers ---------------------------------------------------------

def test_minimal_policy_loads_with_defaults(tmp_path):
    path = write(tmp_path, MINIMAL)
    policy, errors = load_policy_file(path)
    assert errors == []
    assert policy.id == "minimal"
    assert policy.formula.rate == Decimal("0.001") and str(policy.formula.rate) == "0.001"
    assert policy.formula.aggregate == "item"
    assert policy.formula.rounding == "ROUND_HALF_UP"
    assert policy.caps == Caps()
    assert policy.stacking == Stacking("minimal", "highest", "")
    assert policy.threshold is None
    assert policy.eligibility == ()
    assert policy.voucher.issues_voucher is False


def test_toml_floats_become_exact_decimals(tmp_path):
    text = MINIMAL.replace("rate = 0.001", "rate = 0.001\nrounding = \"ROUND_DOWN\"") + '''
[threshold]
amount = 5000000.01
inclusive = true

[caps]
per_item = 1234567.89
per_entity_year = 0.1
per_entity_total = 2e6
pool_year = 50000000
'''
    policy, errors = load_policy_file(write(tmp_path, text))
    assert errors == []
    assert policy.formula.rate == Decimal("0.001")
    assert policy.formula.rate != 0.001  # a float 0.001 is not one per mille exactly
    assert policy.formula.rounding == "ROUND_DOWN"
    assert policy.threshold.amount == Decimal("5000000.01")
    assert policy.caps.per_item == Decimal("1234567.89")
    assert policy.caps.per_entity_year == Decimal("0.1")
    assert policy.caps.per_entity_total == Decimal("2000000")
    assert policy.caps.pool_year == Decimal("50000000")
    for value in (policy.formula.rate, policy.threshold.amount, policy.caps.per_item, policy.caps.per_entity_year,
                  policy.caps.per_entity_total, policy.caps.pool_year):
        assert type(value) is Decimal


def test_a_full_policy_loads_every_section(tmp_path):
    text = MINIMAL.replace('province = "贵州省"', 'province = "贵州省"\ncity = "贵阳市"\n'
                           'valid_from = 2023-08-25\nvalid_until = 2026-12-31\n'
                           'interpretation = ["one reading"]') + '''
[[eligibility]]
field = "enterprise.local_tax"
op = "eq"
value = true
clause = "在本地纳税"

[[eligibility]]
field = "transaction.province"
op = "in"
value = ["贵州省"]
clause = "贵州"

[threshold]
amount = 5000000
inclusive = false
on = "item"
clause = "超过 500 万元"

[caps]
per_item = 1000000
claims_per_entity = 3
clause = "最高不超过 100 万元"

[voucher]
issues_voucher = true
validity_months = 6
exclusive_group = "kind"

[stacking]
group = "g"
rule = "highest"
clause = "不重复支持"
'''
    policy, errors = load_policy_file(write(tmp_path, text))
    assert errors == []
    assert (policy.city, policy.valid_from, policy.valid_until) == ("贵阳市", date(2023, 8, 25), date(2026, 12, 31))
    assert policy.eligibility == (
        Condition("enterprise.local_tax", "eq", True, "在本地纳税"),
        Condition("transaction.province", "in", ["贵州省"], "贵州"),
    )
    assert policy.threshold == Threshold(Decimal("5000000"), False, "item", "超过 500 万元")
    assert policy.caps == Caps(per_item=Decimal("1000000"), claims_per_entity=3, clause="最高不超过 100 万元")
    assert (policy.voucher.issues_voucher, policy.voucher.validity_months, policy.voucher.exclusive_group) == (
        True, 6, "kind")
    assert policy.stacking == Stacking("g", "highest", "不重复支持")
    assert policy.interpretation == ("one reading",)
    assert policy.in_window(date(2023, 8, 25)) and policy.in_window(date(2026, 12, 31))
    assert not policy.in_window(date(2023, 8, 24)) and not policy.in_window(date(2027, 1, 1))


# --- one broken file per error ----------------------------------------------------------------------

ANNUAL = "\n[threshold]\namount = 5000000\ninclusive = false\non = \"year\"\n"

BROKEN = [
    pytest.param(broken(MINIMAL, 'province = "贵州省"', 'colour = "red"\nprovince = "贵州省"'),
                 "colour", "Unknown field.", id="unknown-key"),
    pytest.param(MINIMAL + "bogus = 1\n", "formula.bogus", "Unknown field.", id="unknown-key-in-formula"),
    pytest.param(MINIMAL + "\n[caps]\nper_year = 5\n", "caps.per_year", "Unknown field.", id="unknown-cap"),
    pytest.param(broken(MINIMAL, 'clause = "给予交易额 1‰的资金支持"\n', ""),
                 "clause", "Missing data for required field.", id="missing-clause"),
    pytest.param(broken(MINIMAL, 'clause = "给予交易额 1‰的资金支持"', 'clause = ""'),
                 "clause", "Shorter than minimum length 1.", id="empty-clause"),
    pytest.param(broken(MINIMAL, 'status = "in_force"', 'status = "active"'),
                 "status", "Must be one of: in_force, draft.", id="bad-status"),
    pytest.param(broken(MINIMAL, "rate = 0.001", "rate = 1.5"), "formula.rate",
                 "Must be greater than or equal to 0 and less than or equal to 1.", id="rate-above-1"),
    pytest.param(broken(MINIMAL, "rate = 0.001", "rate = -0.01"), "formula.rate",
                 "Must be greater than or equal to 0 and less than or equal to 1.", id="rate-below-0"),
    pytest.param(broken(MINIMAL, "rate = 0.001", ""), "formula.rate",
                 "a rate formula needs exactly one of rate or rate_set_by", id="rate-neither"),
    pytest.param(broken(MINIMAL, "rate = 0.001", 'rate = 0.001\nrate_set_by = "administrator"'), "formula.rate",
                 "a rate formula needs exactly one of rate or rate_set_by", id="rate-both"),
    pytest.param(broken(MINIMAL, 'kind = "rate"\nrate = 0.001', 'kind = "fixed"'), "formula.amount",
                 "a fixed formula needs exactly one of amount or amount_set_by", id="fixed-neither"),
    pytest.param(broken(MINIMAL, 'kind = "rate"\nrate = 0.001', 'kind = "by_category"'), "formula.categories",
                 "a by_category formula needs categories", id="by-category-empty"),
    pytest.param(broken(MINIMAL, 'kind = "rate"', 'kind = "percent"'), "formula.kind",
                 "Must be one of: rate, fixed, by_category, milestones.", id="bad-formula-kind"),
    pytest.param(MINIMAL + ANNUAL, "threshold", "an annual threshold needs formula.aggregate = 'year'",
                 id="annual-threshold-item-aggregation"),
    pytest.param(broken(MINIMAL, "rate = 0.001", 'rate = 0.001\naggregate = "item"') + ANNUAL, "threshold",
                 "an annual threshold needs formula.aggregate = 'year'", id="annual-threshold-explicit-item"),
    pytest.param(broken(MINIMAL, 'id = "minimal"', 'id = "other"'), "id",
                 '"other" must match the file name "minimal"', id="id-not-file-name"),
    pytest.param(broken(MINIMAL, 'id = "minimal"', 'id = "Minimal"'), "id",
                 "String does not match expected pattern.", id="id-upper-case"),
    pytest.param(broken(MINIMAL, 'id = "minimal"\n', ""), "id", "Missing data for required field.",
                 id="missing-id"),
    pytest.param(broken(MINIMAL, 'province = "贵州省"',
                        'province = "贵州省"\nvalid_from = 2024-06-01\nvalid_until = 2024-05-31'),
                 "valid_until", "ends before valid_from", id="ends-before-it-starts"),
    pytest.param(broken(MINIMAL, "rate = 0.001", 'rate_set_by = "administrator"'), "interpretation",
                 "a value set by an administrator must be explained", id="admin-value-unexplained"),
    pytest.param(broken(MINIMAL, "rate = 0.001", 'rate_set_by = "the city"'), "formula.rate_set_by",
                 "Must be one of: administrator.", id="set-by-someone-else"),
    pytest.param(broken(MINIMAL, 'kinds = ["data_purchase"]', "kinds = []"), "kinds",
                 "Shorter than minimum length 1.", id="no-kinds"),
    pytest.param(broken(MINIMAL, 'roles = ["demand"]', "roles = []"), "roles",
                 "Shorter than minimum length 1.", id="no-roles"),
    pytest.param(broken(MINIMAL, "rate = 0.001", "rate = 0.001\nrounding = \"ROUND_UP\""), "formula.rounding",
                 "Must be one of: ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN.", id="bad-rounding"),
    pytest.param(MINIMAL + "\n[caps]\nper_item = -1\n", "caps.per_item",
                 "Must be greater than or equal to 0 and less than or equal to 1000000000000000.",
                 id="negative-cap"),
    pytest.param(MINIMAL + "\n[caps]\nclaims_per_entity = 1.5\n", "caps.claims_per_entity",
                 "Not a valid integer.", id="fractional-count"),
    pytest.param(MINIMAL + "\n[caps]\nyears_per_entity = 0\n", "caps.years_per_entity",
                 "Must be greater than or equal to 1.", id="zero-years"),
    pytest.param(MINIMAL + '\n[stacking]\ngroup = "g"\nrule = "sum"\n', "stacking.rule",
                 "Must be one of: highest.", id="bad-stacking-rule"),
    pytest.param(MINIMAL + '\n[[eligibility]]\nfield = "enterprise.local_tax"\nop = "is"\nvalue = true\n'
                 'clause = "x"\n', "eligibility.0.op",
                 "Must be one of: eq, ne, in, not_in, contains, not_contains.", id="bad-condition-op"),
    pytest.param(MINIMAL + '\n[[eligibility]]\nfield = "enterprise.local_tax"\nop = "eq"\nvalue = true\n',
                 "eligibility.0.clause", "Missing data for required field.", id="condition-without-clause"),
]


@pytest.mark.parametrize(("text", "field", "message"), BROKEN)
def test_one_broken_file_per_error(tmp_path, text, field, message):
    path = write(tmp_path, text)
    policy, errors = load_policy_file(path)
    assert policy is None
    assert errors == [PolicyError(str(path), field, message)]
    assert str(errors[0]) == f"{path}: {field}: {message}"

    # The same file in a directory: load_policies reports it, load_policy_table refuses the table.
    policies, errors = load_policies(tmp_path)
    assert policies == []
    assert errors == [PolicyError(str(path), field, message)]
    with pytest.raises(PolicyInvalid) as info:
        load_policy_table(tmp_path)
    assert info.value.message == f"{path}: {field}: {message}"
    assert info.value.code == "policy_invalid"
    assert info.value.context == {"errors": 1}


def test_unknown_kind_is_refused(tmp_path):
    path = write(tmp_path, broken(MINIMAL, 'kinds = ["data_purchase"]', 'kinds = ["data_purchse"]'))
    policy, errors = load_policy_file(path)
    assert policy is None
    assert errors == [PolicyError(str(path), "kinds.0", "Must be one of: " + ", ".join(sorted(KINDS)) + ".")]


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('status = "in_force"', "status = in_force", "Invalid value (at line 7, column 10)"),
    ('roles = ["demand"]', 'roles = ["demand"', "Unclosed array (at line 12, column 1)"),
    ("[formula]", "[formula", "Expected ']' at the end of a table declaration (at line 12, column 9)"),
    ('id = "minimal"', 'id = "minimal"\nid = "minimal"', "Cannot overwrite a value (at line 2, column 15)"),
])
def test_invalid_toml(tmp_path, old, new, problem):
    path = write(tmp_path, broken(MINIMAL, old, new))
    policy, errors = load_policy_file(path)
    assert policy is None
    assert errors == [PolicyError(str(path), "(file)", f"not valid TOML: {problem}")]


def test_not_utf8(tmp_path):
    path = tmp_path / "minimal.toml"
    path.write_bytes(MINIMAL.encode("gb18030"))
    policy, errors = load_policy_file(path)
    assert policy is None
    assert [(e.source, e.field) for e in errors] == [(str(path), "(file)")]
    assert errors[0].message.startswith("not valid TOML: ")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    text = broken(broken(MINIMAL, 'status = "in_force"', 'status = "active"'),
                  'clause = "给予交易额 1‰的资金支持"\n', "")
    path = write(tmp_path, text)
    _, errors = load_policy_file(path)
    assert errors == [
        PolicyError(str(path), "clause", "Missing data for required field."),
        PolicyError(str(path), "status", "Must be one of: in_force, draft."),
    ]


def test_good_and_bad_files_in_one_directory(tmp_path):
    write(tmp_path, MINIMAL)
    bad = write(tmp_path, broken(MINIMAL, 'id = "minimal"', 'id = "second"').replace("rate = 0.001", "rate = 2"),
                "second")
    other = write(tmp_path, "not toml at all = = =\n", "third")
    (tmp_path / "notes.txt").write_text("not a policy", encoding="utf-8")
    policies, errors = load_policies(tmp_path)
    assert [p.id for p in policies] == ["minimal"]
    assert [(e.source, e.field) for e in errors] == [(str(bad), "formula.rate"), (str(other), "(file)")]
    with pytest.raises(PolicyInvalid) as info:
        load_policy_table(tmp_path)
    assert info.value.context == {"errors": 2}
    assert info.value.message.startswith(
        f"{bad}: formula.rate: Must be greater than or equal to 0 and less than or equal to 1.; {other}: (file): ")


@pytest.mark.parametrize("name", ["does-not-exist", "a-file.toml"])
def test_bad_directory(tmp_path, name):
    directory = tmp_path / name
    if name.endswith(".toml"):
        write(tmp_path, MINIMAL, "a-file")
    policies, errors = load_policies(directory)
    assert policies == []
    assert errors == [PolicyError(str(directory), "(directory)", "no such policy directory")]
    with pytest.raises(PolicyInvalid) as info:
        load_policy_table(directory)
    assert info.value.message == f"{directory}: (directory): no such policy directory"
    assert info.value.to_dict() == {"code": "policy_invalid", "message": info.value.message, "errors": "1"}


def test_empty_directory_is_an_empty_table(tmp_path):
    assert load_policies(tmp_path) == ([], [])
    assert len(load_policy_table(tmp_path)) == 0


# --- the table ----------------------------------------------------------------------------------------

def test_table_indexes_by_id_and_kind():
    table = load_policy_table(POLICY_DIR)
    assert [p.id for p in table] == sorted(p.id for p in table)
    assert table.get("guizhou-compute-voucher").source == str(POLICY_DIR / "guizhou-compute-voucher.toml")
    assert {p.id for p in table.by_kind["data_purchase"]} >= {"guiyang-data-trading", "guizhou-compute-voucher"}
    assert "guiyang-data-trading" not in {p.id for p in table.by_kind["compute_purchase"]}
    for kind, policies in table.by_kind.items():
        assert all(kind in p.kinds for p in policies)
    with pytest.raises(NotFound) as info:
        table.get("nowhere")
    assert (info.value.message, info.value.field) == ('no policy "nowhere"', "policy_id")


def test_table_order_does_not_depend_on_input_order():
    policies, _ = load_policies(POLICY_DIR)
    assert [p.id for p in PolicyTable(list(reversed(policies)))] == [p.id for p in PolicyTable(policies)]


# --- a typo in a value the calculator looks up must not pass silently ---------------------------------
# A condition on a field neither the enterprise nor the transaction has would compare None with the
# value and silently refuse (or, with "ne", grant) every time; a role no enterprise can have would
# never match. Both are refused when the file is loaded.

ENTERPRISE_FIELDS = ["credit_code", "name", "province", "city", "registered_province", "local_tax", "roles", "sme",
                     "legal_person", "operating", "data_assets_booked", "exchange_certified", "recognitions"]
TRANSACTION_FIELDS = ["id", "date", "kind", "amount", "role", "province", "city", "platform", "category",
                      "counterparty", "year"]
CONDITION_FIELDS = sorted([f"enterprise.{n}" for n in ENTERPRISE_FIELDS]
                          + [f"transaction.{n}" for n in TRANSACTION_FIELDS])
ALL_ROLES = ["buyer", "completing_unit", "compute_provider", "data_provider", "demand", "developer", "platform",
             "service_provider", "transfer_institution"]


def condition(field: str, op: str = "eq", value: str = "true") -> str:
    return f'\n[[eligibility]]\nfield = "{field}"\nop = "{op}"\nvalue = {value}\nclause = "x"\n'


@pytest.mark.parametrize("field", ["enterprise.local_taxes", "enterprise.exchange_certfied", "transaction.provice",
                                   "enterprise.city_name", "transaction.platfrom", "enterprise.Local_tax",
                                   "company.local_tax", "enterprise."])
def test_condition_on_an_unknown_field_is_refused(tmp_path, field):
    path = write(tmp_path, MINIMAL + condition(field))
    policy, errors = load_policy_file(path)
    assert policy is None
    assert errors == [PolicyError(str(path), "eligibility.0.field",
                                  "Must be one of: " + ", ".join(CONDITION_FIELDS) + ".")]


@pytest.mark.parametrize("field", CONDITION_FIELDS)
def test_condition_on_every_known_field_loads(tmp_path, field):
    policy, errors = load_policy_file(write(tmp_path, MINIMAL + condition(field, "ne", '"?"')))
    assert errors == []
    assert policy.eligibility == (Condition(field, "ne", "?", "x"),)


@pytest.mark.parametrize("roles", ['["demnd"]', '["demand", "compute-provider"]', '["Demand"]'])
def test_unknown_role_is_refused(tmp_path, roles):
    path = write(tmp_path, broken(MINIMAL, 'roles = ["demand"]', f"roles = {roles}"))
    policy, errors = load_policy_file(path)
    assert policy is None
    bad = [i for i, r in enumerate(json.loads(roles)) if r not in ALL_ROLES]
    assert errors == [PolicyError(str(path), f"roles.{i}", "Must be one of: " + ", ".join(ALL_ROLES) + ".")
                      for i in bad]


def test_every_known_role_loads(tmp_path):
    roles = "[" + ", ".join(f'"{r}"' for r in ALL_ROLES) + "]"
    policy, errors = load_policy_file(write(tmp_path, broken(MINIMAL, 'roles = ["demand"]', f"roles = {roles}")))
    assert errors == []
    assert policy.roles == frozenset(ALL_ROLES)


def test_a_condition_may_name_only_roles_the_policy_admits(tmp_path):
    source = (ROOT / "policies" / "guizhou-compute-voucher.toml").read_text(encoding="utf-8")
    broken = source.replace('roles = ["data_provider"]', 'roles = ["compute_provider"]')
    assert broken != source
    path = tmp_path / "guizhou-compute-voucher.toml"
    path.write_text(broken, encoding="utf-8")
    policies, errors = load_policies(tmp_path)
    assert policies == []
    assert [(e.field, e.message) for e in errors] == [
        ("eligibility", 'condition 2 names role "compute_provider", which this policy does not admit')]
