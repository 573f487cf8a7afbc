"""The service app's keys: the forms OKTA_PRIVATE_KEY takes, the kid, and a rotation against the Okta stand-in.

Okta (and the stand-in) verify a client assertion with the ACTIVE key its `kid` names; during a rotation
the app holds both public keys and the client signs with its active one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.server import BackgroundServer
from oktaclient import OktaAuthError, OktaClient, SigningKey, load_signing_keys
from oktaclient._keys import thumbprint
from oktasim import OktaOrg

CLIENT_ID = "0oachatopsrotation00"
SCOPES = ["okta.users.read"]
ERIN = "erin.employee@acme.example"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def two_keys() -> tuple[SigningKey, SigningKey]:
    """(old, new): generated once, since RSA key generation is slow."""
    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    return load_signing_keys(_pem(old))[0], load_signing_keys(_pem(new))[0]


def test_the_kid_is_the_rfc_7638_thumbprint() -> None:
    # The example of RFC 7638, section 3.1, with the thumbprint it gives.
    jwk = {
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
        "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQv"
        "RL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    }
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(public, rsa.RSAPublicKey)
    assert thumbprint(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_the_public_jwk_is_what_okta_takes(two_keys: tuple[SigningKey, SigningKey]) -> None:
    key = two_keys[0]
    jwk = key.public_jwk()
    assert set(jwk) == {"kty", "kid", "use", "alg", "n", "e"}
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["kid"]) == ("RSA", "sig", "RS256", key.kid)
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key.private_key.public_key().public_numbers()
    assert key.kid not in repr(key.private_key) and "PRIVATE" not in repr(key)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda pem: pem.splitlines()[0], "has a -----BEGIN line but no matching -----END line"),
        (lambda pem: pem.replace("PRIVATE", "PUBLIC"), "is a public key: the bot needs the private key"),
        (lambda pem: pem.replace("PRIVATE KEY", "CERTIFICATE"), "holds a certificate, not a private key"),
        (lambda pem: pem.replace("PRIVATE", "ENCRYPTED PRIVATE"), "is encrypted"),
        (lambda pem: pem[:200] + pem[-40:], "is damaged"),
        (lambda pem: pem.replace("M", "*", 1), "is damaged: its body is not base64"),
        (lambda pem: pem + pem, "holds the same key twice"),
        (lambda pem: "", "is empty"),
        (lambda pem: "".join(pem.splitlines()[1:-1]), "looks like a key's base64 body without its -----BEGIN"),
        (lambda pem: pem.splitlines()[1][:40], "is not PEM text, and there is no file at the path given"),
    ],
)
def test_what_is_not_a_usable_key_says_why_without_quoting_it(
    two_keys: tuple[SigningKey, SigningKey], make: object, reason: str
) -> None:
    pem = two_keys[0].pem()
    with pytest.raises(ValueError, match=reason) as caught:
        load_signing_keys(make(pem))  # type: ignore[operator]
    body = pem.splitlines()[3]
    assert body not in str(caught.value)


def test_small_keys_are_refused_as_okta_refuses_them() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="1024-bit RSA key: Okta refuses keys under 2048 bits"):
        load_signing_keys(_pem(small))


@pytest.mark.slow  # a real process
def test_a_key_file_the_bot_cannot_read_names_owner_mode_and_user(
    two_keys: tuple[SigningKey, SigningKey], tmp_path: Path
) -> None:
    """The way a container's user meets a key mounted from the host that belongs to someone else."""
    key_file = tmp_path / "okta-chatops.key"
    key_file.write_text(two_keys[0].pem())
    key_file.chmod(0o400)
    code = "from oktaclient import load_signing_keys; load_signing_keys(__import__('sys').argv[1])"
    command = [sys.executable, "-c", code, str(key_file)]
    if os.getuid() == 0:  # root reads any file: the file goes to another user and root loses that power
        os.chown(key_file, 10001, 10001)
        command = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", *command]
    else:
        key_file.chmod(0o000)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    stat = key_file.stat()
    assert f"cannot read {key_file}: it belongs to uid {stat.st_uid} (gid {stat.st_gid})" in result.stderr
    assert f"mode {stat.st_mode & 0o777:04o}, and the bot runs as uid {os.getuid()}" in result.stderr
    assert "PRIVATE" not in result.stderr


# -- against the Okta stand-in ------------------------------------------------------------------


def _bundle(*keys: SigningKey) -> str:
    return "".join(key.pem() for key in keys)


def _client(okta_sim: BackgroundServer, private_keys: str) -> OktaClient:
    return OktaClient.from_private_key(okta_sim.url, CLIENT_ID, private_keys, scopes=SCOPES, max_retries=0)


def _errors(okta_org: OktaOrg) -> list[str | None]:
    """The token endpoint's answer to each token request: an OAuth error, or None when it issued a token."""
    return [t.error for t in okta_org.token_requests]


async def test_during_a_rotation_okta_holds_both_keys_and_the_client_signs_with_the_active_one(
    okta_org: OktaOrg, okta_sim: BackgroundServer, two_keys: tuple[SigningKey, SigningKey]
) -> None:
    old, new = two_keys
    okta_org.register_oauth_client(CLIENT_ID, [old.public_jwk(), new.public_jwk()], SCOPES)
    async with _client(okta_sim, _bundle(new, old)) as okta:
        assert okta.auth.key_id == new.kid  # type: ignore[attr-defined]
        assert (await okta.get_user(ERIN)).profile.login == ERIN
    assert _errors(okta_org) == [None]
    # Okta picks the key by kid: the old key alone is still accepted (replicas not yet rolled over)...
    async with _client(okta_sim, old.pem()) as okta:
        await okta.get_user(ERIN)
    # ...until it is deactivated in Okta; then it is refused as Okta refuses it.
    okta_org.register_oauth_client(CLIENT_ID, [old.public_jwk() | {"status": "INACTIVE"}, new.public_jwk()], SCOPES)
    async with _client(okta_sim, old.pem()) as okta:
        with pytest.raises(OktaAuthError, match="The client_assertion JWT kid is invalid"):
            await okta.get_user(ERIN)


async def test_a_new_key_not_yet_in_okta_falls_back_to_the_previous_key_loudly(
    okta_org: OktaOrg,
    okta_sim: BackgroundServer,
    two_keys: tuple[SigningKey, SigningKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    old, new = two_keys
    okta_org.register_oauth_client(CLIENT_ID, [old.public_jwk()], SCOPES)
    okta_org.access_token_ttl = 1
    with caplog.at_level(logging.WARNING, logger="oktaclient"):
        async with _client(okta_sim, _bundle(new, old)) as okta:
            await okta.get_user(ERIN)
            okta_org.advance_time(2)  # the token expires: the next one is asked for with the active key again
            okta_org.register_oauth_client(CLIENT_ID, [old.public_jwk(), new.public_jwk()], SCOPES)
            await okta.get_user(ERIN)
    assert _errors(okta_org) == ["invalid_client", None, None]
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    message = warning.getMessage()
    assert f"active key (kid {new.kid})" in message and f"previous key (kid {old.kid})" in message
    assert f"service app {CLIENT_ID}" in message


async def test_without_a_previous_key_a_refused_key_is_an_error_after_one_request(
    okta_org: OktaOrg, okta_sim: BackgroundServer, two_keys: tuple[SigningKey, SigningKey]
) -> None:
    old, new = two_keys
    okta_org.register_oauth_client(CLIENT_ID, [old.public_jwk()], SCOPES)
    async with _client(okta_sim, new.pem()) as okta:
        with pytest.raises(OktaAuthError, match="invalid_client"):
            await okta.get_user(ERIN)
    assert _errors(okta_org) == ["invalid_client"]


def test_the_stand_in_refuses_keys_okta_refuses(two_keys: tuple[SigningKey, SigningKey], okta_org: OktaOrg) -> None:
    old, new = two_keys
    no_kid = {k: v for k, v in new.public_jwk().items() if k != "kid"}
    refusals = {
        "unique kid when adding multiple keys": [old.public_jwk(), no_kid],
        "must have a unique `kid`": [old.public_jwk(), old.public_jwk()],
        "a public JWK is expected": [json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(old.private_key))],
        "less than '2,048' bits": [
            json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key()))
        ],
    }
    for reason, keys in refusals.items():
        with pytest.raises(ValueError, match=reason):
            okta_org.register_oauth_client(CLIENT_ID, keys, SCOPES)
