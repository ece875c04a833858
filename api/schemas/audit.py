"""The audit: what `verify` reports, and signed checkpoints going out and coming back in."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.fields import Int as StrictInt
from api.fields import Text
from api.schemas.policy import Opt

Str = fields.String
Int = fields.Integer
HASH = validate.Regexp(r"^([0-9a-f]{64})?$")


class ProblemOut(Schema):
    kind = Str(required=True, metadata={"description": "chain, posting, head, checkpoint, balance, replay or table."})
    detail = Str(required=True)
    entry = Int(metadata={"description": "The entry at fault, where there is one."})
    table = Str()
    row = fields.Dict(metadata={"description": "The row's key columns, or the account."})
    column = Str()
    expected = fields.Raw(allow_none=True, metadata={"description": "What the journal implies (table problems)."})
    found = fields.Raw(allow_none=True, metadata={"description": "What the table holds (table problems)."})


class ChainOut(Schema):
    name = Str(required=True)
    head_id = Int(required=True)
    head_hash = Str(required=True)


class CheckpointSummary(Schema):
    at = Str(required=True)
    entries = Int(required=True)
    key_id = Str(required=True)
    chains = fields.List(fields.Nested(ChainOut), required=True)


class VerifyOut(Schema):
    ok = fields.Boolean(required=True)
    entries = Int(required=True)
    first_bad_entry = Opt(Int(required=True))
    problem = Opt(Str(required=True))
    last_hash = Str()
    problems = fields.List(fields.Nested(ProblemOut), required=True)
    checkpoint = fields.Nested(CheckpointSummary, metadata={"description": "The checkpoint checked, if one was given."})


class CheckpointOut(Schema):
    format = Str(required=True, metadata={"example": "voucher-checkpoint/1"})
    chains = fields.List(fields.Nested(ChainOut), required=True)
    entries = Int(required=True)
    at = Str(required=True)
    key_id = Str(required=True, metadata={"description": "First 16 hex digits of the SHA-256 of the public key."})
    signature = Str(required=True, metadata={"description": "Ed25519, base64, over the other fields as canonical "
                                                            "JSON (sorted keys, no spaces, UTF-8)."})


class LatestCheckpointOut(Schema):
    actor = Str(required=True)
    checkpoint = fields.Nested(CheckpointOut, required=True)


class ChainIn(Schema):
    name = Text(required=True, validate=validate.Length(1, 100))
    head_id = StrictInt(required=True, validate=validate.Range(0, 2**62))
    head_hash = Text(required=True, validate=HASH)


class CheckpointIn(Schema):
    format = Text(required=True, validate=validate.Length(1, 100))
    chains = fields.List(fields.Nested(ChainIn), required=True, validate=validate.Length(1, 100))
    entries = StrictInt(required=True, validate=validate.Range(0, 2**62))
    at = Text(required=True, validate=validate.Length(1, 100))
    key_id = Text(required=True, validate=validate.Length(1, 100))
    signature = Text(required=True, validate=validate.Length(1, 200))


class VerifyIn(Schema):
    checkpoint = fields.Nested(CheckpointIn, required=True)
    public_key = Text(validate=validate.Length(1, 10000), metadata={
        "description": "The signer's Ed25519 public key (PEM); default the server's (VOUCHER_CHECKPOINT_PUBLIC_KEY, "
                       "else the public half of VOUCHER_CHECKPOINT_KEY)."})
