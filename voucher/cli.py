"""The `voucher` command: policies and estimates here; ledger, audit and keys in `cli_ledger`.

A thin shell over the library, as sqlite-utils' cli.py is over db.py: each command parses
its options, calls one library function, and prints a table or, with --json, JSON.
"""

from __future__ import annotations

import errno
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from tqdm import tqdm

from voucher.calculator import Calculation, stream
from voucher.enterprise import Enterprise, validate_credit_code
from voucher.errors import InputError, VoucherError, quote
from voucher.history import History
from voucher.money import fmt_wan, fmt_yuan, plain
from voucher.policy import PolicyTable, load_policies
from voucher.readers import open_text, read_transactions
from voucher.transactions import load_json, parse_china_date, parse_id


def _json_value(value: object) -> str:
    """Amounts leave as plain decimal strings (two places), dates as ISO dates; never as floats."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))


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


@click.group(cls=VoucherGroup)
@click.version_option(package_name="voucher")
@click.option("--policies", "policy_dir", envvar="VOUCHER_POLICIES", type=click.Path(file_okay=False),
              help="Policy table directory (default: policies/ of this checkout).")
@click.pass_context
def main(ctx: click.Context, policy_dir: str | None) -> None:
    """Subsidy and voucher calculator for China's data-economy incentive policies."""
    ctx.obj = {"policy_dir": policy_dir}


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--on", "on_date", type=DATE, help="Only policies in force on this date (YYYY-MM-DD).")
@click.pass_context
def policies(ctx: click.Context, as_json: bool, on_date) -> None:
    """List the policy table (or `policies show ID`)."""
    if ctx.invoked_subcommand:
        return
    table = table_or_fail(ctx.obj["policy_dir"])
    rows = table.in_force_on(on_date) if on_date else list(table)
    if as_json:
        emit_json([p.summary() for p in rows])
        return
    for p in rows:
        draft = " [draft]" if p.status == "draft" else ""
        click.echo(f"{p.id:<38} {p.name_zh}{draft}\n{'':<38} {p.name_en}; {p.window_text()}")


@policies.command("show")
@click.argument("policy_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def policies_show(ctx: click.Context, policy_id: str, as_json: bool) -> None:
    """Show one policy with the clause it implements."""
    table = table_or_fail(ctx.obj["policy_dir"])
    try:
        p = table.get(policy_id)
    except VoucherError as exc:
        fail(exc)
    detail = p.detail()
    if as_json:
        emit_json(detail)
        return
    click.echo(f"{p.id}  v{p.version}  ({p.status})\n{p.name_zh} / {p.name_en}\n{p.authority}: {p.document}")
    click.echo(f"window: {p.window_text()}\n\nclause:\n  {p.clause}\n")
    for key in ("formula", "threshold", "caps", "voucher", "stacking"):
        if detail[key]:
            click.echo(f"{key}: {json.dumps(detail[key], ensure_ascii=False, default=_json_value)}")
    for cond in p.eligibility:
        click.echo(f"eligibility: {cond.field} {cond.op} {quote(cond.value)}  ({cond.clause})")
    for note in p.interpretation:
        click.echo(f"interpretation: {note}")


@main.command()
@click.option("--profile", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Enterprise profile (JSON).")
@click.option("--transactions", "tx_path", required=True, type=click.Path(exists=True, allow_dash=True, dir_okay=False),
              help="Transactions: CSV, JSON or JSON Lines (by extension; '-' is standard input).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), help="Input format if not by extension.")
@click.option("--encoding", help="The file's text encoding (default: UTF-8, with or without a BOM, else GB18030/GBK, "
                                 "detected).")
@click.option("--history", "history_path", type=click.Path(exists=True, dir_okay=False),
              help="What was granted before (JSON), so caps count it.")
@click.option("--param", "params", multiple=True, metavar="POLICY.rate=VALUE",
              help="A value the source leaves to an administrator, e.g. hangzhou-compute-voucher.rate=0.2.")
@click.option("--include-drafts", is_flag=True, help="Also apply draft policies (征求意见稿).")
@click.option("--details", is_flag=True, help="Explain every grant.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with every grant).")
@click.pass_context
def estimate(ctx, profile, tx_path, fmt, encoding, history_path, params, include_drafts, details, as_json) -> None:
    """Estimate what an enterprise's transactions earn under every policy.

    Nothing is printed until every transaction has been read: a bad value stops the
    estimate with one line naming its line and field, and exit status 1.
    """
    table = table_or_fail(ctx.obj["policy_dir"])
    parameters = parse_params(params, table)
    try:
        enterprise = Enterprise.from_dict(read_json_file(profile, "--profile", "enterprise"))
        history = History.from_dict(read_json_file(history_path, "--history", "history")) if history_path else None
    except InputError as exc:
        fail(exc)
    fmt = fmt or {".csv": "csv", ".jsonl": "jsonl"}.get(Path(tx_path).suffix.lower(), "json")
    calc = Calculation(table, enterprise, history=history, parameters=parameters, include_drafts=include_drafts)
    keep = as_json or details
    grants = []
    binary = sys.stdin.buffer if tx_path == "-" else open(tx_path, "rb", buffering=1 << 16)
    with binary:
        txs = tqdm(read_transactions(open_text(binary, encoding), fmt), unit=" tx",
                   disable=not sys.stderr.isatty(), desc="estimating", leave=False)
        try:
            for grant in stream(calc, txs):
                if keep:
                    grants.append(grant)
        except InputError as exc:
            fail(exc)
    result = calc.estimate(grants)
    if as_json:
        data = result.to_dict()
        data["enterprise"] = enterprise.credit_code
        data["as_of"] = date.today().isoformat()
        emit_json(data)
        return
    print_estimate(result, details)


def print_estimate(result, details: bool) -> None:
    click.echo(f"{result.transactions} transactions\n")
    click.echo(f"{'policy':<36} {'amount (yuan)':>18} {'万元':>14}  grants")
    for r in result.results:
        if r.applies:
            click.echo(f"{r.policy.id:<36} {fmt_yuan(r.amount):>18} {fmt_wan(r.amount):>14}  {r.grants}")
    click.echo(f"{'total':<36} {fmt_yuan(result.total):>18} {fmt_wan(result.total):>14}\n")
    click.echo("not applied:")
    for r in result.results:
        for reason in r.reasons():
            click.echo(f"  {r.policy.id}: {reason}")
    for kind, n in sorted(result.unmatched.items()):
        click.echo(f"  {n} transaction(s) of kind {kind}: no policy applies to that kind")
    if details:
        for grant in result.grants:
            click.echo("")
            for line in grant.explain():
                click.echo(f"  {line}")


def _register_ledger_commands() -> None:
    from voucher import cli_ledger, keys  # they import this module: registered once `main` exists

    cli_ledger.register(main)
    keys.register(main)


_register_ledger_commands()

if __name__ == "__main__":
    main()
