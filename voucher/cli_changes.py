"""`voucher ledger changes …`: the profile changes enterprises submit, and an administrator's decision.

A change to a fact eligibility reads waits (`pending`) until an administrator approves or
rejects it; `list` shows that queue. The actor is --actor (default admin:$USER), as for
every ledger command.
"""

from __future__ import annotations

import click

from voucher.changes import CHANGE_STATUSES
from voucher.cli_support import BUSINESS_ID, CREDIT_CODE, actor_of, json_option, ledger_of, read_json_file, run_step


@click.group("changes")
def changes() -> None:
    """Profile changes: list the pending ones, approve or reject them."""


@changes.command("list")
@json_option
@click.option("--status", type=click.Choice(CHANGE_STATUSES), default="pending", show_default=True)
@click.option("--all", "every", is_flag=True, help="Every status, not only --status.")
@click.option("--enterprise", type=CREDIT_CODE, help="One enterprise's changes (credit code).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.pass_context
def list_cmd(ctx, status, every, enterprise, limit):
    """The changes waiting for an administrator (or, with --all, every change)."""
    run_step(ctx, ledger_of(ctx).enterprise_changes, enterprise=enterprise, status=None if every else status,
         limit=limit)


@changes.command("show")
@json_option
@click.argument("change_id", type=BUSINESS_ID)
@click.pass_context
def show_cmd(ctx, change_id):
    """One change: the fields, what they were, who submitted and who decided."""
    run_step(ctx, ledger_of(ctx).enterprise_change, change_id)


@changes.command("submit")
@json_option
@click.option("--enterprise", required=True, type=CREDIT_CODE, help="Unified social credit code.")
@click.option("--changes", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="JSON object of the profile fields to change, e.g. {\"legal_person\": true}.")
@click.pass_context
def submit_cmd(ctx, enterprise, path):
    """Submit a change on an enterprise's behalf (--actor names who asks); facts wait for approval."""
    run_step(ctx, ledger_of(ctx).submit_enterprise_change, enterprise, read_json_file(path, "--changes", "changes"),
         actor=actor_of(ctx))


@changes.command("approve")
@json_option
@click.argument("change_id", type=BUSINESS_ID)
@click.pass_context
def approve_cmd(ctx, change_id):
    """Approve a change: its facts take effect now (recorded with the approving administrator)."""
    run_step(ctx, ledger_of(ctx).approve_enterprise_change, change_id, actor=actor_of(ctx))


@changes.command("reject")
@json_option
@click.argument("change_id", type=BUSINESS_ID)
@click.option("--reason", required=True)
@click.pass_context
def reject_cmd(ctx, change_id, reason):
    """Reject a change, stating why; the profile stays as it is."""
    run_step(ctx, ledger_of(ctx).reject_enterprise_change, change_id, reason=reason, actor=actor_of(ctx))
