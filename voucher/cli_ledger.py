"""`voucher ledger …` (and `voucher audit …`, in `cli_audit`): the administrators' commands over the ledger.

Each command opens the ledger at --db (or $VOUCHER_DATABASE_URL, else sqlite:///voucher.db),
takes one step as --actor, and prints the result: indented `name: value` lines for people,
or with --json exactly what the API would have returned.
"""

from __future__ import annotations

import json
import sys

import click

from voucher.cli_changes import changes
from voucher.cli_support import (
    BUSINESS_ID,
    CliError,
    COUNT,
    CREDIT_CODE,
    DATE,
    INVOICE,
    PARTY,
    YEAR,
    actor_of,
    day_or_none,
    json_option,
    ledger_of,
    pick_value,
    read_json_file,
    run_step,
)
from voucher.enterprise import Enterprise
from voucher.errors import VoucherError


@click.command()
@click.argument("path")
def pick(path: str) -> None:
    """Print one value of the JSON read on stdin (`vouchers.0.id`): for scripts over the API's answers."""
    try:
        data = json.loads(sys.stdin.read())
    except ValueError as exc:
        raise click.ClickException(f"stdin is not JSON: {exc}") from None
    click.echo(pick_value(data, path, "pick"))


@click.group()
def ledger() -> None:
    """Issue, redeem, settle, expire and report on vouchers."""


ledger.add_command(changes)


@ledger.command("register")
@json_option
@click.option("--profile", required=True, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def register_cmd(ctx, profile):
    """An administrator records an enterprise's profile (JSON); its facts take effect at once."""
    try:
        enterprise = Enterprise.from_dict(read_json_file(profile, "--profile", "enterprise"))
    except VoucherError as exc:
        raise CliError(str(exc)) from None
    run_step(ctx, ledger_of(ctx).register_enterprise, enterprise, actor=actor_of(ctx))


@ledger.command("onboard")
@json_option
@click.argument("party_id", type=PARTY)
@click.option("--kind", type=click.Choice(["provider", "platform"]), required=True)
@click.option("--name", default="")
@click.pass_context
def onboard_cmd(ctx, party_id, kind, name):
    """Admit a provider (服务商) or a platform."""
    run_step(ctx, ledger_of(ctx).onboard_party, party_id, kind, name, actor=actor_of(ctx))


@ledger.command("exit")
@json_option
@click.argument("party_id", type=PARTY)
@click.option("--reason", required=True)
@click.option("--forced", is_flag=True, help="强制退出 rather than a voluntary exit.")
@click.pass_context
def exit_cmd(ctx, party_id, reason, forced):
    """A provider leaves; it takes no new redemptions."""
    run_step(ctx, ledger_of(ctx).exit_party, party_id, reason=reason, forced=forced, actor=actor_of(ctx))


@ledger.command("apply")
@json_option
@click.option("--enterprise", required=True, type=CREDIT_CODE, help="Unified social credit code.")
@click.option("--policy", "policy_id", required=True, type=BUSINESS_ID)
@click.option("--transaction", "tx_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The business (JSON object).")
@click.option("--key", help="Idempotency key.")
@click.pass_context
def apply_cmd(ctx, enterprise, policy_id, tx_path, key):
    """申领: apply for a policy's grant for one business."""
    run_step(ctx, ledger_of(ctx).apply, enterprise, policy_id, read_json_file(tx_path, "--transaction", "transaction"),
         actor=actor_of(ctx), key=key)


@ledger.command("approve")
@json_option
@click.argument("application", type=BUSINESS_ID)
@click.option("--key", help="Idempotency key.")
@click.pass_context
def approve_cmd(ctx, application, key):
    """Approve an application and issue its voucher (the amount the caps leave)."""
    run_step(ctx, ledger_of(ctx).approve, application, actor=actor_of(ctx), key=key)


@ledger.command("reject")
@json_option
@click.argument("application", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def reject_cmd(ctx, application, reason):
    run_step(ctx, ledger_of(ctx).reject, application, reason=reason, actor=actor_of(ctx))


@ledger.command("issue")
@json_option
@click.option("--enterprise", required=True, type=CREDIT_CODE)
@click.option("--transaction", "tx_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--platform", required=True, type=PARTY, help="The onboarded platform that carried the business.")
@click.pass_context
def issue_cmd(ctx, enterprise, tx_path, platform):
    """Post a platform's business and issue every voucher the policies grant for it."""
    run_step(ctx, ledger_of(ctx).post_transaction, enterprise, read_json_file(tx_path, "--transaction", "transaction"),
         platform=platform, actor=actor_of(ctx))


@ledger.command("set-parameter")
@json_option
@click.argument("policy_id", type=BUSINESS_ID)
@click.argument("name", type=click.Choice(["rate", "amount"]))
@click.argument("value")
@click.pass_context
def set_parameter_cmd(ctx, policy_id, name, value):
    """Set a value the source leaves to an administrator (e.g. hangzhou-compute-voucher rate 0.2)."""
    run_step(ctx, ledger_of(ctx).set_parameter, policy_id, name, value, actor=actor_of(ctx))


@ledger.command("redeem")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.option("--enterprise", required=True, type=CREDIT_CODE, help="The holder.")
@click.option("--amount", required=True)
@click.option("--party", required=True, type=PARTY, help="Provider or platform paid with the voucher.")
@click.option("--invoice", required=True, type=INVOICE)
@click.pass_context
def redeem_cmd(ctx, voucher_id, enterprise, amount, party, invoice):
    run_step(ctx, ledger_of(ctx).redeem, voucher_id, enterprise=enterprise, amount=amount, party=party,
         invoice=invoice, actor=actor_of(ctx))


@ledger.command("settle")
@json_option
@click.argument("redemption_id", type=BUSINESS_ID)
@click.option("--step", type=click.Choice(["request", "approve", "pay"]), required=True)
@click.option("--party", type=PARTY, help="The provider, for --step request.")
@click.pass_context
def settle_cmd(ctx, redemption_id, step, party):
    """Settlement: the provider requests, one administrator approves, another pays."""
    book = ledger_of(ctx)
    if step == "request":
        if not party:
            raise click.UsageError("--step request needs --party")
        run_step(ctx, book.request_settlement, redemption_id, party=party, actor=actor_of(ctx))
    elif step == "approve":
        run_step(ctx, book.approve_settlement, redemption_id, actor=actor_of(ctx))
    else:
        run_step(ctx, book.pay, redemption_id, actor=actor_of(ctx))


@ledger.command("expire")
@json_option
@click.option("--on", "on_date", type=DATE, help="Sweep as of this date (default today, China time).")
@click.pass_context
def expire_cmd(ctx, on_date):
    """Expire every voucher past its last valid day; unused value returns to the budget."""
    run_step(ctx, ledger_of(ctx).expire, day_or_none(on_date), actor=actor_of(ctx))


@ledger.command("show")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.pass_context
def show_cmd(ctx, voucher_id):
    """One voucher: its face, what is left and held, its status and last valid day, its redemptions."""
    run_step(ctx, ledger_of(ctx).voucher, voucher_id)


@ledger.command("void")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def void_cmd(ctx, voucher_id, reason):
    run_step(ctx, ledger_of(ctx).void, voucher_id, reason=reason, actor=actor_of(ctx))


@ledger.command("blacklist")
@json_option
@click.argument("subject", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def blacklist_cmd(ctx, subject, reason):
    """列入黑名单: an enterprise (credit code) or a party id."""
    run_step(ctx, ledger_of(ctx).blacklist, subject, reason=reason, actor=actor_of(ctx))


@ledger.command("balances")
@json_option
@click.option("--enterprise", type=CREDIT_CODE)
@click.option("--policy", "policy_id", type=BUSINESS_ID)
@click.option("--year", type=YEAR)
@click.option("--on", "on_date", type=DATE, help="Balances at the end of this day.")
@click.pass_context
def balances_cmd(ctx, enterprise, policy_id, year, on_date):
    run_step(ctx, ledger_of(ctx).balances, enterprise=enterprise, policy_id=policy_id, year=year, on=day_or_none(on_date))


@ledger.command("history")
@json_option
@click.option("--enterprise", type=CREDIT_CODE)
@click.option("--policy", "policy_id", type=BUSINESS_ID)
@click.option("--year", type=YEAR)
@click.option("--voucher", "voucher_id", type=BUSINESS_ID)
@click.option("--after", type=COUNT, default=0, help="Cursor: the last entry id already seen.")
@click.option("--limit", type=COUNT, default=100)
@click.pass_context
def history_cmd(ctx, enterprise, policy_id, year, voucher_id, after, limit):
    filters = {k: v for k, v in (("enterprise", enterprise), ("policy_id", policy_id), ("year", year),
                                 ("voucher_id", voucher_id)) if v is not None}
    run_step(ctx, ledger_of(ctx).entries, after=after, limit=limit, **filters)


@ledger.command("report")
@json_option
@click.argument("policy_id", type=BUSINESS_ID)
@click.argument("year", type=YEAR)
@click.pass_context
def report_cmd(ctx, policy_id, year):
    """A policy's year: granted, redeemed, paid, expired, voided, clawed back, pool left."""
    run_step(ctx, ledger_of(ctx).yearly_report, policy_id, year)


@ledger.command("export")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="CSV file (default stdout).")
@click.pass_context
def export_cmd(ctx, out):
    """The whole ledger as CSV, one row per posting."""
    rows = ledger_of(ctx).export_csv(out)
    if out is not sys.stdout:
        click.echo(f"{rows} rows", err=True)
