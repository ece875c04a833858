"""`voucher ledger …` (and `voucher audit …`, in `cli_audit`): the administrators' commands over the ledger.

Each command opens the ledger at --db (or $VOUCHER_DATABASE_URL, else sqlite:///voucher.db),
takes one step as --actor, and prints the result: indented `name: value` lines for people,
or with --json exactly what the API would have returned.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import date

import click

from voucher.cli import (
    BUSINESS_ID, COUNT, CREDIT_CODE, DATE, INVOICE, PARTY, YEAR, CliError, emit_json, read_json_file, table_or_fail,
)
from voucher.enterprise import Enterprise
from voucher.errors import InputError, VoucherError, quote
from voucher.ledger import Ledger


def _ledger(ctx: click.Context) -> Ledger:
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


def _run(ctx: click.Context, step, *args, **kwargs) -> None:
    """Run one ledger step; a refusal is printed with its reason and exits 1, having written nothing."""
    try:
        result = step(*args, **kwargs)
    except InputError as exc:  # bad input, named as the command spells it: --amount, not amount
        raise CliError(f"{_as_spelt(ctx, exc.field)}: {exc.problem}") from None
    except VoucherError as exc:
        click.echo(f"refused: {exc.message}", err=True)
        ctx.exit(1)
    _show(ctx, result)


def _as_spelt(ctx: click.Context, field: str) -> str:
    """A library field (`amount`, `policy_id.rate`) as the command line names it (`--amount`, `--policy`)."""
    head, sep, rest = field.partition(".")
    for param in ctx.command.params:
        if param.name == head:
            label = param.opts[0] if param.param_type_name == "option" else param.human_readable_name
            return label + sep + rest
    return field


def _show(ctx: click.Context, data: object) -> None:
    path = ctx.find_root().obj.get("get")
    if path:
        click.echo(_pick(data, path))
    elif ctx.find_root().obj.get("json"):
        emit_json(data)
    else:
        _lines(data, 0)


def _lines(data: object, depth: int) -> None:
    pad = "  " * depth
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(value, (dict, list)) and value:
                click.echo(f"{pad}{name}:")
                _lines(value, depth + 1)
            else:
                click.echo(f"{pad}{name}: {'' if value is None or value == {} or value == [] else value}")
    else:
        for item in data:
            if isinstance(item, (dict, list)):
                click.echo(f"{pad}-")
                _lines(item, depth + 1)
            else:
                click.echo(f"{pad}- {item}")


def _pick(data: object, path: str, flag: str = "--get") -> object:
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


def _actor(ctx: click.Context) -> str:
    return ctx.find_root().obj.get("actor") or f"admin:{getpass.getuser()}"


def _day(value) -> date | None:
    return value or None


def register(main: click.Group) -> None:
    main.params.append(click.Option(["--db"], envvar="VOUCHER_DATABASE_URL",
                                    help="Ledger database URL (default sqlite:///voucher.db)."))
    main.params.append(click.Option(["--actor"], envvar="VOUCHER_ACTOR",
                                    help="Who takes the step (default admin:$USER)."))
    original = main.callback

    @click.pass_context
    def callback(ctx, db=None, actor=None, **kwargs):
        ctx.invoke(original, **kwargs)
        ctx.obj.update({"db": db, "actor": actor})

    main.callback = callback
    from voucher.cli_changes import changes  # it imports this module's helpers
    ledger.add_command(changes)
    main.add_command(ledger)
    from voucher.cli_audit import audit

    main.add_command(audit)
    main.add_command(pick)


@click.command()
@click.argument("path")
def pick(path: str) -> None:
    """Print one value of the JSON read on stdin (`vouchers.0.id`): for scripts over the API's answers."""
    try:
        data = json.loads(sys.stdin.read())
    except ValueError as exc:
        raise click.ClickException(f"stdin is not JSON: {exc}") from None
    click.echo(_pick(data, path, "pick"))


@click.group()
def ledger() -> None:
    """Issue, redeem, settle, expire and report on vouchers."""


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
    _run(ctx, _ledger(ctx).register_enterprise, enterprise, actor=_actor(ctx))


@ledger.command("onboard")
@json_option
@click.argument("party_id", type=PARTY)
@click.option("--kind", type=click.Choice(["provider", "platform"]), required=True)
@click.option("--name", default="")
@click.pass_context
def onboard_cmd(ctx, party_id, kind, name):
    """Admit a provider (服务商) or a platform."""
    _run(ctx, _ledger(ctx).onboard_party, party_id, kind, name, actor=_actor(ctx))


@ledger.command("exit")
@json_option
@click.argument("party_id", type=PARTY)
@click.option("--reason", required=True)
@click.option("--forced", is_flag=True, help="强制退出 rather than a voluntary exit.")
@click.pass_context
def exit_cmd(ctx, party_id, reason, forced):
    """A provider leaves; it takes no new redemptions."""
    _run(ctx, _ledger(ctx).exit_party, party_id, reason=reason, forced=forced, actor=_actor(ctx))


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
    _run(ctx, _ledger(ctx).apply, enterprise, policy_id, read_json_file(tx_path, "--transaction", "transaction"),
         actor=_actor(ctx), key=key)


@ledger.command("approve")
@json_option
@click.argument("application", type=BUSINESS_ID)
@click.option("--key", help="Idempotency key.")
@click.pass_context
def approve_cmd(ctx, application, key):
    """Approve an application and issue its voucher (the amount the caps leave)."""
    _run(ctx, _ledger(ctx).approve, application, actor=_actor(ctx), key=key)


@ledger.command("reject")
@json_option
@click.argument("application", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def reject_cmd(ctx, application, reason):
    _run(ctx, _ledger(ctx).reject, application, reason=reason, actor=_actor(ctx))


@ledger.command("issue")
@json_option
@click.option("--enterprise", required=True, type=CREDIT_CODE)
@click.option("--transaction", "tx_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--platform", required=True, type=PARTY, help="The onboarded platform that carried the business.")
@click.pass_context
def issue_cmd(ctx, enterprise, tx_path, platform):
    """Post a platform's business and issue every voucher the policies grant for it."""
    _run(ctx, _ledger(ctx).post_transaction, enterprise, read_json_file(tx_path, "--transaction", "transaction"),
         platform=platform, actor=_actor(ctx))


@ledger.command("set-parameter")
@json_option
@click.argument("policy_id", type=BUSINESS_ID)
@click.argument("name", type=click.Choice(["rate", "amount"]))
@click.argument("value")
@click.pass_context
def set_parameter_cmd(ctx, policy_id, name, value):
    """Set a value the source leaves to an administrator (e.g. hangzhou-compute-voucher rate 0.2)."""
    _run(ctx, _ledger(ctx).set_parameter, policy_id, name, value, actor=_actor(ctx))


@ledger.command("redeem")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.option("--enterprise", required=True, type=CREDIT_CODE, help="The holder.")
@click.option("--amount", required=True)
@click.option("--party", required=True, type=PARTY, help="Provider or platform paid with the voucher.")
@click.option("--invoice", required=True, type=INVOICE)
@click.pass_context
def redeem_cmd(ctx, voucher_id, enterprise, amount, party, invoice):
    _run(ctx, _ledger(ctx).redeem, voucher_id, enterprise=enterprise, amount=amount, party=party,
         invoice=invoice, actor=_actor(ctx))


@ledger.command("settle")
@json_option
@click.argument("redemption_id", type=BUSINESS_ID)
@click.option("--step", type=click.Choice(["request", "approve", "pay"]), required=True)
@click.option("--party", type=PARTY, help="The provider, for --step request.")
@click.pass_context
def settle_cmd(ctx, redemption_id, step, party):
    """Settlement: the provider requests, one administrator approves, another pays."""
    book = _ledger(ctx)
    if step == "request":
        if not party:
            raise click.UsageError("--step request needs --party")
        _run(ctx, book.request_settlement, redemption_id, party=party, actor=_actor(ctx))
    elif step == "approve":
        _run(ctx, book.approve_settlement, redemption_id, actor=_actor(ctx))
    else:
        _run(ctx, book.pay, redemption_id, actor=_actor(ctx))


@ledger.command("expire")
@json_option
@click.option("--on", "on_date", type=DATE, help="Sweep as of this date (default today, China time).")
@click.pass_context
def expire_cmd(ctx, on_date):
    """Expire every voucher past its last valid day; unused value returns to the budget."""
    _run(ctx, _ledger(ctx).expire, _day(on_date), actor=_actor(ctx))


@ledger.command("show")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.pass_context
def show_cmd(ctx, voucher_id):
    """One voucher: its face, what is left and held, its status and last valid day, its redemptions."""
    _run(ctx, _ledger(ctx).voucher, voucher_id)


@ledger.command("void")
@json_option
@click.argument("voucher_id", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def void_cmd(ctx, voucher_id, reason):
    _run(ctx, _ledger(ctx).void, voucher_id, reason=reason, actor=_actor(ctx))


@ledger.command("blacklist")
@json_option
@click.argument("subject", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def blacklist_cmd(ctx, subject, reason):
    """列入黑名单: an enterprise (credit code) or a party id."""
    _run(ctx, _ledger(ctx).blacklist, subject, reason=reason, actor=_actor(ctx))


@ledger.command("balances")
@json_option
@click.option("--enterprise", type=CREDIT_CODE)
@click.option("--policy", "policy_id", type=BUSINESS_ID)
@click.option("--year", type=YEAR)
@click.option("--on", "on_date", type=DATE, help="Balances at the end of this day.")
@click.pass_context
def balances_cmd(ctx, enterprise, policy_id, year, on_date):
    _run(ctx, _ledger(ctx).balances, enterprise=enterprise, policy_id=policy_id, year=year, on=_day(on_date))


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
    _run(ctx, _ledger(ctx).entries, after=after, limit=limit, **filters)


@ledger.command("report")
@json_option
@click.argument("policy_id", type=BUSINESS_ID)
@click.argument("year", type=YEAR)
@click.pass_context
def report_cmd(ctx, policy_id, year):
    """A policy's year: granted, redeemed, paid, expired, voided, clawed back, pool left."""
    _run(ctx, _ledger(ctx).yearly_report, policy_id, year)


@ledger.command("export")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="CSV file (default stdout).")
@click.pass_context
def export_cmd(ctx, out):
    """The whole ledger as CSV, one row per posting."""
    rows = _ledger(ctx).export_csv(out)
    if out is not sys.stdout:
        click.echo(f"{rows} rows", err=True)
