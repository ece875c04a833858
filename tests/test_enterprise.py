"""Enterprises: the unified social credit code (GB 32100-2015) and the profile read from JSON."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voucher.enterprise import (
    ROLES, USCC_CHARSET, USCC_WEIGHTS, Enterprise, uscc_check_char, validate_credit_code,
)
from voucher.errors import InputError, quote

# Codes published by real enterprises (on their business licences and in public registries).
REAL_CODES = ["91350100M000100Y43", "91110000600037341L"]
GOOD = "91350100M000100Y43"


def refusal(value, field="credit_code"):
    with pytest.raises(InputError) as info:
        validate_credit_code(value, field)
    assert info.value.field == field
    return info.value.problem


# --- the standard's constants -----------------------------------------------------------------------

def test_charset_is_31_characters_without_i_o_z_s_v():
    assert len(USCC_CHARSET) == 31
    assert len(set(USCC_CHARSET)) == 31
    assert not set("IOZSV") & set(USCC_CHARSET)
    assert set(USCC_CHARSET) == set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") - set("IOZSV")


def test_weights_are_powers_of_3_mod_31():
    assert USCC_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


# --- valid codes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    assert validate_credit_code(code) == code
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(("value", "expected"), [
    ("91350100m000100y43", "91350100M000100Y43"),
    ("91110000600037341l", "91110000600037341L"),
    ("  91350100M000100Y43\n", "91350100M000100Y43"),  # spaces around an id are not part of it
])
def test_lower_case_and_whitespace_are_normalised(value, expected):
    assert validate_credit_code(value) == expected


def test_check_char_31_is_written_0():
    # Find a 17-character body whose weighted sum is 0 mod 31: the check character is '0', not '31'.
    body = "9111000060003734"
    for c in USCC_CHARSET:
        if sum(USCC_CHARSET.index(x) * w for x, w in zip(body + c, USCC_WEIGHTS)) % 31 == 0:
            break
    assert uscc_check_char(body + c) == "0"
    assert validate_credit_code(body + c + "0") == body + c + "0"


# --- refusals, each naming the problem ---------------------------------------------------------------

@pytest.mark.parametrize(("last", "given"), [(c, c) for c in "0124ABY"] + [("x", "X")])
def test_wrong_check_character_names_the_expected_one(last, given):
    code = GOOD[:17] + last
    assert refusal(code) == f"{quote(code)} has check character {quote(given)}; GB 32100-2015 gives \"3\""


@pytest.mark.parametrize("code", REAL_CODES)
def test_every_other_check_character_is_refused(code):
    for c in USCC_CHARSET:
        if c == code[17]:
            continue
        bad = code[:17] + c
        assert refusal(bad, "enterprise.credit_code") == (
            f"{quote(bad)} has check character {quote(c)}; GB 32100-2015 gives {quote(code[17])}")


@pytest.mark.parametrize("value", [GOOD[:17], GOOD + "0", "", "9", GOOD[:10], GOOD + GOOD])
def test_wrong_length(value):
    assert refusal(value) == f"{quote(value)} has {len(value)} characters; a unified social credit code has 18"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_forbidden_letters(letter):
    code = GOOD[:9] + letter + GOOD[10:]  # position 10, in the organisation code
    assert refusal(code) == f"{quote(code)} contains {quote(letter)}, not allowed by GB 32100-2015"


@pytest.mark.parametrize(("code", "listed"), [
    ("91350100M00010OY4I", '"I", "O"'),
    ("91350100M000100Y4-", '"-"'),
    ("91350100M000100Y4 3", None),  # 19 characters: the length is checked first
    ("91350100M0001 0Y43", '" "'),
    ("91350100M000100Y4３", '"３"'),  # a full-width digit is not in the charset
    ("91350100m00010oy43", '"O"'),  # lower-case letters are upper-cased before the check
])
def test_characters_outside_the_charset_are_listed(code, listed):
    problem = refusal(code)
    if listed is None:
        assert problem == f"{quote(code)} has 19 characters; a unified social credit code has 18"
    else:
        assert problem == f"{quote(code)} contains {listed}, not allowed by GB 32100-2015"


@pytest.mark.parametrize("code", ["91A50100M000100Y43", "9135010AM000100Y43", "91B5C100M000100Y43"])
def test_division_code_must_be_digits(code):
    assert refusal(code) == f"{quote(code)}: characters 3-8 must be the administrative division code (digits)"


@pytest.mark.parametrize("value", [None, 913501, ["91350100M000100Y43"], b"91350100M000100Y43"])
def test_not_a_string(value):
    assert refusal(value) == "must be an 18-character unified social credit code"


# --- property: the check character is the only one accepted -----------------------------------------

_charset = st.sampled_from(USCC_CHARSET)
_bodies = st.tuples(
    st.text(USCC_CHARSET, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6),
    st.text(USCC_CHARSET, min_size=9, max_size=9),
).map("".join)


@settings(max_examples=300, deadline=None)
@given(body=_bodies, other=_charset)
def test_appending_the_check_char_gives_a_valid_code_and_nothing_else_does(body, other):
    assert len(body) == 17
    check = uscc_check_char(body)
    assert check in USCC_CHARSET
    assert validate_credit_code(body + check) == body + check
    assert validate_credit_code((body + check).lower()) == body + check
    if other != check:
        with pytest.raises(InputError) as info:
            validate_credit_code(body + other)
        assert info.value.problem == (
            f"{quote(body + other)} has check character {quote(other)}; GB 32100-2015 gives {quote(check)}")


@settings(max_examples=200, deadline=None)
@given(body=_bodies, position=st.integers(0, 16), replacement=_charset)
def test_a_single_substitution_is_always_detected(body, position, replacement):
    # Each weight is invertible mod 31, so changing one character always changes the check character.
    code = body + uscc_check_char(body)
    changed = code[:position] + replacement + code[position + 1:]
    if changed == code or (2 <= position <= 7 and not replacement.isdigit()):
        return
    with pytest.raises(InputError):
        validate_credit_code(changed)


# --- Enterprise.from_dict ---------------------------------------------------------------------------

def test_from_dict_full():
    e = Enterprise.from_dict({
        "credit_code": "91350100m000100y43", "name": "贵阳某数据公司", "province": "贵州省", "city": "贵阳市",
        "registered_province": "贵州省", "local_tax": True, "roles": ["demand", "data_provider", "demand"],
        "sme": True, "legal_person": True, "operating": True, "data_assets_booked": False,
        "exchange_certified": True, "recognitions": ["little_giant"],
    })
    assert e.credit_code == "91350100M000100Y43"
    assert e.roles == frozenset({"demand", "data_provider"})
    assert e.recognitions == frozenset({"little_giant"})
    assert (e.local_tax, e.sme, e.exchange_certified, e.data_assets_booked) == (True, True, True, False)
    assert e.to_dict() == {
        "credit_code": "91350100M000100Y43", "name": "贵阳某数据公司", "province": "贵州省", "city": "贵阳市",
        "registered_province": "贵州省", "local_tax": True, "roles": ["data_provider", "demand"], "sme": True,
        "legal_person": True, "operating": True, "data_assets_booked": False, "exchange_certified": True,
        "recognitions": ["little_giant"],
    }
    assert Enterprise.from_dict(e.to_dict()) == e


def test_from_dict_defaults():
    e = Enterprise.from_dict({"credit_code": GOOD})
    assert e == Enterprise(GOOD)
    assert (e.local_tax, e.legal_person, e.operating, e.exchange_certified) == (False, True, True, False)
    assert e.roles == frozenset() and e.recognitions == frozenset()


@pytest.mark.parametrize(("data", "field", "problem"), [
    ({"credit_code": GOOD, "colour": "red"}, "enterprise.colour", "unknown field"),
    ({"credit_code": GOOD, "Local_tax": True}, "enterprise.Local_tax", "unknown field"),
    ({"credit_code": GOOD, "zz": 1, "aa": 2}, "enterprise.aa", "unknown field"),  # the first, sorted
    ({}, "enterprise.credit_code", "must be an 18-character unified social credit code"),
    ({"credit_code": GOOD[:17] + "4"}, "enterprise.credit_code",
     '"91350100M000100Y44" has check character "4"; GB 32100-2015 gives "3"'),
    ({"credit_code": GOOD, "roles": ["demand", "buyerr"]}, "enterprise.roles",
     'unknown role "buyerr"; one of ' + ", ".join(sorted(ROLES))),
    ({"credit_code": GOOD, "roles": ["Demand"]}, "enterprise.roles",
     'unknown role "Demand"; one of ' "buyer, completing_unit, compute_provider, data_provider, demand, "
     "developer, platform, service_provider, transfer_institution"),
    ({"credit_code": GOOD, "roles": "demand"}, "enterprise.roles", "must be a list of strings"),
    ({"credit_code": GOOD, "roles": [1]}, "enterprise.roles", "must be a list of strings"),
    ({"credit_code": GOOD, "roles": None}, "enterprise.roles", "must be a list of strings"),
    ({"credit_code": GOOD, "roles": 5}, "enterprise.roles", "must be a list of strings"),
    ({"credit_code": GOOD, "roles": {"demand": True}}, "enterprise.roles", "must be a list of strings"),
    ({"credit_code": GOOD, "recognitions": "little_giant"}, "enterprise.recognitions", "must be a list of strings"),
    ({"credit_code": GOOD, "recognitions": None}, "enterprise.recognitions", "must be a list of strings"),
    ({"credit_code": GOOD, "local_tax": "yes"}, "enterprise.local_tax", "must be true or false"),
    ({"credit_code": GOOD, "local_tax": 1}, "enterprise.local_tax", "must be true or false"),
    ({"credit_code": GOOD, "sme": "true"}, "enterprise.sme", "must be true or false"),
    ({"credit_code": GOOD, "legal_person": None}, "enterprise.legal_person", "must be true or false"),
    ({"credit_code": GOOD, "operating": 0}, "enterprise.operating", "must be true or false"),
    ({"credit_code": GOOD, "data_assets_booked": "no"}, "enterprise.data_assets_booked", "must be true or false"),
    ({"credit_code": GOOD, "exchange_certified": []}, "enterprise.exchange_certified", "must be true or false"),
    ({"credit_code": GOOD, "name": 5}, "enterprise.name", "must be a string"),
    ({"credit_code": GOOD, "city": None}, "enterprise.city", "must be a string"),
    ({"credit_code": GOOD, "province": ["贵州省"]}, "enterprise.province", "must be a string"),
    ({"credit_code": GOOD, "registered_province": False}, "enterprise.registered_province", "must be a string"),
])
def test_from_dict_refusals(data, field, problem):
    with pytest.raises(InputError) as info:
        Enterprise.from_dict(data)
    assert info.value.field == field
    assert info.value.problem == problem
    assert info.value.message == f"{field}: {problem}"


@pytest.mark.parametrize("data", [None, [], "91350100M000100Y43", 5])
def test_from_dict_needs_an_object(data):
    with pytest.raises(InputError) as info:
        Enterprise.from_dict(data)
    assert (info.value.field, info.value.problem) == ("enterprise", "must be an object")


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_known_role_is_accepted(role):
    assert Enterprise.from_dict({"credit_code": GOOD, "roles": [role]}).roles == {role}
