"""What every `voucher` command shares: one-line errors, strict option types, JSON out, and the ledger
commands' plumbing (open the ledger at --db, run one step as --actor, print or --json/--get the result).

The command modules (`cli`, `cli_ledger`, `cli_changes`, `cli_audit`, and `keys`) import from here
and never from each other, so the command line has no import cycle.
"""

from __future__ import annotations

import errno
import getpass
import json
from datetime import date
from decimal import Decimal

import click

from voucher.enterprise import validate_credit_code
from voucher.errors import InputError, VoucherError, quote
from voucher.ledger import Ledger
from voucher.money import plain
from voucher.policy import PolicyTable, load_policies
from voucher.transactions import load_json, parse_china_date, parse_id


def json_value(value: object) -> str:
    """Amounts leave as plain decimal strings (two places), dates as ISO dates; never as floats."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=json_value))


class CliError(click.ClickException):
    """One line on standard error, `error: <field>: <problem>`, and a non-zero exit: never a traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message.splitlines()[0] if message.strip() else "failed")
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", err=True)


def one_line(exc: BaseException) -> str:
    """What went wrong, for `error: ...`: the field and the problem, or the file and the reason."""
    if isinstance(exc, VoucherError):
        return exc.message
    if isinstance(exc, UnicodeDecodeError):
        return f"input: is not {exc.encoding.upper()} text (byte {exc.start + 1} of a line cannot be read)"
    if isinstance(exc, OSError):
        where = exc.filename or "input"
        return f"{where}: {exc.strerror or exc}"
    return str(exc)


class VoucherGroup(click.Group):
    """The top-level group: whatever bad input gets past a command's own checks ends as one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # `voucher ... | head`: click exits quietly
                raise
            raise CliError(one_line(exc)) from None
        except (VoucherError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise CliError(one_line(exc)) from None
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise CliError(f"--db: the ledger's database cannot be used: {exc}") from None


def _is_database_error(exc: Exception) -> bool:
    """sqlite3's or psycopg's: a server that does not answer, a file that cannot be opened."""
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.Error)


def fail(exc: Exception) -> None:
    raise CliError(one_line(exc))


def table_or_fail(directory: str | None) -> PolicyTable:
    policies, errors = load_policies(directory)
    if errors:
        raise click.ClickException("the policy table has errors:\n" + "\n".join(f"  {e}" for e in errors))
    return PolicyTable(policies)


def read_json_file(path: str, what: str, root: str) -> object:
    """A JSON file named by an option (--profile, --history, --transaction), read by the one strict parser.

    A key named twice is reported at `root` (enterprise, history, transaction): the name the
    library gives the file's values, so `transaction.amount` names it whichever way it is wrong.
    """
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
    except OSError as exc:
        raise CliError(f"{what}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CliError(f"{what}: {path} is not UTF-8 text (JSON is always UTF-8)") from None
    try:
        return load_json(text, root)
    except InputError as exc:
        raise CliError(f"{what}: {exc.problem}" if exc.field == root else exc.message) from None


class _Parsed(click.ParamType):
    """An option or argument read by the library's own parser; a bad value is one line, exit 2."""

    def __init__(self, name: str, parse) -> None:
        self.name, self.parse = name, parse

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value
        label = param.opts[0] if param is not None and param.param_type_name == "option" else \
            (param.human_readable_name if param is not None else self.name)
        try:
            return self.parse(value, label)
        except InputError as exc:
            raise CliError(exc.message, exit_code=2) from None


DATE = _Parsed("date", parse_china_date)
"""YYYY-MM-DD (or a timestamp with its offset), as on every other boundary."""
CREDIT_CODE = _Parsed("credit_code", validate_credit_code)
BUSINESS_ID = _Parsed("id", parse_id)
INVOICE = _Parsed("invoice", lambda value, field: parse_id(value, field, max_length=100))
PARTY = _Parsed("party", lambda value, field: parse_id(value, field, max_length=100, party=True))


def _whole(value: str, field: str, low: int, high: int, what: str) -> int:
    """ASCII digits only: click's int type takes " 7", "+7", "7_0" and full-width "７"."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19) or not low <= int(value) <= high:
        raise InputError(field, f"{quote(value)} is not {what}")
    return int(value)


YEAR = _Parsed("year", lambda value, field: _whole(value, field, 1, 9999, "a year (1 to 9999)"))
COUNT = _Parsed("count", lambda value, field: _whole(value, field, 0, 2**62, "a whole number"))


def parse_params(values: tuple[str, ...], table: PolicyTable) -> dict[str, dict[str, Decimal]]:
    """--param hangzhou-compute-voucher.rate=0.2 → {"hangzhou-compute-voucher": {"rate": Decimal("0.2")}}.

    The policy must be in the table and the name one its source leaves to an administrator,
    as `voucher ledger set-parameter` requires: a typo is refused, not silently ignored.
    """
    params: dict[str, dict[str, Decimal]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        policy_id, dot, name = key.rpartition(".")
        if not sep or not dot:
            raise CliError(f"--param {key}: write POLICY.rate=0.2 or POLICY.amount=10000", exit_code=2)
        try:
            params.setdefault(policy_id, {})[name] = table.parameter(policy_id, name, value, f"--param {key}")
        except InputError as exc:
            raise CliError(exc.message, exit_code=2) from None
    return params


def ledger_of(ctx: click.Context) -> Ledger:
    from voucher.clock import clock_from_env
    from voucher.store import open_store

    obj = ctx.find_root().obj
    if "ledger" not in obj:
        try:
            obj["ledger"] = Ledger(open_store(obj.get("db")), table_or_fail(obj.get("policy_dir")), clock_from_env())
        except VoucherError as exc:
            raise CliError(str(exc)) from None
        ctx.call_on_close(obj["ledger"].close)
    return obj["ledger"]


def run_step(ctx: click.Context, step, *args, **kwargs) -> None:
    """Run one ledger step; a refusal is printed with its reason and exits 1, having written nothing."""
    try:
        result = step(*args, **kwargs)
    except InputError as exc:  # bad input, named as the command spells it: --amount, not amount
        raise CliError(f"{as_spelt(ctx, exc.field)}: {exc.problem}") from None
    except VoucherError as exc:
        click.echo(f"refused: {exc.message}", err=True)
        ctx.exit(1)
    show(ctx, result)


def as_spelt(ctx: click.Context, field: str) -> str:
    """A library field (`amount`, `policy_id.rate`) as the command line names it (`--amount`, `--policy`)."""
    head, sep, rest = field.partition(".")
    for param in ctx.command.params:
        if param.name == head:
            label = param.opts[0] if param.param_type_name == "option" else param.human_readable_name
            return label + sep + rest
    return field


def show(ctx: click.Context, data: object) -> None:
    path = ctx.find_root().obj.get("get")
    if path:
        click.echo(pick_value(data, path))
    elif ctx.find_root().obj.get("json"):
        emit_json(data)
    else:
        show_lines(data, 0)


def show_lines(data: object, depth: int) -> None:
    pad = "  " * depth
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, (dict, list)) and value:
                click.echo(f"{pad}{name}:")
                show_lines(value, depth + 1)
            else:
                click.echo(f"{pad}{name}: {'' if value is None or value == {} or value == [] else value}")
    else:
        for item in data:
            if isinstance(item, (dict, list)):
                click.echo(f"{pad}-")
                show_lines(item, depth + 1)
            else:
                click.echo(f"{pad}- {item}")


def pick_value(data: object, path: str, flag: str = "--get") -> object:
    """One value of a result by its dotted path (`voucher.id`, `vouchers.0.id`), for shell scripts."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            raise click.UsageError(f"{flag} {path}: the result has no {quote(part)}")
    return "" if data is None else data


def _remember_json(ctx: click.Context, param, value: bool) -> None:
    if value:
        ctx.find_root().obj["json"] = True


def _remember_get(ctx: click.Context, param, value: str | None) -> None:
    if value:
        ctx.find_root().obj["get"] = value


def json_option(command):
    """--json on every command: the machine-readable form of its result; --get one value of it."""
    command = click.option("--get", "get_path", metavar="PATH", expose_value=False, callback=_remember_get,
                           help="Print only this value of the result (e.g. id, voucher.id, vouchers.0.id).")(command)
    return click.option("--json", is_flag=True, expose_value=False, callback=_remember_json,
                        help="Machine-readable output.")(command)


def actor_of(ctx: click.Context) -> str:
    return ctx.find_root().obj.get("actor") or f"admin:{getpass.getuser()}"


def day_or_none(value) -> date | None:
    return value or None


