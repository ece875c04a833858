"""One error hierarchy for the domain; `api/errors.py` maps each class to an HTTP status."""

from __future__ import annotations


class VoucherError(Exception):
    """Base of every refusal the service explains to its caller."""

    code = "voucher_error"

    def __init__(self, message: str, *, field: str | None = None, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.context = context

    def to_dict(self) -> dict:
        body: dict = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update({k: str(v) for k, v in self.context.items()})
        return body


class InputError(VoucherError, ValueError):
    """A value that cannot be accepted; names the field and the problem."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", field=field)
        self.problem = problem


class PolicyInvalid(VoucherError):
    """A policy file that does not follow the policy schema."""

    code = "policy_invalid"


class NotFound(VoucherError):
    """A policy, voucher, enterprise or entry that does not exist."""

    code = "not_found"


class Conflict(VoucherError):
    """A step the current state forbids: a cap, a pool, a lifecycle order, a duplicate claim."""

    code = "conflict"


class CapReached(Conflict):
    """A cap or a shared budget would be exceeded."""

    code = "cap_reached"


class Forbidden(VoucherError):
    """The actor may not take this step (wrong role, someone else's voucher, four-eyes rule)."""

    code = "forbidden"


def quote(value: object, limit: int = 40) -> str:
    """A value as an error message shows it: text in double quotes, numbers and dates as written.

    Never a Python repr (`Decimal('1.5')`, `'a\\x00'`): people read these messages, in a
    terminal or a problem+json body. Control, format (zero-width) and surrogate characters
    are escaped as \\uXXXX so that what is invisible is seen; long text is cut at `limit`.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return "[" + ", ".join(quote(item, limit) for item in items) + "]"
    if not isinstance(value, str):
        return str(value)
    text = value if len(value) <= limit else value[:limit] + "…"
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable() or ch == " " or ch == "…":
            out.append(ch)
        else:  # control, format (zero-width, BOM), surrogate, line and paragraph separators
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'
