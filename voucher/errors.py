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
