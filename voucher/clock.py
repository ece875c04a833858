"""The ledger's clock: the real time in China, or a fixed moment named by $VOUCHER_NOW.

A fixed clock is for demonstrations and for the test that runs the README's commands as
written: their dates (a contract of 20 November, a voucher valid for six months) only
work out on the day they were written for. Never set it on a ledger that serves users:
every entry would carry that moment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime

from voucher.errors import InputError

ENV = "VOUCHER_NOW"
_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:[0-9]{2}|Z)")


def clock_from_env(environ: dict | None = None) -> Callable[[], datetime] | None:
    """A clock stopped at $VOUCHER_NOW (an ISO time with its offset), or None for the real time."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not value:
        return None
    if not _MOMENT.fullmatch(value):
        raise InputError(ENV, "must be an ISO time with its offset, like 2026-11-20T10:00:00+08:00")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return lambda: moment
