"""Signed checkpoints: the head of every chain, signed with a key the database never holds.

The hash chain proves that no entry changed *unless the whole chain after it was
recomputed*; someone who can write the database can do that, or delete the last entries
and move the head back. A checkpoint closes that gap: the operator signs, from time to
time, the head entry's id and hash with an Ed25519 private key kept outside the database
(`VOUCHER_CHECKPOINT_KEY`, or `--key FILE`); anyone with the public key checks that the
ledger still holds that entry with that hash (`voucher audit verify --checkpoint FILE`).

    {"format": "voucher-checkpoint/1", "chains": [{"name": "main", "head_id": 35, "head_hash": "…"}],
     "entries": 35, "at": "2026-03-01T10:00:00+08:00", "key_id": "…", "signature": "<base64>"}

The signature covers every other field, as canonical JSON (sorted keys, no spaces,
UTF-8). `chains` is a list so that a ledger keeping several chains signs them all at once.
A checkpoint is taken of a ledger that verifies: signing a tampered head would vouch for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from voucher.errors import Conflict, InputError, quote

FORMAT = "voucher-checkpoint/1"
MAIN = "main"
KEY_ENV = "VOUCHER_CHECKPOINT_KEY"
PUBLIC_KEY_ENV = "VOUCHER_CHECKPOINT_PUBLIC_KEY"


def _pem(source: object, what: str) -> bytes:
    """A key given as PEM text or as the name of a file that holds it."""
    if isinstance(source, bytes):
        return source
    if not isinstance(source, str) or not source.strip():
        raise InputError(what, "no key given")
    if source.lstrip().startswith("-----BEGIN"):
        return source.encode("utf-8")
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InputError(what, f"cannot read {source}: {exc.strerror or exc}") from None


def load_private_key(source: object, what: str = "--key"):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = _pem(source, what)
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InputError(what, "is not an unencrypted PEM private key (make one with `voucher audit keygen`)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(what, "is not an Ed25519 key")
    return key


def load_public_key(source: object, what: str = "--public-key"):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if hasattr(source, "verify"):  # already a key
        return source
    pem = _pem(source, what)
    try:
        key = load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise InputError(what, "is not a PEM public key (`voucher audit keygen` writes one)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(what, "is not an Ed25519 key")
    return key


def key_id(public_key) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key: which key signed."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return hashlib.sha256(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def keygen(private_path: str, public_path: str) -> dict:
    """Write a new key pair: the private key readable by its owner only (0600), and the public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding, NoEncryption, PrivateFormat, PublicFormat)

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    for path, flag in ((private_path, "--private"), (public_path, "--public")):
        if os.path.exists(path):  # checked for both before either is written
            raise InputError(flag, f"{path} exists; a key is never overwritten")
    written: list[str] = []
    try:
        for path, data, mode, flag in ((private_path, private, 0o600, "--private"),
                                       (public_path, public, 0o644, "--public")):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                raise InputError(flag, f"{path} exists; a key is never overwritten") from None
            except OSError as exc:
                raise InputError(flag, f"cannot write {path}: {exc.strerror or exc}") from None
            written.append(path)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.chmod(path, mode)  # whatever the umask
    except BaseException:  # both files or neither: half a key pair is no use and a secret left lying about
        for path in written:
            os.remove(path)
        raise
    return {"private_key": private_path, "public_key": public_path, "key_id": key_id(key.public_key())}


def check_signature(checkpoint: object, public_key: object) -> dict:
    """The checkpoint, if it is well formed and signed by `public_key`; otherwise refused, naming why."""
    from cryptography.exceptions import InvalidSignature

    if public_key is None:
        raise InputError("--public-key", f"a checkpoint is checked with the public key: give --public-key FILE or "
                                         f"set {PUBLIC_KEY_ENV}")
    public = load_public_key(public_key)
    body = _shape(checkpoint)
    try:
        signature = base64.b64decode(body.pop("signature"), validate=True)
        public.verify(signature, canonical(body))
    except (InvalidSignature, ValueError):
        mine = key_id(public)
        raise InputError("checkpoint", "the signature does not verify: the checkpoint was edited or forged"
                         + (f" (it names key {body['key_id']}, this public key is {mine})"
                            if body["key_id"] != mine else "")) from None
    return body


def _shape(checkpoint: object) -> dict:
    def bad(problem: str):
        raise InputError("checkpoint", problem)

    if not isinstance(checkpoint, dict):
        bad("must be a JSON object (what `voucher audit checkpoint` prints)")
    if checkpoint.get("format") != FORMAT:
        bad(f"format must be {quote(FORMAT)}")
    for name, kind in (("chains", list), ("entries", int), ("at", str), ("key_id", str), ("signature", str)):
        if not isinstance(checkpoint.get(name), kind) or isinstance(checkpoint.get(name), bool):
            bad(f"{name} is missing or not a {kind.__name__}")
    if not checkpoint["chains"]:
        bad("chains is empty")
    for i, chain in enumerate(checkpoint["chains"]):
        if not (isinstance(chain, dict) and isinstance(chain.get("name"), str)
                and isinstance(chain.get("head_id"), int) and not isinstance(chain.get("head_id"), bool)
                and chain["head_id"] >= 0 and isinstance(chain.get("head_hash"), str)):
            bad(f"chains[{i}] must have a name, a head_id (a whole number) and a head_hash")
    return dict(checkpoint)


def sign(body: dict, private_key) -> dict:
    signed = {**body, "key_id": key_id(private_key.public_key())}
    signed["signature"] = base64.b64encode(private_key.sign(canonical(signed))).decode("ascii")
    return signed


def take_checkpoint(ledger, private_key, *, actor: str, request_key: str | None = None) -> dict:
    """Verify the ledger, sign what was verified with `private_key` (from `load_private_key`), record it in
    `checkpoints`, and return it. The same `request_key` returns the checkpoint first issued for it."""
    if request_key is not None:
        with ledger.store.read() as db:
            row = db.one("SELECT body FROM checkpoints WHERE request_key = ?", (request_key,))
        if row:
            return json.loads(row["body"])
    report = ledger.verify()
    if not report["ok"]:
        raise Conflict(f"the ledger does not verify ({report['problem']}); a checkpoint would vouch for it",
                       field="ledger", reason="unverified")
    body = sign({"format": FORMAT, "chains": [{"name": MAIN, "head_id": report["entries"],
                                               "head_hash": report["last_hash"]}],
                 "entries": report["entries"], "at": ledger.now().isoformat()}, private_key)
    with ledger.store.write() as db:
        if request_key is not None:
            row = db.one("SELECT body FROM checkpoints WHERE request_key = ?", (request_key,))
            if row:
                return json.loads(row["body"])
        db.insert("checkpoints", {"id": (db.value("SELECT MAX(id) FROM checkpoints") or 0) + 1, "at": body["at"],
                                  "actor": actor, "key_id": body["key_id"], "head_id": report["entries"],
                                  "head_hash": report["last_hash"], "entries": report["entries"],
                                  "body": json.dumps(body, ensure_ascii=False), "request_key": request_key})
    return body


def latest_checkpoint(store) -> dict | None:
    """The last checkpoint issued, with who took it: what a console shows."""
    with store.read() as db:
        row = db.one("SELECT actor, body FROM checkpoints ORDER BY id DESC LIMIT 1")
    return {"actor": row["actor"], "checkpoint": json.loads(row["body"])} if row else None
