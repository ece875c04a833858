"""The `voucher` command: policies and estimates here; ledger, changes, audit and keys in their own modules.

A thin shell over the library, as sqlite-utils' cli.py is over db.py: each command parses
its options, calls one library function, and prints a table or, with --json, JSON.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from tqdm import tqdm

from voucher.calculator import estimate as run_estimate
from voucher.cli_audit import audit
from voucher.cli_ledger import ledger, pick
from voucher.cli_support import (
    DATE,
    VoucherGroup,
    emit_json,
    fail,
    json_value,
    parse_params,
    read_json_file,
    table_or_fail,
)
from voucher.enterprise import Enterprise
from voucher.errors import InputError, VoucherError, quote
from voucher.history import History
from voucher.keys import keys_cli
from voucher.money import fmt_wan, fmt_yuan
from voucher.readers import open_text, read_transactions


@click.group(cls=VoucherGroup)
@click.version_option(package_name="voucher")
@click.option("--policies", "policy_dir", envvar="VOUCHER_POLICIES", type=click.Path(file_okay=False),
              help="Policy table directory (default: policies/ of this checkout).")
@click.option("--db", envvar="VOUCHER_DATABASE_URL", help="Ledger database URL (default sqlite:///voucher.db).")
@click.option("--actor", envvar="VOUCHER_ACTOR", help="Who takes the step (default admin:$USER).")
@click.pass_context
def main(ctx: click.Context, policy_dir: str | None, db: str | None, actor: str | None) -> None:
    """Subsidy and voucher calculator for China's data-economy incentive policies."""
    ctx.obj = {"policy_dir": policy_dir, "db": db, "actor": actor}


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
            click.echo(f"{key}: {json.dumps(detail[key], ensure_ascii=False, default=json_value)}")
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
    binary = sys.stdin.buffer if tx_path == "-" else open(tx_path, "rb", buffering=1 << 16)
    with binary:
        txs = tqdm(read_transactions(open_text(binary, encoding), fmt), unit=" tx",
                   disable=not sys.stderr.isatty(), desc="estimating", leave=False)
        try:
            result = run_estimate(table, enterprise, txs, history=history, parameters=parameters,
                                  include_drafts=include_drafts, keep_grants=as_json or details)
        except InputError as exc:
            fail(exc)
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


for command in (ledger, audit, pick, keys_cli):
    main.add_command(command)

if __name__ == "__main__":
    main()
