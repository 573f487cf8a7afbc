"""Okta Verify push transactions: started by a factor verify call, answered by the test or sandbox
(standing in for the user's phone), polled by the client until SUCCESS, REJECTED or TIMEOUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from oktasim._clock import Clock, iso
from oktasim._ids import IdFactory
from oktasim._records import Factor, User, href

PUSH_LIFETIME = timedelta(minutes=5)  # Okta times a push challenge out after five minutes
ANSWERS = frozenset({"SUCCESS", "REJECTED", "TIMEOUT"})


@dataclass
class PushTransaction:
    id: str
    user_id: str
    factor_id: str
    expires_at: datetime
    result: str = "WAITING"
    correct_answer: int | None = None  # set when the caller asked for a number matching challenge


class PushBook:
    def __init__(self, clock: Clock, ids: IdFactory) -> None:
        self._clock = clock
        self._ids = ids
        self.transactions: dict[str, PushTransaction] = {}
        self._preset: dict[str, str] = {}  # user id -> the answer for that user's next push

    def start(self, user: User, factor: Factor, *, number_challenge: bool = False) -> PushTransaction:
        tx = PushTransaction(
            id="v2mst." + self._ids.chars(22),
            user_id=user.id,
            factor_id=factor.id,
            expires_at=self._clock.now() + PUSH_LIFETIME,
            result=self._preset.pop(user.id, "WAITING"),
            correct_answer=self._ids.number(1, 99) if number_challenge else None,
        )
        self.transactions[tx.id] = tx
        return tx

    def result(self, tx: PushTransaction) -> str:
        if tx.result == "WAITING" and self._clock.now() >= tx.expires_at:
            tx.result = "TIMEOUT"
        return tx.result

    def answer(self, key: str, result: str, number: int | None = None) -> PushTransaction | None:
        """Answers transaction `key`, or the newest waiting push of user `key`; with none waiting, the
        user's next push is answered as soon as it starts (returns None then). `number`: the number
        the user picked on a number matching challenge; a wrong one ends the push REJECTED, as the
        phone does (None: they picked the right one)."""
        if result not in ANSWERS:
            raise ValueError(f"a push is answered with one of {sorted(ANSWERS)}, not {result!r}")
        tx = self.transactions.get(key)
        if tx is None:
            waiting = [t for t in self.transactions.values() if t.user_id == key and self.result(t) == "WAITING"]
            if not waiting:
                self._preset[key] = result
                return None
            tx = waiting[-1]
        wrong = number is not None and tx.correct_answer is not None and number != tx.correct_answer
        tx.result = "REJECTED" if result == "SUCCESS" and wrong else result
        return tx


def transaction_json(
    tx: PushTransaction, result: str, user: User, base: str, *, challenge: bool = False
) -> dict[str, Any]:
    """A transaction as polling shows it; `challenge`: as the verify call that starts it shows it (no profile)."""
    factor_url = f"{base}/api/v1/users/{user.id}/factors/{tx.factor_id}"
    if result == "SUCCESS":
        return {"factorResult": "SUCCESS"}
    if result == "WAITING":
        tx_url = f"{factor_url}/transactions/{tx.id}"
        waiting: dict[str, Any] = {
            "expiresAt": iso(tx.expires_at),
            "factorResult": "WAITING",
            "_links": {"poll": href(tx_url, "GET"), "cancel": href(tx_url, "DELETE")},
        }
        if not challenge:
            waiting["profile"] = {"credentialId": user.login}
        if tx.correct_answer is not None:
            waiting["_embedded"] = {"challenge": {"correctAnswer": tx.correct_answer}}
        return waiting
    return {
        "factorResult": result,
        "profile": {"credentialId": user.login},
        "_links": {"verify": href(f"{factor_url}/verify", "POST"), "factor": href(factor_url, "GET", "DELETE")},
    }
