"""The `voucher` command: policies and estimates here; ledger, audit and keys in `cli_ledger`.

A thin shell over the library, as sqlite-utils' cli.py is over db.py: each command parses
its options, calls one library function, and prints a table or, with --json, JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
from tqdm import tqdm

from voucher.calculator import Calculation, stream
from voucher.enterprise import Enterprise
from voucher.errors import InputError, VoucherError
from voucher.history import History
from voucher.money import fmt_wan, fmt_yuan, parse_decimal, plain
from voucher.policy import PolicyTable, load_policies
from voucher.transactions import read_transactions


def _json_value(value: object) -> str:
    """Amounts leave as plain decimal strings (two places), dates as ISO dates; never as floats."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))


def fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


def table_or_fail(directory: str | None) -> PolicyTable:
    policies, errors = load_policies(directory)
    if errors:
        raise click.ClickException("the policy table has errors:\n" + "\n".join(f"  {e}" for e in errors))
    return PolicyTable(policies)


def read_json_file(path: str, what: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f, parse_float=Decimal)
    except OSError as exc:
        raise click.ClickException(f"{what}: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{what}: {path} is not valid JSON: {exc}") from None


def parse_params(values: tuple[str, ...]) -> dict[str, dict[str, Decimal]]:
    """--param hangzhou-compute-voucher.rate=0.2 → {"hangzhou-compute-voucher": {"rate": Decimal("0.2")}}."""
    params: dict[str, dict[str, Decimal]] = {}
    for item in values:
        key, sep, value = item.partition("=")
        policy_id, dot, name = key.rpartition(".")
        if not sep or not dot or name not in ("rate", "amount"):
            raise click.BadParameter(f"{item!r}: write POLICY.rate=0.2 or POLICY.amount=10000", param_hint="--param")
        try:
            params.setdefault(policy_id, {})[name] = parse_decimal(value, f"--param {key}", places=10)
        except InputError as exc:
            raise click.BadParameter(exc.problem, param_hint=f"--param {key}") from None
    return params


@click.group()
@click.version_option(package_name="voucher")
@click.option("--policies", "policy_dir", envvar="VOUCHER_POLICIES", type=click.Path(file_okay=False),
              help="Policy table directory (default: policies/ of this checkout).")
@click.pass_context
def main(ctx: click.Context, policy_dir: str | None) -> None:
    """Subsidy and voucher calculator for China's data-economy incentive policies."""
    ctx.obj = {"policy_dir": policy_dir}


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--on", "on_date", type=click.DateTime(["%Y-%m-%d"]), help="Only policies in force on this date.")
@click.pass_context
def policies(ctx: click.Context, as_json: bool, on_date) -> None:
    """List the policy table (or `policies show ID`)."""
    if ctx.invoked_subcommand:
        return
    table = table_or_fail(ctx.obj["policy_dir"])
    rows = table.in_force_on(on_date.date()) if on_date else list(table)
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
        click.echo(f"eligibility: {cond.field} {cond.op} {cond.value!r}  ({cond.clause})")
    for note in p.interpretation:
        click.echo(f"interpretation: {note}")


@main.command()
@click.option("--profile", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Enterprise profile (JSON).")
@click.option("--transactions", "tx_path", required=True, type=click.Path(exists=True, allow_dash=True, dir_okay=False),
              help="Transactions: CSV, JSON or JSON Lines (by extension; '-' is standard input).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "jsonl"]), help="Input format if not by extension.")
@click.option("--history", "history_path", type=click.Path(exists=True, dir_okay=False),
              help="What was granted before (JSON), so caps count it.")
@click.option("--param", "params", multiple=True, metavar="POLICY.rate=VALUE",
              help="A value the source leaves to an administrator, e.g. hangzhou-compute-voucher.rate=0.2.")
@click.option("--include-drafts", is_flag=True, help="Also apply draft policies (征求意见稿).")
@click.option("--details", is_flag=True, help="Explain every grant.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (with every grant).")
@click.pass_context
def estimate(ctx, profile, tx_path, fmt, history_path, params, include_drafts, details, as_json) -> None:
    """Estimate what an enterprise's transactions earn under every policy."""
    table = table_or_fail(ctx.obj["policy_dir"])
    try:
        enterprise = Enterprise.from_dict(read_json_file(profile, "--profile"))
        history = History.from_dict(read_json_file(history_path, "--history")) if history_path else None
    except InputError as exc:
        fail(exc)
    fmt = fmt or {".csv": "csv", ".jsonl": "jsonl"}.get(Path(tx_path).suffix.lower(), "json")
    calc = Calculation(table, enterprise, history=history, parameters=parse_params(params),
                       include_drafts=include_drafts)
    keep = as_json or details
    grants = []
    source = sys.stdin if tx_path == "-" else open(tx_path, encoding="utf-8", newline="")
    with source as stream_in:
        txs = tqdm(read_transactions(stream_in, fmt), unit=" tx", disable=not sys.stderr.isatty(),
                   desc="estimating", leave=False)
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
