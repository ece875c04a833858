"""One parser on every boundary: each bad value is refused with the same field and words, and nothing written.

The same business is sent, with one value wrong, through every way in: a CSV file, a JSON
file and JSON Lines given to `voucher estimate`, a JSON file given to `voucher ledger issue`,
`POST /v1/estimates` and `POST /v1/transactions`. Each is refused naming the field as that
boundary names it (line 2.amount, transactions[0].amount, transaction.amount) with the
same problem, as one line (CLI, exit 1, no traceback, nothing on standard output) or a 422.
And no date from 0001-01-01 to 9999-12-31 breaks the calculator, the API or the CLI.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from api_support import GUIYANG_A, app_fixture, client_fixture, clock_fixture, profile, world_fixture  # noqa: F401
from conftest import cli, sqlite_rows
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ledger_support import dump

from voucher.calculator import estimate, expiry_date
from voucher.enterprise import Enterprise
from voucher.transactions import Transaction

ROOT = Path(__file__).resolve().parent.parent
PROFILE = str(ROOT / "examples" / "enterprise.json")
CODE = "91520100MA6H3K7P1R"  # examples/enterprise.json
TODAY = date.today().isoformat()  # the ledger issues on the real clock here; a date it accepts for business

NUMBER = 'must be a decimal string such as "1234.56", not a JSON number (numbers lose cents in many JSON libraries)'
TWICE = "is named twice in one object; give each key once"
CASES = [  # (id, field, value as JSON text or None, the same as a CSV cell or None, the problem)
    ("fraction", "amount", "1000.5", None, NUMBER),
    ("json-integer", "amount", "1000", None, NUMBER),
    ("json-exponent", "amount", "1e-1", None, NUMBER),
    ("full-width", "amount", '"１０００"', "１０００",
     '"１０００" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
    ("exponent", "amount", '"1e-1"', "1e-1", '"1e-1" has an exponent; write the digits out, like 1234.56'),
    ("padded", "amount", '" 100 "', '" 100 "', '" 100 " has spaces around it; write the number alone, like 1234.56'),
    ("single-quoted", "amount", '"\'100\'"', "'100'", '"\'100\'" is in quotes; write the number alone, like 1234.56'),
    ("double-quoted", "amount", '"\\"100\\""', '"""100"""',
     '"\\"100\\"" is in quotes; write the number alone, like 1234.56'),
    ("grouped", "amount", '"1,000,000.00"', None,
     '"1,000,000.00" has thousands separators; write 1234.56 (separators are read only in CSV files)'),
    ("basic-date", "date", '"20260302"', "20260302", '"20260302" is not a date; write it as YYYY-MM-DD (2026-03-02)'),
    ("no-offset", "date", '"2026-03-01T10:00:00"', "2026-03-01T10:00:00",
     '"2026-03-01T10:00:00" has no offset; add +08:00 (China time) or Z (UTC)'),
    ("full-width-date", "date", '"２０２６-03-01"', "２０２６-03-01",
     '"２０２６-03-01" has full-width or non-ASCII digits; write ASCII digits, as YYYY-MM-DD'),
    ("past-the-calendar", "date", '"9999-12-31T20:00:00-08:00"', "9999-12-31T20:00:00-08:00",
     '"9999-12-31T20:00:00-08:00" falls outside 0001-01-01 to 9999-12-31 in China time'),
    ("control-id", "id", '"B\\u0001"', "B\x01", '"B\\u0001" contains a control character (U+0001)'),
    ("long-id", "id", f'"{"B" * 201}"', "B" * 201, "is longer than 200 characters"),
    ("key-twice", "amount", "TWICE", None, TWICE),
]
BOUNDARIES = ["cli-csv", "cli-json", "cli-jsonl", "cli-ledger-file", "api-estimate", "api-transaction"]
FIELD_AT = {"cli-csv": "line 2.", "cli-json": "transactions[0].", "cli-jsonl": "line 1.",
            "cli-ledger-file": "transaction.", "api-estimate": "transactions[0].", "api-transaction": "transaction."}
GOOD = {"id": '"B-1"', "date": f'"{TODAY}"', "kind": '"compute_purchase"', "amount": '"1000.00"',
        "province": '"贵州省"', "city": '"贵阳市"'}


def tx_json(field: str, value: str) -> str:
    """The business as JSON text with `field` written as `value` (TWICE: a second, valid, `field` key)."""
    pairs = [(name, value if name == field and value != "TWICE" else text) for name, text in GOOD.items()]
    if value == "TWICE":
        pairs.append((field, '"1000000.00"'))
    return "{" + ", ".join(f'"{name}": {text}' for name, text in pairs) + "}"


def tx_csv(field: str, cell: str) -> str:
    row = [cell if name == field else json.loads(text) for name, text in GOOD.items()]
    return ",".join(GOOD) + "\n" + ",".join(row) + "\n"


def refused_by_cli(tmp_path, boundary: str, field: str, value: str, cell: str | None) -> str:
    """What the CLI printed (its single stderr line), having checked the exit status and standard output."""
    if boundary == "cli-csv":
        path = tmp_path / "t.csv"
        path.write_text(tx_csv(field, cell), encoding="utf-8")
        result = cli("estimate", "--profile", PROFILE, "--transactions", str(path))
    elif boundary in ("cli-json", "cli-jsonl"):
        path = tmp_path / ("t.json" if boundary == "cli-json" else "t.jsonl")
        text = tx_json(field, value)
        path.write_text(f"[{text}]" if boundary == "cli-json" else text + "\n", encoding="utf-8")
        result = cli("estimate", "--profile", PROFILE, "--transactions", str(path), "--json")
    else:
        db_path = tmp_path / "ledger.db"
        db = f"sqlite:///{db_path}"
        assert cli("ledger", "register", "--profile", PROFILE, db=db).exit_code == 0
        assert cli("ledger", "onboard", "gz-compute", "--kind", "platform", db=db).exit_code == 0
        before = sqlite_rows(str(db_path))
        path = tmp_path / "contract.json"
        path.write_text(tx_json(field, value), encoding="utf-8")
        result = cli("ledger", "issue", "--enterprise", CODE, "--transaction", str(path), "--platform", "gz-compute",
                     db=db)
        assert sqlite_rows(str(db_path)) == before, "nothing is written"
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    return result.stderr


MATRIX = [pytest.param(boundary, *case, id=f"{case[0]}-{boundary}") for case in CASES for boundary in BOUNDARIES
          if boundary != "cli-csv" or case[3] is not None]  # a CSV cell is text: no JSON numbers, no keys twice;
#                                                             and it may group thousands (tested below)


@pytest.mark.parametrize("boundary, case, field, value, cell, problem", MATRIX)
def test_each_bad_value_is_refused_alike_on_every_boundary(tmp_path, request, boundary, case, field, value, cell,
                                                           problem):
    where = FIELD_AT[boundary] + field
    if boundary.startswith("cli"):
        assert refused_by_cli(tmp_path, boundary, field, value, cell) == f"error: {where}: {problem}\n"
        return
    world = request.getfixturevalue("world")
    before = dump(world.ledger)
    if boundary == "api-estimate":
        body = '{"profile": %s, "transactions": [%s]}' % (json.dumps(profile(GUIYANG_A)), tx_json(field, value))
        r = world.client.post("/v1/estimates", data=body, headers={
            "Authorization": f"Bearer {world.keys['ent_a']}", "Content-Type": "application/json"})
    else:
        body = '{"enterprise": "%s", "transaction": %s}' % (GUIYANG_A, tx_json(field, value))
        r = world.client.post("/v1/transactions", data=body, headers={
            "Authorization": f"Bearer {world.keys['platform']}", "Content-Type": "application/json",
            "Idempotency-Key": f"bad-{case}"})
    assert r.status_code == 422, r.get_data(as_text=True)
    problem_json = r.get_json()
    assert (problem_json["field"], problem_json["errors"]) == (where, [{"field": where, "reason": problem}])
    assert dump(world.ledger) == before, "nothing is written"


def test_thousands_grouped_in_a_csv_file_people_make_are_read(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(tx_csv("amount", '"1,000,000.00"'), encoding="utf-8")
    data = json.loads(cli("estimate", "--profile", PROFILE, "--transactions", str(path), "--json").stdout)
    grant = next(g for g in data["grants"] if g["policy_id"] == "guizhou-compute-voucher")
    assert (grant["base"], grant["amount"]) == ("1000000.00", "30000.00")  # 1,000,000 × 3%


# --- no date breaks the service ---------------------------------------------------------------------

def six_months(day: date) -> date:
    """Guizhou's voucher: valid six months (Civil Code), or to 9999-12-31 where the calendar ends first."""
    return date.max if (day.year, day.month) >= (9999, 7) else day + relativedelta(months=6)


@given(st.dates())
@example(date(9999, 7, 1)).via("the first day whose six months pass the calendar")
@example(date(9999, 6, 30)).via("the last day whose six months fit")
@example(date(9999, 12, 31))
@example(date(1, 1, 1))
def test_expiry_is_capped_at_the_last_day_of_the_calendar(day):
    expires = expiry_date(day, 6)
    assert expires == six_months(day) and day <= expires <= date.max
    assert expiry_date(day, 0) == day


@given(st.dates())
@example(date(9999, 7, 1)).via("overflowed before the fix")
@example(date(9999, 12, 31))
@example(date(1, 1, 1))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_calculator_answers_for_any_date(table, day):
    enterprise = Enterprise.from_dict(json.loads(Path(PROFILE).read_text(encoding="utf-8")))
    tx = Transaction("C-1", day, "compute_purchase", D("1000000.00"), province="贵州省", city="贵阳市")
    result = estimate(table, enterprise, [tx])
    grants = {g.policy.id: g for g in result.grants}
    if day >= date(2024, 1, 1):  # Guizhou's window opens on 2024-01-01 and never closes
        grant = grants["guizhou-compute-voucher"]
        assert (grant.amount, grant.expires_on) == (D("30000.00"), six_months(day))
        capped = "would pass the calendar's last day: capped at it" in " ".join(grant.explain())
        assert capped == (day >= date(9999, 7, 1))
    else:
        assert "guizhou-compute-voucher" not in grants


def _estimate_body(day: str) -> dict:
    return {"profile": profile(GUIYANG_A), "transactions": [
        {"id": "C-1", "date": day, "kind": "compute_purchase", "amount": "1000000.00", "province": "贵州省",
         "city": "贵阳市"}]}


@given(st.dates())
@example(date(9999, 7, 1))
@example(date(9999, 12, 31))
@example(date(1, 1, 1))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_api_estimates_any_date(world, day):
    r = world.platform.post("/v1/estimates", _estimate_body(day.isoformat()))
    assert r.status_code == 200, r.get_data(as_text=True)
    grants = {g["policy_id"]: g for g in r.get_json()["grants"]}
    if day >= date(2024, 1, 1):
        assert grants["guizhou-compute-voucher"]["expires_on"] == six_months(day).isoformat()


@pytest.mark.parametrize("day, status", [
    ("0001-01-01T00:00:00+09:00", 422), ("9999-12-31T16:00:00Z", 422), ("9999-12-31T15:59:59Z", 200),
    ("0001-01-01T00:00:00+08:00", 200),
])
def test_a_timestamp_past_either_end_of_the_calendar_is_a_422(world, day, status):
    r = world.platform.post("/v1/estimates", _estimate_body(day))
    assert r.status_code == status, r.get_data(as_text=True)
    if status == 422:
        assert r.get_json()["field"] == "transactions[0].date"
        assert "falls outside 0001-01-01 to 9999-12-31 in China time" in r.get_json()["errors"][0]["reason"]


@given(st.dates())
@example(date(9999, 7, 1)).via("a traceback before the fix")
@example(date(9999, 12, 31))
@example(date(1, 1, 1))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_cli_estimates_any_date(tmp_path, day):
    path = tmp_path / "t.csv"
    path.write_text(f"id,date,kind,amount,province,city\nC-1,{day},compute_purchase,1000000.00,贵州省,贵阳市\n",
                    encoding="utf-8")
    result = cli("estimate", "--profile", PROFILE, "--transactions", str(path), "--json")
    assert result.exit_code == 0, result.output
    grants = {g["policy_id"]: g for g in json.loads(result.stdout)["grants"]}
    if day >= date(2024, 1, 1):
        assert grants["guizhou-compute-voucher"]["expires_on"] == six_months(day).isoformat()
    text = cli("estimate", "--profile", PROFILE, "--transactions", str(path), "--details")
    assert text.exit_code == 0 and (day >= date(9999, 7, 1)) == ("valid through 9999-12-31" in text.stdout)


def test_the_cli_says_which_date_is_past_the_calendar(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,date,kind,amount\nC-1,9999-12-31T23:00:00-01:00,compute_purchase,1.00\n", encoding="utf-8")
    result = cli("estimate", "--profile", PROFILE, "--transactions", str(path))
    assert (result.exit_code, result.stderr) == (1, 'error: line 2.date: "9999-12-31T23:00:00-01:00" falls outside '
                                                    "0001-01-01 to 9999-12-31 in China time\n")

