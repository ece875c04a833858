"""Enterprises, keyed by the unified social credit code (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voucher.errors import InputError, quote

CreditCode = str

# GB 32100-2015: 31 characters, the Latin letters I, O, Z, S and V left out.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

ROLES = frozenset({"demand", "compute_provider", "data_provider", "service_provider", "platform",
                   "buyer", "completing_unit", "transfer_institution", "developer"})


def uscc_check_char(first17: str) -> str:
    """The 18th character: C18 = 31 - (Σ Ci·Wi mod 31), with 31 written as '0'."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: object, field: str = "credit_code") -> CreditCode:
    """Return the code in upper case, or raise naming what is wrong with it."""
    if not isinstance(value, str):
        raise InputError(field, "must be an 18-character unified social credit code")
    code = value.strip().upper()
    if len(code) != 18:
        raise InputError(field, f"{quote(value)} has {len(code)} characters; a unified social credit code has 18")
    bad = sorted({c for c in code if c not in USCC_CHARSET})
    if bad:
        raise InputError(field, f"{quote(value)} contains {', '.join(map(quote, bad))}, not allowed by "
                                "GB 32100-2015")
    if not code[2:8].isdigit():
        raise InputError(field, f"{quote(value)}: characters 3-8 must be the administrative division code (digits)")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InputError(field, f"{quote(value)} has check character {quote(code[17])}; GB 32100-2015 gives "
                                f"{quote(expected)}")
    return code


@dataclass(frozen=True, slots=True)
class Enterprise:
    """What eligibility needs to know about an enterprise.

    Attributes:
        credit_code: the unified social credit code, validated.
        name: registered name.
        province: province where it operates (e.g. 贵州省).
        city: city or district where it operates and pays tax (e.g. 贵阳市).
        registered_province: province of its legal registration.
        local_tax: pays tax in `city` (本地纳税).
        roles: the roles it plays (demand, compute_provider, data_provider, ...).
        sme: a small or medium-sized enterprise (中小企业).
        legal_person: an independent legal person (独立法人).
        operating: operating normally (正常经营).
        data_assets_booked: has already booked data assets (已实现数据资产入表).
        exchange_certified: certified to trade on the local data exchange (通过认证).
        recognitions: titles held (e.g. fuzhou_leader, little_giant).
    """

    credit_code: CreditCode
    name: str = ""
    province: str = ""
    city: str = ""
    registered_province: str = ""
    local_tax: bool = False
    roles: frozenset[str] = field(default_factory=frozenset)
    sme: bool = False
    legal_person: bool = True
    operating: bool = True
    data_assets_booked: bool = False
    exchange_certified: bool = False
    recognitions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_dict(cls, data: dict) -> Enterprise:
        if not isinstance(data, dict):
            raise InputError("enterprise", "must be an object")
        known = set(cls.__slots__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"enterprise.{unknown[0]}", "unknown field")
        values = dict(data)
        values["credit_code"] = validate_credit_code(data.get("credit_code"), "enterprise.credit_code")
        for name in ("name", "province", "city", "registered_province"):
            if not isinstance(values.get(name, ""), str):
                raise InputError(f"enterprise.{name}", "must be a string")
        for name in ("local_tax", "sme", "legal_person", "operating", "data_assets_booked", "exchange_certified"):
            if name in values and not isinstance(values[name], bool):
                raise InputError(f"enterprise.{name}", "must be true or false")
        for name in ("roles", "recognitions"):
            items = values.get(name, [])
            if not isinstance(items, (list, tuple, set, frozenset)) or not all(isinstance(i, str) for i in items):
                raise InputError(f"enterprise.{name}", "must be a list of strings")
            values[name] = frozenset(items)
        bad_roles = sorted(values["roles"] - ROLES)
        if bad_roles:
            raise InputError("enterprise.roles",
                             f"unknown role {quote(bad_roles[0])}; one of {', '.join(sorted(ROLES))}")
        return cls(**values)

    def to_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["roles"] = sorted(self.roles)
        data["recognitions"] = sorted(self.recognitions)
        return data
