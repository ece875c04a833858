"""`voucher audit …`: verify the whole ledger, take signed checkpoints, make the key that signs them."""

from __future__ import annotations

import json

import click

from voucher.checkpoint import KEY_ENV, PUBLIC_KEY_ENV, keygen, load_private_key, take_checkpoint
from voucher.cli_support import actor_of, json_option, ledger_of, read_json_file, show
from voucher.errors import VoucherError


@click.group()
def audit() -> None:
    """Check the ledger's integrity, and sign checkpoints of it."""


def _refused(ctx: click.Context, exc: VoucherError) -> None:
    click.echo(f"refused: {exc.message}", err=True)
    ctx.exit(1)


@audit.command("verify")
@json_option
@click.option("--checkpoint", "checkpoint_path", type=click.Path(dir_okay=False),
              help="A signed checkpoint (the JSON `voucher audit checkpoint` printed): the ledger must still hold "
                   "the entry it names, with the hash it signed.")
@click.option("--public-key", envvar=PUBLIC_KEY_ENV, show_envvar=True,
              help=f"The checkpoint signer's Ed25519 public key: a PEM file (or ${PUBLIC_KEY_ENV}, a file name or "
                   "the PEM itself).")
@click.pass_context
def verify_cmd(ctx, checkpoint_path, public_key):
    """Prove the ledger: the hash chain, every posting's columns, balances that may not go negative, every
    table derived from the journal (vouchers, redemptions, holds, claims, applications, enterprises, parties,
    parameters) and, given one, a signed checkpoint. Lists every problem; exit 1 if there is one."""
    checkpoint = read_json_file(checkpoint_path, "--checkpoint", "checkpoint") if checkpoint_path else None
    try:
        result = ledger_of(ctx).verify(checkpoint=checkpoint, public_key=public_key)
    except VoucherError as exc:
        _refused(ctx, exc)
    show(ctx, result)
    if not result["ok"]:
        ctx.exit(1)


@audit.command("checkpoint")
@json_option
@click.option("--key", envvar=KEY_ENV, show_envvar=True,
              help=f"The Ed25519 private key that signs: a PEM file from `voucher audit keygen` (or ${KEY_ENV}, a "
                   "file name or the PEM itself). Keep it outside the database.")
@click.option("--out", type=click.File("w", encoding="utf-8"), default="-", help="Write it here (default stdout).")
@click.pass_context
def checkpoint_cmd(ctx, key, out):
    """Verify the ledger and print a signed checkpoint of it (JSON): each chain's head entry and hash, the
    entry count and the time. Keep it where the database's writers cannot reach; `voucher audit verify
    --checkpoint FILE --public-key FILE` then finds a ledger rewritten or truncated since."""
    if not key:
        raise click.ClickException(f"no signing key: give --key FILE or set {KEY_ENV}")
    try:
        body = take_checkpoint(ledger_of(ctx), load_private_key(key, "--key"), actor=actor_of(ctx))
    except VoucherError as exc:
        _refused(ctx, exc)
    out.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")


@audit.command("keygen")
@click.option("--private", "private_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the private key (PEM, mode 0600); never overwritten.")
@click.option("--public", "public_path", required=True, type=click.Path(dir_okay=False),
              help="Where to write the public key (PEM), for whoever verifies.")
def keygen_cmd(private_path, public_path):
    """Make an Ed25519 key pair for signing checkpoints."""
    try:
        made = keygen(private_path, public_path)
    except VoucherError as exc:
        raise click.ClickException(exc.message) from None
    for name, value in made.items():
        click.echo(f"{name}: {value}")
