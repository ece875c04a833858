"""The audit: verify the whole ledger, alone or against a signed checkpoint; take and show checkpoints.

The server signs with the private key in VOUCHER_CHECKPOINT_KEY (a PEM file's name or the
PEM itself), which the operator keeps outside the database; without one, taking a
checkpoint is 503. Verifying against a checkpoint uses the public key the caller sends,
else VOUCHER_CHECKPOINT_PUBLIC_KEY, else the public half of the server's own key.
"""

from __future__ import annotations

from flask import current_app

from api.services import ledger
from api.auth import current_principal, requires
from api.errors import NotConfigured
from api.idempotency import idempotent, key
from api.schemas.audit import CheckpointOut, LatestCheckpointOut, VerifyIn, VerifyOut
from api.views import Blueprint
from voucher.checkpoint import KEY_ENV, PUBLIC_KEY_ENV, latest_checkpoint, load_private_key, take_checkpoint
from voucher.errors import NotFound

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="Verify the ledger; signed checkpoints.")


def _private_key():
    source = current_app.config.get("CHECKPOINT_KEY")
    if not source:
        raise NotConfigured(f"no checkpoint signing key: the operator sets {KEY_ENV}", field=KEY_ENV)
    return load_private_key(source, KEY_ENV)


@blp.route("/verify")
@requires("admin", unscoped=True)
@blp.response(200, VerifyOut)
def verify():
    """Prove the ledger: the hash chain, every posting's columns, balances that may not go negative and every
    table derived from the journal, re-derived and compared column by column. Lists every problem."""
    return ledger().verify()


@blp.route("/verify", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.arguments(VerifyIn())
@blp.response(200, VerifyOut)
def verify_checkpoint(args: dict):
    """As GET, and also that the ledger still holds the entry a signed checkpoint names, with the hash it signed:
    a ledger truncated or rewritten since is reported. A forged or edited checkpoint is refused (422). Writes
    nothing; the Idempotency-Key is accepted and not needed."""
    public = args.get("public_key") or current_app.config.get("CHECKPOINT_PUBLIC_KEY")
    if not public:
        if not current_app.config.get("CHECKPOINT_KEY"):
            raise NotConfigured(f"no public key to check the checkpoint with: send public_key, or the operator sets "
                                f"{PUBLIC_KEY_ENV}", field="public_key")
        public = _private_key().public_key()
    return ledger().verify(checkpoint=args["checkpoint"], public_key=public)


@blp.route("/checkpoints", methods=["POST"])
@requires("admin", unscoped=True)
@idempotent(required=False)
@blp.response(200, CheckpointOut)
def checkpoint():
    """Verify the ledger and return a checkpoint of it signed with the server's key (503 if none is set):
    each chain's head entry and hash, the entry count and the time. Recorded; a retry with the same
    Idempotency-Key returns the same checkpoint."""
    signer = _private_key()
    return take_checkpoint(ledger(), signer, actor=current_principal().actor, request_key=key())


@blp.route("/checkpoints/latest")
@requires("admin", unscoped=True)
@blp.response(200, LatestCheckpointOut)
def latest():
    """The last checkpoint issued (by the CLI or this API), and who took it."""
    found = latest_checkpoint(ledger().store)
    if found is None:
        raise NotFound("no checkpoint has been taken", field="checkpoint")
    return found
