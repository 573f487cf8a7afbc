"""Okta-shaped identifiers, drawn from a seeded generator so a seeded org is identical on every run."""

from __future__ import annotations

import random
import string
import uuid

_ALPHABET = string.ascii_letters + string.digits

# Okta ids are 20 characters whose first three say what the object is.
USER = "00u"
GROUP = "00g"
USER_TYPE = "oty"
EVENT_HOOK = "who"
FACTOR_PREFIX = {
    "push": "opf",
    "sms": "mbl",
    "call": "clf",
    "email": "emf",
    "token:software:totp": "ost",
    "webauthn": "fwf",
}


class IdFactory:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def chars(self, length: int) -> str:
        return "".join(self._rng.choice(_ALPHABET) for _ in range(length))

    def okta_id(self, prefix: str) -> str:
        return prefix + self.chars(20 - len(prefix))

    def factor_id(self, factor_type: str) -> str:
        return self.okta_id(FACTOR_PREFIX.get(factor_type, "fac"))

    def number(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
