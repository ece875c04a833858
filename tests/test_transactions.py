"""Transaction readers: CSV, JSON and JSON Lines, each bad value named by line (or index) and field."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from voucher.errors import InputError, quote
from voucher.history import History
from voucher.readers import read_transactions
from voucher.transactions import (
    CHINA_TZ, FIELDS, KINDS, Transaction, parse_china_date, transaction_from_dict,
)

D = Decimal
HEADER = "id,date,kind,amount,role,province,city,platform,category,counterparty"
KIND_LIST = ", ".join(sorted(KINDS))
KNOWN_FIELDS = "id, date, kind, amount, role, province, city, platform, category, counterparty"

GY = Transaction("GY-1", date(2026, 1, 5), "data_purchase", D("6000000.00"), "demand", "贵州省", "贵阳市",
                 "贵阳大数据交易所", "", "某数据公司")
GZ = Transaction("GZ-2", date(2026, 2, 1), "compute_purchase", D("100.00"), "demand", "贵州省")
HB = Transaction("HB-3", date(2026, 4, 1), "technology_contract", D("12.50"), "buyer", "湖北省", "武汉市")


def read(text: str, fmt: str) -> list[Transaction]:
    return list(read_transactions(io.StringIO(text, newline=""), fmt))


def refused(text: str, fmt: str) -> InputError:
    with pytest.raises(InputError) as info:
        read(text, fmt)
    return info.value


GOOD_CSV = f"""{HEADER}
GY-1,2026-01-05,data_purchase,6000000.00,demand,贵州省,贵阳市,贵阳大数据交易所,,某数据公司
GZ-2,2026-02-01,compute_purchase,100,,贵州省,,,,
HB-3,2026-03-31T20:00:00Z,technology_contract,12.5,buyer,湖北省,武汉市,,,
"""

GOOD_ITEMS = [
    {"id": "GY-1", "date": "2026-01-05", "kind": "data_purchase", "amount": "6000000.00", "role": "demand",
     "province": "贵州省", "city": "贵阳市", "platform": "贵阳大数据交易所", "counterparty": "某数据公司"},
    {"id": "GZ-2", "date": "2026-02-01", "kind": "compute_purchase", "amount": "100", "province": "贵州省",
     "role": None},
    {"id": "HB-3", "date": "2026-03-31T20:00:00Z", "kind": "technology_contract", "amount": "12.5", "role": "buyer",
     "province": "湖北省", "city": "武汉市"},
]
GOOD_JSONL = "\n".join(json.dumps(item, ensure_ascii=False) for item in GOOD_ITEMS) + "\n"


# --- good input -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "fmt"), [
    (GOOD_CSV, "csv"),
    (GOOD_CSV.replace("\n", "\r\n"), "csv"),
    (json.dumps(GOOD_ITEMS, ensure_ascii=False), "json"),
    (json.dumps({"transactions": GOOD_ITEMS}, ensure_ascii=False, indent=2), "json"),
    ("\n  " + json.dumps(GOOD_ITEMS, indent=1), "json"),
    (GOOD_JSONL, "jsonl"),
    (GOOD_JSONL.replace("\n", "\r\n"), "jsonl"),
    ("\n" + GOOD_JSONL.replace("\n", "\n\n"), "jsonl"),  # blank lines are skipped
    (GOOD_JSONL, "json"),  # JSON Lines recognised when the format says json
])
def test_good_input(text, fmt):
    assert read(text, fmt) == [GY, GZ, HB]


def test_amounts_are_exact_decimals():
    txs = read(GOOD_JSONL, "jsonl")
    assert [t.amount for t in txs] == [D("6000000.00"), D("100.00"), D("12.50")]
    assert all(type(t.amount) is Decimal and t.amount.as_tuple().exponent == -2 for t in txs)


@pytest.mark.parametrize("raw", ["0.1", "0.29", "1e2", "100", "0", "1.10", "12345678901234.5"])
def test_json_numbers_are_refused_as_amounts(raw):
    # 0.29 or 123456789012.34 as a float would not be exact, and many JSON libraries make every number a
    # float: in JSON an amount is a decimal string, in files as in the API.
    text = '[{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": %s}]' % raw
    problem = NUMBER
    assert (refused(text, "json").field, refused(text, "json").problem) == ("transactions[0].amount", problem)
    assert (refused(text[1:-1] + "\n", "jsonl").field, refused(text[1:-1] + "\n", "jsonl").problem) == (
        "line 1.amount", problem)


def test_csv_columns_in_any_order_and_only_the_required_ones():
    text = "amount,kind,id,date\n7.5,compute_purchase,X-9,2026-06-30\n"
    assert read(text, "csv") == [Transaction("X-9", date(2026, 6, 30), "compute_purchase", D("7.50"))]


def test_csv_text_is_stripped_and_quoted_commas_kept():
    text = f'{HEADER}\n"A-1",2026-01-01,data_purchase,"1000",demand," 贵州省 ",,"平台, 一期",,\n'
    tx = read(text, "csv")[0]
    assert (tx.id, tx.province, tx.platform, tx.amount) == ("A-1", "贵州省", "平台, 一期", D("1000.00"))


def test_csv_with_a_byte_order_mark():
    # Excel and WPS save "CSV UTF-8" with a BOM before the header.
    assert read("\ufeff" + GOOD_CSV, "csv") == [GY, GZ, HB]


def test_json_with_a_byte_order_mark():
    assert read("\ufeff" + json.dumps(GOOD_ITEMS), "json") == [GY, GZ, HB]


def test_a_single_json_lines_record_read_as_json():
    assert read(json.dumps(GOOD_ITEMS[0], ensure_ascii=False) + "\n", "json") == [GY]


@pytest.mark.parametrize(("text", "fmt"), [(HEADER + "\n", "csv"), ("[]", "json"), ('{"transactions": []}', "json")])
def test_a_file_with_no_transactions(text, fmt):
    assert read(text, fmt) == []


@pytest.mark.parametrize(("text", "fmt", "problem"), [
    ("", "csv", f"the file is empty; the first line must be the header: {','.join(FIELDS)}"),
    ("", "json", "the file is empty; give a JSON array of transactions or JSON Lines"),
    ("  \n", "json", "the file is empty; give a JSON array of transactions or JSON Lines"),
    ("", "jsonl", "the file is empty; give one JSON object a line"),
    ("\n\n", "jsonl", "the file is empty; give one JSON object a line"),
])
def test_an_empty_file_is_refused(text, fmt, problem):
    err = refused(text, fmt)
    assert (err.field, err.problem) == ("line 1", problem)


def test_to_dict_round_trip():
    for tx in (GY, GZ, HB):
        data = tx.to_dict()
        assert data["amount"] == f"{tx.amount:.2f}" and data["date"] == tx.date.isoformat()
        assert list(data) == list(FIELDS)
        assert transaction_from_dict(data) == tx
    assert Transaction("a", date(2026, 12, 31), "bid_won", D("1.00")).year == 2026


# --- readers are lazy: rows before a bad one are yielded first ---------------------------------------

@pytest.mark.parametrize(("text", "fmt", "field"), [
    (GOOD_CSV + "Z-4,2026-01-01,data_purchase,abc,,,,,,\n", "csv", "line 5.amount"),
    (GOOD_JSONL + '{"id": "Z-4", "date": "2026-01-01", "kind": "data_purchase", "amount": "abc"}\n', "jsonl",
     "line 4.amount"),
])
def test_readers_stream(text, fmt, field):
    rows = read_transactions(io.StringIO(text), fmt)
    assert [next(rows) for _ in range(3)] == [GY, GZ, HB]
    with pytest.raises(InputError) as info:
        next(rows)
    assert info.value.field == field


# --- bad values, named by line and field -------------------------------------------------------------

@pytest.mark.parametrize(("amount", "problem"), [
    ("abc", '"abc" is not a decimal number (write it like 1234.56)'),
    ('"12,000"', None),  # grouped thousands are read in a CSV file people make
    ('"12,00"', '"12,00" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    ("1.234", '"1.234" has more than 2 decimal places'),
    ("-5", '"-5" is negative; an amount must be zero or more'),
    ("NaN", '"NaN" is not a decimal number (write it like 1234.56)'),
    ("1e999", '"1e999" has an exponent; write the digits out, like 1234.56'),
    ("10000000000000001", '"10000000000000001" is too large (at most 10^15)'),
    ("", "is required"),
    ("  ", '"  " is blank'),
    (" 100", '" 100" has spaces around it; write the number alone, like 1234.56'),
    ('"""100"""', '"\\"100\\"" is in quotes; write the number alone, like 1234.56'),  # quotes inside the cell
    ("'100", '"\'100" is in quotes; write the number alone, like 1234.56'),  # Excel's text prefix
    ("１０００", '"１０００" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
])
def test_bad_amount_on_csv_line_3(amount, problem):
    text = f"id,date,kind,amount\nA-1,2026-01-01,data_purchase,10\nA-2,2026-01-02,data_purchase,{amount}\n"
    if problem is None:
        assert read(text, "csv")[1].amount == D("12000.00")
        return
    err = refused(text, "csv")
    assert err.field == "line 3.amount"
    assert err.problem == problem
    assert err.message == f"line 3.amount: {problem}"


NUMBER = 'must be a decimal string such as "1234.56", not a JSON number (numbers lose cents in many JSON libraries)'


@pytest.mark.parametrize(("amount", "problem"), [
    ('"abc"', '"abc" is not a decimal number (write it like 1234.56)'),
    ("1.234", NUMBER),
    ("-5", NUMBER),
    ("1000", NUMBER),
    ("1e-1", NUMBER),
    ('"1e-1"', '"1e-1" has an exponent; write the digits out, like 1234.56'),
    ('"1,000.00"', '"1,000.00" has thousands separators; write 1234.56 (separators are read only in CSV files)'),
    ('"１０００"', '"１０００" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
    ('" 100 "', '" 100 " has spaces around it; write the number alone, like 1234.56'),
    ('"\'100\'"', '"\'100\'" is in quotes; write the number alone, like 1234.56'),
    ("true", 'must be a decimal string such as "1234.56", not true'),
    ("null", "is required"),
    ('""', "is required"),
    ("[1]", 'must be a decimal string such as "1234.56"'),
    ('{"yuan": 1}', 'must be a decimal string such as "1234.56"'),
])
@pytest.mark.parametrize(("fmt", "field"), [("json", "transactions[1].amount"), ("jsonl", "line 2.amount")])
def test_bad_amount_in_json(amount, problem, fmt, field):
    items = ['{"id": "A-1", "date": "2026-01-01", "kind": "data_purchase", "amount": "10"}',
             '{"id": "A-2", "date": "2026-01-02", "kind": "data_purchase", "amount": %s}' % amount]
    text = "[" + ",\n".join(items) + "]" if fmt == "json" else "\n".join(items) + "\n"
    err = refused(text, fmt)
    assert (err.field, err.problem) == (field, problem)


@pytest.mark.parametrize(("text", "fmt", "field"), [
    ('[{"id": "A", "date": "2026-01-01", "kind": "data_purchase", "amount": "1", "amount": "1000000"}]', "json",
     "transactions[0].amount"),
    ('{"transactions": [{"id": "A", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}, '
     '{"id": "B", "id": "C", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}]}', "json",
     "transactions[1].id"),
    ('{"transactions": [], "transactions": []}', "json", "transactions"),
    ('{"id": "A", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n'
     '{"id": "B", "date": "2026-01-01", "date": "2027-01-01", "kind": "data_purchase", "amount": "1"}\n', "jsonl",
     "line 2.date"),
    ('{"id": "A", "date": "2026-01-01", "kind": "data_purchase", "amount": "1", "kind": "bid_won"}\n', "json",
     "line 1.kind"),
])
def test_a_key_named_twice_is_refused_naming_it(text, fmt, field):
    # Python's json keeps the last value silently; here the reader cannot know which one was meant.
    err = refused(text, fmt)
    assert (err.field, err.problem) == (field, "is named twice in one object; give each key once")


@pytest.mark.parametrize("kind", ["data-purchase", "Data_Purchase", "compute", "subsidy"])
def test_unknown_kind_lists_the_kinds(kind):
    err = refused(f"id,date,kind,amount\nA-1,2026-01-01,{kind},10\n", "csv")
    assert err.field == "line 2.kind"
    assert err.problem == f"unknown kind {quote(kind)}; one of {KIND_LIST}"
    err = refused(json.dumps([{"id": "A-1", "date": "2026-01-01", "kind": kind, "amount": "1"}]), "json")
    assert (err.field, err.problem) == ("transactions[0].kind", f"unknown kind {quote(kind)}; one of {KIND_LIST}")


def test_kind_list_is_complete():
    assert KIND_LIST == ("annual_revenue, bid_won, compute_purchase, concept_verification_centre, "
                         "data_asset_booking_service, data_purchase, demo_project, honour, major_project, model_rd, "
                         "model_training, park_evaluation, platform_service, recognition, technology_contract")


@pytest.mark.parametrize(("text", "field", "problem"), [
    (f"{HEADER}\nA-1,2026-01-01,data_purchase,10,demand,贵州省,,,,\n"
     "A-2,2026-01-01,data_purchase,10,demand,贵州省,,,,,extra\n",
     "line 3", "has more cells than the header's 10"),
    ("id,date,kind,amount\nA-1,2026-01-01,data_purchase,10,5\n", "line 2", "has more cells than the header's 4"),
    ("id,date,kind,amount\nA-1,2026-01-01,data_purchase,10,\n", "line 2", "has more cells than the header's 4"),
    ("id,date,kind,amount\nA-1,2026-01-01,data_purchase\n", "line 2.amount",
     "missing: the row has 3 cells, the header 4"),
    (f"{HEADER}\nA-1,2026-01-01,data_purchase,10,demand\n", "line 2.province",
     "missing: the row has 5 cells, the header 10"),
    ("id,date,kind,amount,colour\nA-1,2026-01-01,data_purchase,10,red\n", "line 1.colour",
     f"unknown column; the columns are {','.join(FIELDS)}"),
    ("id,date,kind,amount,Amount\nA-1,2026-01-01,data_purchase,10,1\n", "line 1.Amount",
     f"unknown column; the columns are {','.join(FIELDS)}"),
    ("id,date,kind, amount\nA-1,2026-01-01,data_purchase,10\n", "line 1. amount",
     f"unknown column; the columns are {','.join(FIELDS)}"),
    ("id,date,kind,amount,id\nA-1,2026-01-01,data_purchase,10,B\n", "line 1.id", "is named twice in the header"),
    ("id,date,kind\nA-1,2026-01-01,data_purchase\n", "line 1", "the header lacks amount"),
    ("date,kind\n2026-01-01,data_purchase\n", "line 1", "the header lacks id, amount"),
    ("id,date,kind,amount\n   ,2026-01-01,data_purchase,1\n", "line 2.id", "is required"),
    ("id,date,kind,amount\nA\x01,2026-01-01,data_purchase,1\n", "line 2.id",
     '"A\\u0001" contains a control character (U+0001)'),
    (f"id,date,kind,amount\n{'x' * 201},2026-01-01,data_purchase,1\n", "line 2.id", "is longer than 200 characters"),
    ("id,date,kind,amount\nA-1,,data_purchase,1\n", "line 2.date", "is required"),
    ("id,date,kind,amount\nA-1,2026-01-01,,1\n", "line 2.kind", "is required"),
    ("id,date,kind,amount\nA-1,2026-02-30,data_purchase,1\n", "line 2.date",
     '"2026-02-30" is not a day of the calendar'),
    ("id,date,kind,amount\nA-1,31/03/2026,data_purchase,1\n", "line 2.date",
     '"31/03/2026" is not a date: write YYYY-MM-DD, or an ISO timestamp with its offset (2026-03-02T10:00:00+08:00)'),
    ("id,date,kind,amount\nA-1,20260302,data_purchase,1\n", "line 2.date",
     '"20260302" is not a date; write it as YYYY-MM-DD (2026-03-02)'),
    (f"id,date,kind,amount,counterparty\nA-1,2026-01-01,data_purchase,1,{'x' * 201}\n", "line 2.counterparty",
     "is longer than 200 characters"),
    ('id,date,kind,amount,counterparty\nA-1,2026-01-01,data_purchase,1,"' + "x" * 200_000 + '"\n', "line 2",
     "a cell is longer than 131,072 characters"),
    ("id,date,kind,amount\nA-1,2026-01-01,data_purchase,1\x00\n", "line 2.amount",
     '"1\\u0000" is not a decimal number (write it like 1234.56)'),
])
def test_bad_csv_rows(text, field, problem):
    err = refused(text, "csv")
    assert (err.field, err.problem) == (field, problem)


@pytest.mark.parametrize(("text", "field"), [
    # A blank line is skipped by the CSV reader but still counts: the bad row is on line 4.
    ("id,date,kind,amount\nA-1,2026-01-01,data_purchase,1\n\nA-2,2026-01-01,data_purchase,x\n", "line 4.amount"),
    ("id,date,kind,amount\n\n\nA-1,2026-01-01,data_purchase,x\n", "line 4.amount"),
    # A quoted cell that spans two lines: the next record starts on line 4.
    ('id,date,kind,amount,counterparty\nA-1,2026-01-01,data_purchase,1,"某公司\n二部"\nA-2,2026-01-01,data_purchase,x,\n',
     "line 4.amount"),
    # The record itself spans lines 2-3: named by the line it starts on.
    ('id,date,kind,amount,counterparty\nA-1,2026-01-01,data_purchase,x,"某公司\n二部"\n', "line 2.amount"),
])
def test_csv_line_numbers_are_lines_of_the_file(text, field):
    assert refused(text, "csv").field == field


@pytest.mark.parametrize(("text", "fmt", "field", "problem"), [
    ('[{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}, 5]', "json", "transactions[1]",
     "must be an object"),
    ('{"transactions": 5}', "json", "transactions", "must be a list"),
    ('{"transactions": {"id": "a"}}', "json", "transactions", "must be a list"),
    ("5", "json", "input", "JSON input must start with [ or {"),
    ('"a"', "json", "input", "JSON input must start with [ or {"),
    ('[{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}, {"id": 7, "date": "2026-01-01", '
     '"kind": "data_purchase", "amount": "1"}]', "json", "transactions[1].id", "must be a string"),
    ('[{"id": "a", "date": 20260101, "kind": "data_purchase", "amount": "1"}]', "json", "transactions[0].date",
     "must be a date string YYYY-MM-DD"),
    ('[{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1", "rate": 0.03}]', "json",
     "transactions[0].rate", f"unknown field; known fields: {KNOWN_FIELDS}"),
    ('[{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1", "role": ["demand"]}]', "json",
     "transactions[0].role", "must be a string"),
    ('{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n[1]\n', "jsonl", "line 2",
     "must be an object"),
    ('{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n{"id": "b", "date": "2026-01-01", '
     '"kind": "bid", "amount": "1"}\n', "jsonl", "line 2.kind", f'unknown kind "bid"; one of {KIND_LIST}'),
    ('\n\n{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n{"id": "b", "date": '
     '"2026-01-01", "kind": "data_purchase", "amount": "x"}\n', "json", "line 4.amount",
     '"x" is not a decimal number (write it like 1234.56)'),
    ('{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "x"}\n', "json", "line 1.amount",
     '"x" is not a decimal number (write it like 1234.56)'),
])
def test_bad_json(text, fmt, field, problem):
    err = refused(text, fmt)
    assert (err.field, err.problem) == (field, problem)


@pytest.mark.parametrize(("text", "fmt", "field", "start"), [
    ('[{"id": "a"', "json", "input", "not valid JSON: "),
    ("{not json}", "json", "input", "not valid JSON: "),
    ('{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n{broken\n', "jsonl", "line 2",
     "not valid JSON: "),
    ('{"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "1"}\n{broken\n', "json", "line 2",
     "not valid JSON: "),
])
def test_invalid_json(text, fmt, field, start):
    err = refused(text, fmt)
    assert err.field == field
    assert err.problem.startswith(start)


# --- dates: China's calendar day ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-31T20:00:00Z", date(2026, 4, 1)),
    ("2026-03-31T20:00:00+00:00", date(2026, 4, 1)),
    ("2026-03-31 20:00:00Z", date(2026, 4, 1)),
    ("2026-03-31T15:59:59Z", date(2026, 3, 31)),
    ("2026-03-31T16:00:00Z", date(2026, 4, 1)),
    ("2026-03-31T23:59:59+08:00", date(2026, 3, 31)),
    ("2026-04-01T00:00:00+08:00", date(2026, 4, 1)),
    ("2026-04-01T00:30:00+09:00", date(2026, 3, 31)),
    ("2026-04-01T01:00:00+09:00", date(2026, 4, 1)),
    ("2026-12-31T17:00:00-08:00", date(2027, 1, 1)),  # the year changes: it counts for 2027
    ("2026-01-01T07:59:59+00:00", date(2026, 1, 1)),
    ("2025-12-31T23:00:00+00:00", date(2026, 1, 1)),
    ("2026-03-31T20:00+08:00", date(2026, 3, 31)),
    ("2026-03-31T20:00:00.123456Z", date(2026, 4, 1)),
    ("2026-03-31", date(2026, 3, 31)),
    ("2024-02-29", date(2024, 2, 29)),
    ("0001-01-01", date(1, 1, 1)),
    ("9999-12-31", date(9999, 12, 31)),
    ("0001-01-01T00:00:00+08:00", date(1, 1, 1)),
    ("9999-12-31T15:59:59Z", date(9999, 12, 31)),
    (date(2026, 3, 31), date(2026, 3, 31)),
    (datetime(2026, 3, 31, 20, tzinfo=timezone.utc), date(2026, 4, 1)),
    (datetime(2026, 3, 31, 20, tzinfo=CHINA_TZ), date(2026, 3, 31)),
    (datetime(2026, 3, 31, 12, tzinfo=timezone(timedelta(hours=-12))), date(2026, 4, 1)),
])
def test_parse_china_date(value, expected):
    assert parse_china_date(value, "date") == expected


FORMS = "YYYY-MM-DD, or an ISO timestamp with its offset (2026-03-02T10:00:00+08:00)"


@pytest.mark.parametrize(("value", "problem"), [
    ("2026-02-30", '"2026-02-30" is not a day of the calendar'),
    ("2025-02-29", '"2025-02-29" is not a day of the calendar'),
    ("0000-01-01", '"0000-01-01" is not a day of the calendar'),
    ("2026/03/31", f'"2026/03/31" is not a date: write {FORMS}'),
    ("yesterday", f'"yesterday" is not a date: write {FORMS}'),
    ("2026-3-1", f'"2026-3-1" is not a date: write {FORMS}'),
    ("10000-01-01", f'"10000-01-01" is not a date: write {FORMS}'),
    ("2026-03-31T25:00:00Z", '"2026-03-31T25:00:00Z" is not a moment of the calendar'),
    ("20260302", '"20260302" is not a date; write it as YYYY-MM-DD (2026-03-02)'),
    ("2026-03-31T20:00:00", '"2026-03-31T20:00:00" has no offset; add +08:00 (China time) or Z (UTC)'),
    (" 2026-03-31 ", '" 2026-03-31 " has spaces around it; write the date alone, as YYYY-MM-DD'),
    ("'2026-03-31'", '"\'2026-03-31\'" is in quotes; write the date alone, as YYYY-MM-DD'),
    ("２０２６-03-31", '"２０２６-03-31" has full-width or non-ASCII digits; write ASCII digits, as YYYY-MM-DD'),
    ("0001-01-01T00:00:00+09:00", '"0001-01-01T00:00:00+09:00" falls outside 0001-01-01 to 9999-12-31 in China time'),
    ("9999-12-31T17:00:00Z", '"9999-12-31T17:00:00Z" falls outside 0001-01-01 to 9999-12-31 in China time'),
    ("", f'"" is not a date: write {FORMS}'),
    (datetime(2026, 3, 31, 20), "a timestamp needs its offset"),
    (20260331, "must be a date string YYYY-MM-DD"),
    (None, "must be a date string YYYY-MM-DD"),
])
def test_parse_china_date_refuses(value, problem):
    with pytest.raises(InputError) as info:
        parse_china_date(value, "line 9.date")
    assert (info.value.field, info.value.problem) == ("line 9.date", problem)


def test_timestamps_in_each_format_land_on_the_china_day():
    csv_text = "id,date,kind,amount\nA,2026-03-31T20:00:00Z,data_purchase,1\nB,2026-12-31T17:00:00-08:00,bid_won,2\n"
    items = [{"id": "A", "date": "2026-03-31T20:00:00Z", "kind": "data_purchase", "amount": "1"},
             {"id": "B", "date": "2026-12-31T17:00:00-08:00", "kind": "bid_won", "amount": "2"}]
    for text, fmt in ((csv_text, "csv"), (json.dumps(items), "json"),
                      ("\n".join(map(json.dumps, items)) + "\n", "jsonl")):
        txs = read(text, fmt)
        assert [(t.id, t.date, t.year) for t in txs] == [("A", date(2026, 4, 1), 2026), ("B", date(2027, 1, 1), 2027)]


def test_transaction_from_dict_names_its_place():
    with pytest.raises(InputError) as info:
        transaction_from_dict({"id": "a", "date": "2026-01-01", "kind": "data_purchase", "amount": "x"})
    assert info.value.field == "transaction.amount"
    with pytest.raises(InputError) as info:
        transaction_from_dict([], "transactions[4]")
    assert (info.value.field, info.value.problem) == ("transactions[4]", "must be an object")


@pytest.mark.parametrize(("data", "field", "problem"), [
    ([], "history", "must be an object"),
    ({"granted": ["x"]}, "history.granted[0].policy_id", "is required"),
    ({"granted": [{"year": 2026, "amount": "1.00"}]}, "history.granted[0].policy_id", "is required"),
    ({"granted": [{"policy_id": "p", "year": "2026", "amount": "1.00"}]}, "history.granted[0].year",
     "must be an integer year"),
    ({"granted": [{"policy_id": "p", "year": True, "amount": "1.00"}]}, "history.granted[0].year",
     "must be an integer year"),
    ({"pool_used": [{"year": 2026}]}, "history.pool_used[0].policy_id", "is required"),
    ({"pool_used": [{"policy_id": "p", "year": 2026, "amount": "1.00", "awards": -1}]}, "history.pool_used[0].awards",
     "must be a whole number of awards"),
    ({"pool_used": [{"policy_id": "p", "year": 2026, "amount": "1.00", "awards": True}]},
     "history.pool_used[0].awards", "must be a whole number of awards"),
], ids=["not-object", "row-not-object", "no-policy", "year-text", "year-bool", "pool-no-policy", "negative-awards",
        "bool-awards"])
def test_a_history_names_the_row_and_field_it_refuses(data, field, problem):
    with pytest.raises(InputError) as info:
        History.from_dict(data)
    assert (info.value.field, info.value.problem) == (field, problem)


def test_a_history_reads_grants_and_pool_use():
    h = History.from_dict({"granted": [{"policy_id": "p", "year": 2026, "amount": "1000.50"},
                                       {"policy_id": "p", "year": 2026, "amount": "0.50"}],
                           "pool_used": [{"policy_id": "q", "year": 2026, "amount": "300.00", "awards": 2}]})
    assert h.granted_year[("p", 2026)] == Decimal("1001.00") and h.claims["p"] == 2
    assert (h.pool_used[("q", 2026)], h.pool_awards[("q", 2026)]) == (Decimal("300.00"), 2)
