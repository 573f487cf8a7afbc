"""The alert pipeline as one async context manager, for the bot's `serve`:

    async with AlertService(redis, slack_port, policy, org_url=org_url, consumer_name=socket.gethostname()):
        await server.serve_until(stop)

Inside the block, `workers` AlertWorkers (consumers `<consumer_name>-1` ... `-N` of the alert
stream's group) post events to the channels the policy routes them to, and with `poll_logs` a
LogPoller feeds the stream from the System Log. A loop that fails is logged and started again, fresh,
after a backoff (doubling up to a minute), so neither a bug nor an outage takes the server down.
Leaving the block stops them: workers first finish the posts they have started and hand back what
they have only read. Even one cut off mid-post loses nothing: whichever worker takes its entries
over finishes it (see alerts/publisher.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from types import TracebackType
from typing import Self

import redis.asyncio as aioredis

from alerts.digest import DigestSettings
from alerts.poller import LogPoller
from alerts.sink import Sink
from alerts.worker import AlertWorker
from oktaclient import OktaClient
from policy import Policy

log = logging.getLogger(__name__)

MAX_RESTART_DELAY_S = 60.0


class AlertService:
    def __init__(
        self,
        redis: aioredis.Redis,
        sink: Sink,
        policy: Policy,
        *,
        org_url: str,
        consumer_name: str,
        okta: OktaClient | None = None,
        poll_logs: bool = False,
        workers: int = 2,
        poll_interval_s: float = 30.0,
        restart_delay_s: float = 1.0,
        stop_grace_s: float = 10.0,
    ) -> None:
        """`org_url` is where alert links point; `consumer_name` should survive restarts (the host
        name), so that each restart does not leave a new consumer in the group. `sink`: the Slack port
        (one for the whole process, so that pacing per channel holds across workers and other posts).
        `restart_delay_s`: the
        first delay before a failed loop runs again. `stop_grace_s`: how long leaving the block waits
        for posts under way."""
        if workers < 1:
            raise ValueError("workers must be at least 1")
        if poll_logs and okta is None:
            raise ValueError("poll_logs needs an Okta client")
        self._redis = redis
        self._policy = policy
        self._org_url = org_url
        self._consumer_name = consumer_name
        self._workers = workers
        self._restart_delay_s = restart_delay_s
        self._sink = sink
        alerts = policy.alerts
        self._digest = (
            None if alerts is None else DigestSettings(threshold=alerts.digest.threshold, window_s=alerts.digest.window)
        )
        self._poller = LogPoller(redis, okta) if poll_logs and okta is not None else None
        self._poll_interval_s = poll_interval_s
        self._stop_grace_s = stop_grace_s
        self._tasks: list[asyncio.Task[None]] = []
        self._poller_task: asyncio.Task[None] | None = None
        self._live: dict[int, AlertWorker] = {}  # the running worker of each number
        self._stopping = asyncio.Event()

    def _new_worker(self, number: int) -> AlertWorker:
        return AlertWorker(
            self._redis,
            self._sink,
            self._policy.route_event,
            f"{self._consumer_name}-{number}",
            org_url=self._org_url,
            digest=self._digest,
        )

    async def __aenter__(self) -> Self:
        if self._policy.alerts is None:
            log.warning("the policy has no 'alerts' section: Okta events are received and dropped")
        # Creating the group here makes a Redis that does not answer fail the start-up, not a worker later.
        await self._new_worker(1).ensure_group()
        for number in range(1, self._workers + 1):
            self._spawn(f"alert worker {self._consumer_name}-{number}", partial(self._run_worker, number))
        if self._poller is not None:
            self._poller_task = self._spawn("System Log poller", partial(self._poller.run, self._poll_interval_s))
        log.info("alerts: %d workers started%s", self._workers, ", polling the System Log" if self._poller else "")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Workers finish the posts they have started (for up to `stop_grace_s`), so that nothing waits
        for a reclaim after a restart; what is still running then is cancelled. The poller stops at once:
        its cursor moves in the same step as the events it covers."""
        self._stopping.set()
        for worker in self._live.values():
            worker.stop()
        if self._poller_task is not None:
            self._poller_task.cancel()
        _, late = await asyncio.wait(self._tasks, timeout=self._stop_grace_s)
        cut_off = len(late)
        while late:
            # Again until it takes: Python 3.11's asyncio.wait_for, with which redis-py sends each command,
            # drops a cancel that lands as the send completes, and the poller loops until cancelled.
            for task in late:
                task.cancel()
            _, late = await asyncio.wait(late, timeout=1.0)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        log.info("alerts: stopped%s", f" ({cut_off} cut off after {self._stop_grace_s:g} s)" if cut_off else "")

    def _spawn(self, name: str, start: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._supervise(name, start), name=name)
        self._tasks.append(task)
        return task

    async def _run_worker(self, number: int) -> None:
        # A fresh worker each time: nothing of a failed one is kept.
        worker = self._live[number] = self._new_worker(number)
        await worker.run()

    async def _supervise(self, name: str, start: Callable[[], Awaitable[None]]) -> None:
        """Runs `start()` until the service stops, and again after a delay each time it fails (or
        returns unasked: it is a loop that is not meant to end)."""
        delay = self._restart_delay_s
        while not self._stopping.is_set():
            started = time.monotonic()
            error: Exception | None = None
            try:
                await start()
            except Exception as exc:  # noqa: BLE001 - whatever ended the loop, it is logged and restarted
                error = exc
            if self._stopping.is_set() and error is None:
                return
            if time.monotonic() - started > MAX_RESTART_DELAY_S:
                delay = self._restart_delay_s  # it ran a good while: a new trouble, not the same one again
            what = "failed" if error else "returned"
            log.error("%s %s; restarting it in %.1f s", name, what, delay, exc_info=error)
            with contextlib.suppress(TimeoutError):  # the delay, unless the service stops meanwhile
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, MAX_RESTART_DELAY_S)
