"""Exact money: strict parsing, rounding to the fen by a named rule, and the printed forms."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from voucher.errors import InputError, VoucherError, quote
from voucher.money import (
    FEN, MAX_YUAN, ROUNDING_MODES, ZERO, fmt_wan, fmt_yuan, parse_decimal, parse_money, parse_rate, plain,
    rounding_mode, round_to_fen,
)

D = Decimal


# --- parse_money: what it accepts -------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("123.45", D("123.45")),
    ("0", D("0.00")),
    ("0.00", D("0.00")),
    ("0.5", D("0.50")),
    (D("7.1"), D("7.10")),
    (D("2000000"), D("2000000.00")),
    ("1.2", D("1.20")),
    ("1000000000000000", MAX_YUAN),  # exactly 10^15 is the largest amount
    ("999999999999999.99", D("999999999999999.99")),
])
def test_parse_money_accepts(value, expected):
    amount = parse_money(value, "amount")
    assert amount == expected
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -2, "always quantized to the fen"
    assert str(amount) == str(expected.quantize(FEN))


@pytest.mark.parametrize(("value", "expected"), [
    ("1,000,000.00", D("1000000.00")),
    ("1,000", D("1000.00")),
    ("999", D("999.00")),
    ("12,345.6", D("12345.60")),
    ("1000000.00", D("1000000.00")),  # grouping is allowed, not required
    ("999,999,999,999,999.99", D("999999999999999.99")),
])
def test_grouped_thousands_are_read_where_grouping_is_allowed(value, expected):
    assert parse_money(value, "line 2.amount", grouping=True) == expected


@pytest.mark.parametrize(("value", "problem"), [
    ("1,00", '"1,00" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    ("100,0000", '"100,0000" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    ("1,000,00.00", '"1,000,00.00" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    (",100", '",100" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    ("0,100", '"0,100" has thousands separators in the wrong places (write 1,234,567.89 or 1234567.89)'),
    ("1,000.001", '"1,000.001" has more than 2 decimal places'),
    (" 1,000 ", '" 1,000 " has spaces around it; write the number alone, like 1234.56'),
])
def test_grouped_thousands_must_be_grouped_correctly(value, problem):
    with pytest.raises(InputError) as info:
        parse_money(value, "line 2.amount", grouping=True)
    assert (info.value.field, info.value.problem) == ("line 2.amount", problem)


@pytest.mark.parametrize("value", ["-0", "-0.00", D("-0")])
def test_parse_money_negative_zero_is_plain_zero(value):
    # -0 is not negative, but must not come back as Decimal('-0.00') and print as "-0.00".
    amount = parse_money(value, "amount")
    assert amount == 0
    assert str(amount) == "0.00"
    assert plain(amount) == "0.00"
    assert not amount.is_signed()


# --- parse_money: what it refuses, with the field and the problem named -----------------------------

JSON_NUMBER = ('must be a decimal string such as "1234.56", not a JSON number '
               "(numbers lose cents in many JSON libraries)")
NOT_A_NUMBER = "is not a decimal number (write it like 1234.56)"


@pytest.mark.parametrize(("value", "problem"), [
    (0.1, JSON_NUMBER),
    (5.0, JSON_NUMBER),
    (float("nan"), JSON_NUMBER),
    (5, JSON_NUMBER),  # an integer too: in JSON, amounts are strings
    (10 ** 15, JSON_NUMBER),
    (True, 'must be a decimal string such as "1234.56", not true'),
    (False, 'must be a decimal string such as "1234.56", not false'),
    (None, 'must be a decimal string such as "1234.56"'),
    ([1], 'must be a decimal string such as "1234.56"'),
    (b"12", 'must be a decimal string such as "1234.56"'),
    ("NaN", f'"NaN" {NOT_A_NUMBER}'),
    ("nan", f'"nan" {NOT_A_NUMBER}'),
    ("inf", f'"inf" {NOT_A_NUMBER}'),
    ("-Infinity", f'"-Infinity" {NOT_A_NUMBER}'),
    (D("NaN"), "NaN is not a finite number"),
    (D("Infinity"), "Infinity is not a finite number"),
    ("1e3", '"1e3" has an exponent; write the digits out, like 1234.56'),
    ("1e-1", '"1e-1" has an exponent; write the digits out, like 1234.56'),
    ("1.5E2", '"1.5E2" has an exponent; write the digits out, like 1234.56'),
    ("1e999", '"1e999" has an exponent; write the digits out, like 1234.56'),
    (D("1E+16"), "1E+16 is too large (at most 10^15)"),
    ("10000000000000001", '"10000000000000001" is too large (at most 10^15)'),
    ("1000000000000000.01", '"1000000000000000.01" is too large (at most 1,000,000,000,000,000 yuan)'),
    ("1.234", '"1.234" has more than 2 decimal places'),
    ("0.001", '"0.001" has more than 2 decimal places'),
    ("1.230", '"1.230" has more than 2 decimal places'),  # as written: the API's pattern says the same
    (D("0.005"), "0.005 has more than 2 decimal places"),
    ("-5", '"-5" is negative; an amount must be zero or more'),
    ("-0.01", '"-0.01" is negative; an amount must be zero or more'),
    ("1,000", '"1,000" has thousands separators; write 1234.56 (separators are read only in CSV files)'),
    ("1 000", f'"1 000" {NOT_A_NUMBER}'),
    ("1_000", f'"1_000" {NOT_A_NUMBER}'),
    ("¥100", f'"¥100" {NOT_A_NUMBER}'),
    ("100元", f'"100元" {NOT_A_NUMBER}'),
    ("0x10", f'"0x10" {NOT_A_NUMBER}'),
    ("", "is empty"),
    ("   ", '"   " is blank'),
    (".", f'"." {NOT_A_NUMBER}'),
    (".5", f'".5" {NOT_A_NUMBER}'),
    ("12.", f'"12." {NOT_A_NUMBER}'),
    ("--5", f'"--5" {NOT_A_NUMBER}'),
    ("+5", '"+5" has a sign; write the number alone, like 1234.56'),
    ("007", '"007" has leading zeros; write it like 1234.56'),
    ("１０００", '"１０００" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
    ("1000．00", '"1000．00" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),
    ("١٠٠", '"١٠٠" has full-width or non-ASCII digits; write ASCII digits 0-9, like 1234.56'),  # Arabic-Indic
    (" 100 ", '" 100 " has spaces around it; write the number alone, like 1234.56'),
    ("100\n", '"100\\u000a" has spaces around it; write the number alone, like 1234.56'),
    ("\u3000100", '"\\u3000100" has spaces around it; write the number alone, like 1234.56'),
    ('"100"', '"\\"100\\"" is in quotes; write the number alone, like 1234.56'),
    ("'100'", '"\'100\'" is in quotes; write the number alone, like 1234.56'),
    ("“100”", '"“100”" is in quotes; write the number alone, like 1234.56'),
    ("1" * 61, f'"{"1" * 40}…" {NOT_A_NUMBER}'),
])
def test_parse_money_refuses(value, problem):
    with pytest.raises(InputError) as info:
        parse_money(value, "transactions[3].amount")
    err = info.value
    assert err.field == "transactions[3].amount"
    assert err.problem == problem
    assert err.message == f"transactions[3].amount: {problem}"
    assert str(err) == err.message
    assert isinstance(err, ValueError) and isinstance(err, VoucherError)
    assert err.code == "invalid_input"
    assert err.to_dict() == {"code": "invalid_input", "message": err.message, "field": "transactions[3].amount"}
    assert "Decimal(" not in problem and "'" + str(value) + "'" not in problem  # never a Python repr


@pytest.mark.parametrize("field", ["amount", "line 7.amount", "history.granted[0].amount"])
def test_parse_money_error_names_the_field_given(field):
    with pytest.raises(InputError) as info:
        parse_money("abc", field)
    assert info.value.field == field
    assert info.value.message.startswith(f"{field}: ")


@pytest.mark.parametrize(("value", "kwargs", "ok"), [
    ("0", {}, True),
    ("0", {"allow_zero": True}, True),
    ("0", {"positive": True}, False),
    ("0.00", {"allow_zero": False}, False),
    ("0.01", {"positive": True}, True),
    ("0.01", {"allow_zero": False}, True),
])
def test_parse_money_zero(value, kwargs, ok):
    if ok:
        assert parse_money(value, "amount", **kwargs) == D(value)
    else:
        with pytest.raises(InputError) as info:
            parse_money(value, "amount", **kwargs)
        assert (info.value.field, info.value.problem) == ("amount", "must be more than zero")


# --- parse_decimal / parse_rate ---------------------------------------------------------------------

@pytest.mark.parametrize(("value", "places", "expected"), [
    ("0.001", None, D("0.001")),
    ("0.123456789012", None, D("0.123456789012")),
    ("0.0010", 4, D("0.0010")),
    ("3", 0, D(3)),
])
def test_parse_decimal_keeps_the_exact_value(value, places, expected):
    got = parse_decimal(value, "x", places=places)
    assert got == expected and str(got) == str(expected)


@pytest.mark.parametrize(("value", "expected"), [
    ("0", D("0")),
    ("1", D("1")),
    ("0.03", D("0.03")),
    ("0.001", D("0.001")),
    (D("0.08"), D("0.08")),
    ("1.0000000000", D("1")),
    ("0.0000000001", D("1E-10")),  # ten places is the finest rate
])
def test_parse_rate_accepts(value, expected):
    rate = parse_rate(value, "rate")
    assert rate == expected
    assert isinstance(rate, Decimal)


@pytest.mark.parametrize(("value", "problem"), [
    ("1.01", '"1.01" must be between 0 and 1 (3% is written 0.03)'),
    ("1.0000000001", '"1.0000000001" must be between 0 and 1 (3% is written 0.03)'),
    ("3", '"3" must be between 0 and 1 (3% is written 0.03)'),
    ("-0.01", '"-0.01" must be between 0 and 1 (3% is written 0.03)'),
    ("0.00000000001", '"0.00000000001" has more than 10 decimal places'),
    ("0.000000000100", '"0.000000000100" has more than 10 decimal places'),
    (0.03, 'must be a decimal string such as "0.2", not a JSON number (numbers lose cents in many JSON libraries)'),
    (2, 'must be a decimal string such as "0.2", not a JSON number (numbers lose cents in many JSON libraries)'),
    (True, 'must be a decimal string such as "0.2", not true'),
    ("3%", '"3%" is not a decimal number (write it like 0.2)'),
    ("2e-1", '"2e-1" has an exponent; write the digits out, like 0.2'),
    ("０.2", '"０.2" has full-width or non-ASCII digits; write ASCII digits 0-9, like 0.2'),
    (" 0.2", '" 0.2" has spaces around it; write the number alone, like 0.2'),
    ("NaN", '"NaN" is not a decimal number (write it like 0.2)'),
    (D("NaN"), "NaN is not a finite number"),
])
def test_parse_rate_refuses(value, problem):
    with pytest.raises(InputError) as info:
        parse_rate(value, "parameters.hangzhou.rate")
    assert info.value.field == "parameters.hangzhou.rate"
    assert info.value.problem == problem


@pytest.mark.parametrize(("value", "shown"), [
    (" 100 ", '" 100 "'), ("a\x00b", '"a\\u0000b"'), ("x\u200b", '"x\\u200b"'), ("\ud800", '"\\ud800"'),
    ('say "hi"', '"say \\"hi\\""'), (D("1.50"), "1.50"), (None, "null"), (True, "true"), ("１０", '"１０"'),
    (["a", "b"], '["a", "b"]'), (frozenset({"b", "a"}), '["a", "b"]'), ("x" * 50, '"' + "x" * 40 + '…"'),
])
def test_quote_shows_what_was_sent_never_a_repr(value, shown):
    assert quote(value) == shown


# --- rounding ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "mode", "expected"), [
    ("0.005", decimal.ROUND_HALF_UP, "0.01"),
    ("0.0049999", decimal.ROUND_HALF_UP, "0.00"),
    ("123456.78905", decimal.ROUND_HALF_UP, "123456.79"),
    ("123456.785", decimal.ROUND_HALF_UP, "123456.79"),
    ("2.675", decimal.ROUND_HALF_UP, "2.68"),  # 2.675 is exact here; as a float it would round to 2.67
    ("-0.005", decimal.ROUND_HALF_UP, "-0.01"),
    ("0.125", decimal.ROUND_HALF_EVEN, "0.12"),
    ("0.135", decimal.ROUND_HALF_EVEN, "0.14"),
    ("0.1251", decimal.ROUND_HALF_EVEN, "0.13"),
    ("1.999", decimal.ROUND_DOWN, "1.99"),
    ("0.009", decimal.ROUND_DOWN, "0.00"),
    ("1.99", decimal.ROUND_DOWN, "1.99"),
    ("7", decimal.ROUND_HALF_UP, "7.00"),
    ("1E+3", decimal.ROUND_HALF_UP, "1000.00"),
    ("999999999999999.995", decimal.ROUND_HALF_UP, "1000000000000000.00"),
    ("1000000000000000", decimal.ROUND_DOWN, "1000000000000000.00"),
])
def test_to_fen(amount, mode, expected):
    got = round_to_fen(D(amount), mode)
    assert str(got) == expected


def test_to_fen_default_is_half_up():
    assert str(round_to_fen(D("0.005"))) == "0.01"
    assert str(round_to_fen(D("0.015"))) == "0.02"


def test_to_fen_of_a_rate_product_is_exact():
    # 1‰ of 123,456,789.05 is 123,456.78905: half up gives .79; a float product would not be exact.
    assert round_to_fen(D("123456789.05") * D("0.001")) == D("123456.79")
    assert round_to_fen(D("66666666.67") * D("0.03")) == D("2000000.00")


# What each mode a policy file may name does to the amounts that tell them apart, worked by hand:
# 0.005 is half a fen (half up: 0.01; half even: 0.00, 0 is even; down: 0.00); 0.015 (0.02, 0.02 — 2 is
# even —, 0.01); 2.675 (2.68, 2.68, 2.67); -0.005 away from zero, to even, toward zero; 0.0149 is below half.
ROUNDED = {  # amount: (ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN)
    "0.005": ("0.01", "0.00", "0.00"),
    "0.015": ("0.02", "0.02", "0.01"),
    "2.675": ("2.68", "2.68", "2.67"),
    "-0.005": ("-0.01", "0.00", "0.00"),
    "0.0149": ("0.01", "0.01", "0.01"),
    "123456.78905": ("123456.79", "123456.79", "123456.78"),
}


@pytest.mark.parametrize(("column", "name"), list(enumerate(["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"])))
def test_rounding_mode(column, name):
    mode = rounding_mode(name)
    assert {amount: round_to_fen(D(amount), mode) for amount in ROUNDED} == {
        amount: D(expected[column]) for amount, expected in ROUNDED.items()}
    assert sorted(ROUNDING_MODES) == sorted(["ROUND_HALF_UP", "ROUND_HALF_EVEN", "ROUND_DOWN"])  # no others


@pytest.mark.parametrize("name", ["ROUND_UP", "half_up", "", "ROUND_CEILING"])
def test_rounding_mode_unknown(name):
    with pytest.raises(InputError) as info:
        rounding_mode(name)
    assert info.value.field == "rounding"
    assert info.value.problem == f"unknown rounding {quote(name)}; one of ROUND_HALF_UP, ROUND_HALF_EVEN, ROUND_DOWN"


# --- printed forms ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("amount", "expected"), [
    ("1234567.8", "1,234,567.80"),
    ("0", "0.00"),
    ("0.005", "0.01"),
    ("999.999", "1,000.00"),
    ("2000000", "2,000,000.00"),
    ("1000000000000000", "1,000,000,000,000,000.00"),
    ("1E+3", "1,000.00"),
])
def test_fmt_yuan(amount, expected):
    assert fmt_yuan(D(amount)) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    ("2000000", "200万元"),
    ("2000000.00", "200万元"),
    ("123456.79", "12.345679万元"),
    ("1234567.8", "123.45678万元"),
    ("10000", "1万元"),
    ("20000", "2万元"),
    ("100000000", "10,000万元"),  # 1亿
    ("50000000", "5,000万元"),
    ("0.01", "0.000001万元"),
    ("1", "0.0001万元"),
    ("0", "0万元"),
    ("12345678901.23", "1,234,567.890123万元"),
    ("123456.785", "12.345679万元"),  # rounded to the fen first (half up)
])
def test_fmt_wan(amount, expected):
    assert fmt_wan(D(amount)) == expected


@pytest.mark.parametrize(("amount", "expected"), [
    ("1E+3", "1000.00"),
    ("2.5", "2.50"),
    ("0", "0.00"),
    ("0.005", "0.01"),
    ("1234567.8", "1234567.80"),
    ("1000000000000000", "1000000000000000.00"),
    ("1E+15", "1000000000000000.00"),
    ("0.0000001", "0.00"),
])
def test_plain(amount, expected):
    assert plain(D(amount)) == expected


def test_constants():
    assert FEN == D("0.01")
    assert ZERO == 0 and str(ZERO) == "0.00"
    assert MAX_YUAN == D(10) ** 15
