"""The service app's signing keys: read from PEM text or a file, named by a key id, shown as a public JWK.

A key is accepted as PEM text (several lines, or one line with `\\n` escapes or spaces where the line
breaks were: environment files and secret stores mangle them in both ways) or as the path of a PEM
file. Its key id (`kid`) is the RFC 7638 thumbprint of its public key, so the same key always has
the same id and `okta-chatops okta keygen` and the client agree on it without a setting.

Errors say what is wrong and what to do, and never quote key material.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

ALGORITHM = "RS256"  # what Okta's private_key_jwt verifies for RSA keys
MIN_RSA_BITS = 2048  # Okta refuses smaller RSA keys in a client's JWKS
MAX_KEYS = 2  # the active key and, during a rotation, the one being retired

_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_PRIVATE_LABELS = {"PRIVATE KEY", "RSA PRIVATE KEY"}
_MAX_SHOWN_PATH = 200
_BASE64 = re.compile(r"[A-Za-z0-9+/=]+")


@dataclass(frozen=True)
class SigningKey:
    private_key: RSAPrivateKey
    kid: str

    @classmethod
    def of(cls, private_key: RSAPrivateKey) -> SigningKey:
        """The key named by its thumbprint."""
        return cls(private_key, thumbprint(private_key.public_key()))

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"

    def public_jwk(self) -> dict[str, str]:
        """The public key as Okta's *Add key* takes it: kty, kid, use, alg, n, e."""
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": ALGORITHM, **_rsa_members(self.private_key.public_key())}

    def pem(self) -> str:
        return self.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def thumbprint(public_key: RSAPublicKey) -> str:
    """RFC 7638: SHA-256 of the JWK's required members in lexicographic order, base64url without padding."""
    canonical = json.dumps(_rsa_members(public_key) | {"kty": "RSA"}, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def load_signing_keys(value: str, *, key_id: str | None = None) -> list[SigningKey]:
    """The keys in `value` (PEM text or a file's path): the first signs, a second is the previous key.
    `key_id` replaces the first key's thumbprint as its kid. ValueError with the reason otherwise."""
    keys = [_private_key(label, body) for label, body in _blocks(pem_text(value))]
    if len(keys) > MAX_KEYS:
        raise ValueError(f"holds {len(keys)} keys; at most {MAX_KEYS}: the active key, then the one being retired")
    signing = [SigningKey.of(key) for key in keys]
    if len({k.kid for k in signing}) != len(signing):
        raise ValueError("holds the same key twice: the previous key must be the one being retired")
    if key_id:
        signing[0] = SigningKey(signing[0].private_key, key_id)
    return signing


def pem_text(value: str) -> str:
    """The PEM text `value` holds or names: itself when it holds a PEM block, else the file at that path."""
    text = value.strip()
    if "-----BEGIN" in text:
        return text
    if not text:
        raise ValueError("is empty")
    if len(text) >= 64 and _BASE64.fullmatch(text):
        raise ValueError("looks like a key's base64 body without its -----BEGIN and -----END lines: give the whole PEM")
    if "\n" in text or len(text) > _MAX_SHOWN_PATH:
        raise ValueError("is neither PEM text (from -----BEGIN PRIVATE KEY----- to its -----END line) nor a file path")
    # A value of base64 characters only may be key material without its PEM lines: never shown.
    shown = "the path given" if _BASE64.fullmatch(text) else text
    path = Path(text).expanduser()
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(
            f"is not PEM text, and there is no file at {shown}: mount the key file there, or give the PEM itself"
        ) from None
    except PermissionError:
        raise ValueError(f"cannot read {shown}: {_who_may_read(path)}") from None
    except IsADirectoryError:
        raise ValueError(f"names a folder ({shown}): give the key file's path") from None
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"cannot read {shown} as a PEM file (a DER or PKCS#12 file? convert it to PEM)") from None


def _blocks(text: str) -> list[tuple[str, bytes]]:
    """(label, DER bytes) of each PEM block, whatever became of the line breaks between them."""
    found = _BLOCK.findall(text)
    if not found:
        raise ValueError(
            "has a -----BEGIN line but no matching -----END line: it was cut short (an env file keeps only "
            "the first line of a multi-line value: use the one-line form with \\n escapes, or a file path)"
        )
    blocks = []
    for label, body in found:
        if "ENCRYPTED" in label or "Proc-Type" in body:
            raise ValueError("is encrypted: the bot needs it unencrypted (openssl pkey -in encrypted.key -out okta-chatops.key)")
        if label == "PUBLIC KEY" or label == "RSA PUBLIC KEY":
            raise ValueError("is a public key: the bot needs the private key (the public one goes into Okta)")
        if label not in _PRIVATE_LABELS:
            raise ValueError(f"holds a {label.lower()}, not a private key (-----BEGIN PRIVATE KEY-----)")
        try:
            blocks.append((label, base64.b64decode(re.sub(r"\\[rn]|\s", "", body), validate=True)))
        except ValueError:
            raise ValueError("is damaged: its body is not base64 (copy the key again, every line)") from None
    return blocks


def _private_key(label: str, der: bytes) -> RSAPrivateKey:
    pem = f"-----BEGIN {label}-----\n{base64.encodebytes(der).decode()}-----END {label}-----\n"
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # cryptography's message can quote the input; the key material must not reach a log.
        raise ValueError("is damaged: it is not a readable private key (copy the key again, every line)") from None
    if not isinstance(key, RSAPrivateKey):
        # a configuration error, reported as a ValueError like the others
        raise ValueError(f"must be an RSA key: Okta's private_key_jwt is signed with {ALGORITHM} here")  # noqa: TRY004
    if key.key_size < MIN_RSA_BITS:
        raise ValueError(f"is a {key.key_size}-bit RSA key: Okta refuses keys under {MIN_RSA_BITS} bits")
    return key


def _who_may_read(path: Path) -> str:
    try:
        stat = path.stat()
    except OSError:
        return "permission denied on a folder on the way to it"
    return (
        f"it belongs to uid {stat.st_uid} (gid {stat.st_gid}) with mode {stat.st_mode & 0o777:04o}, and the bot runs "
        f"as uid {os.getuid()}: give the file to that user (chown {os.getuid()} {path})"
    )


def _rsa_members(public_key: RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"n": _b64url(_unsigned(numbers.n)), "e": _b64url(_unsigned(numbers.e))}


def _unsigned(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
