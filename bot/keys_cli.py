"""`okta-chatops okta keygen` and `okta-chatops okta jwks`: the Okta service app's key pair.

`keygen` writes a new RSA private key for the bot (mode 0400, owned by the user that reads it: by
default the image's user, 10001) and prints its public JWK, with `kid`, `use` and `alg`, to paste
into the service app in Okta. `jwks` prints the public JWKs of keys the bot already has, e.g. both
keys during a rotation. Only public keys are ever printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import load_settings
from oktaclient import SigningKey, load_signing_keys

# The user the image runs as (Dockerfile: USER 10001:10001): it must be able to read the key.
IMAGE_USER = (10001, 10001)
KEY_MODE = 0o400  # read by its owner only
KEY_SIZES = (2048, 3072, 4096)  # Okta takes RSA keys of 2048 bits or more


def register(sub: Any) -> None:
    okta = sub.add_parser("okta", help="the Okta service app's key pair (keygen, jwks)")
    commands = okta.add_subparsers(required=True, metavar="COMMAND")
    keygen = commands.add_parser(
        "keygen",
        help="write a new private key for the bot and print its public JWK for Okta",
        description="Writes a new RSA private key (mode 0400) and prints its public JWK, to add to the "
        "service app in Okta (General > Public Keys > Add key). Messages go to stderr, the JWK alone to stdout.",
    )
    keygen.add_argument("--out", type=Path, required=True, help="where to write the private key (never overwritten)")
    keygen.add_argument(
        "--owner",
        type=_owner,
        default=IMAGE_USER,
        help="UID:GID that will read the key (default 10001:10001, the image's user; giving the key to "
        "another user needs root)",
    )
    keygen.add_argument("--bits", type=int, choices=KEY_SIZES, default=KEY_SIZES[0])
    keygen.set_defaults(run=run_keygen)
    jwks = commands.add_parser(
        "jwks",
        help="print the public JWKs of the bot's keys (OKTA_PRIVATE_KEY, OKTA_PRIVATE_KEY_PREVIOUS, or --key)",
    )
    jwks.add_argument("--key", action="append", default=[], help="a private key's PEM file (repeatable)")
    jwks.set_defaults(run=run_jwks)


async def run_keygen(args: argparse.Namespace) -> int:
    out: Path = args.out
    uid, gid = args.owner
    if out.exists():
        return _fail(f"{out} already exists: a key is never overwritten (a rotation writes the new key to a new file)")
    if not out.parent.is_dir():
        return _fail(f"no folder {out.parent} to write {out.name} into")
    signing = SigningKey.of(rsa.generate_private_key(public_exponent=65537, key_size=args.bits))
    try:
        _write_private(out, signing.pem(), uid, gid)
    except PermissionError:
        return _fail(
            f"only root can give the key to uid {uid}. Run keygen in the image as root, "
            f'docker run --rm --user 0 -v "$PWD:/keys" okta-chatops:0.1.0 okta-chatops okta keygen --out /keys/{out.name}'
            f", or keep the key yours with --owner {os.geteuid()}:{os.getegid()} when the bot runs as you"
        )
    print(
        f"Wrote the private key to {out} (owner {uid}:{gid}, mode {KEY_MODE:04o}); set OKTA_PRIVATE_KEY to its path "
        f"as the bot sees it.\nAdd this public key to the service app in Okta (kid {signing.kid}):",
        file=sys.stderr,
    )
    print(json.dumps(signing.public_jwk(), indent=2))
    return 0


async def run_jwks(args: argparse.Namespace) -> int:
    try:
        keys = (
            [key for path in args.key for key in load_signing_keys(path)]
            if args.key
            else load_settings().okta_signing_keys()
        )
    except ValueError as exc:
        print(f"okta-chatops okta jwks: the key {exc}", file=sys.stderr)
        return 1
    if not keys:
        print("okta-chatops okta jwks: no key: set OKTA_PRIVATE_KEY, or name key files with --key", file=sys.stderr)
        return 1
    print(json.dumps({"keys": [key.public_jwk() for key in keys]}, indent=2))
    return 0


def _owner(value: str) -> tuple[int, int]:
    uid, _, gid = value.partition(":")
    try:
        return int(uid), int(gid or uid)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected UID:GID in numbers, e.g. 10001:10001, got {value!r}") from None


def _fail(problem: str) -> int:
    print(f"okta-chatops okta keygen: {problem}", file=sys.stderr)
    return 1


def _write_private(out: Path, pem: str, uid: int, gid: int) -> None:
    """Created with its final mode and owner before a byte of the key is written; removed if that fails
    (PermissionError: this user may not give the file to `uid`)."""
    with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE), "w") as file:
        try:
            os.fchmod(file.fileno(), KEY_MODE)  # the umask may have taken bits away; 0400 has none to add
            os.fchown(file.fileno(), uid, gid)
            file.write(pem)
            file.flush()
            os.fsync(file.fileno())
        except BaseException:
            out.unlink()
            raise
