"""How a stopping process spends its time: `docker stop` sends SIGTERM, and SIGKILL 10 s later.

Counted from the signal: the server stops accepting at once and finishes the requests in flight
(an ack takes milliseconds); the sweeper, the alert workers and Socket Mode stop (the workers hand
back what they have not posted, for another replica); acked work may still start until START_BY_S,
and what has not is dropped, each person told nothing was done; work still running at FINISH_BY_S
is cut, the person told (an approval's execution hands its lease back, so another replica settles
it at once); queued channel announcements are posted until ANNOUNCE_BY_S. Closing the clients and
the embedded Redis fits in the rest: the process is gone within EXIT_WITHIN_S.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

EXIT_WITHIN_S = 8.0
START_BY_S = 2.5
FINISH_BY_S = 5.0
ANNOUNCE_BY_S = 6.5
WORKERS_GRACE_S = 3.0  # for alert posts under way to finish; the rest is handed back


@dataclass(frozen=True)
class Deadlines:
    """The shutdown's deadlines on the loop's clock."""

    start_by: float
    finish_by: float
    announce_by: float

    @classmethod
    def from_signal(cls, at: float | None) -> Deadlines:
        """Counted from `at`, when the stop signal came (or from now, if none did)."""
        start = asyncio.get_running_loop().time() if at is None else at
        return cls(start + START_BY_S, start + FINISH_BY_S, start + ANNOUNCE_BY_S)


def left(deadline: float) -> float:
    """Seconds until `deadline` (loop clock), 0 once it has passed."""
    return max(0.0, deadline - asyncio.get_running_loop().time())
