"""`okta-chatops audit export`: the audit trail out of Redis, for a SIEM (SOC 2 evidence).

    okta-chatops audit export [--since 7d] [--format jsonl|csv]    # every record since then, oldest first
    okta-chatops audit export --follow [--out FILE | --hec]        # and every new one, as JSON lines

Each record carries `"schema": 1` (the exported shape's version) and `id`, its stream entry id
(time-ordered and unique: a SIEM can drop a duplicate by it). `--follow` writes JSON lines to stdout,
appends them to FILE, or posts them to a Splunk HEC-compatible endpoint (AUDIT_HEC_URL, with
`Authorization: Splunk <AUDIT_HEC_TOKEN>`) as `{"time", "sourcetype": "okta-chatops:audit", "event"}`.
After each batch is written (file: flushed to disk) or accepted (HEC: a 2xx), its last id is saved in
Redis, `okc:audit:export:{--name}`; a restart resumes there, so nothing is lost. A batch the endpoint
refuses is sent again, whole, until it is accepted: an endpoint that stored it but whose answer was
lost gets it twice (the `id` tells); nothing else is sent twice.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast

import httpx
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from audit import AuditEntry, AuditLog, AuditRecord
from bot.redis_client import connect_redis
from bot.settings import Settings, load_settings

log = logging.getLogger(__name__)

SCHEMA = 1
SOURCETYPE = "okta-chatops:audit"
CURSOR_PREFIX = "okc:audit:export:"
PAGE = 500  # records read and sent at once
POLL_SECONDS = 1.0  # how often --follow looks for new records
RETRY_SECONDS = 5.0  # after a refused batch
_SPAN = re.compile(r"([1-9][0-9]{0,4})([mhd])")
_SPAN_SECONDS = {"m": 60, "h": 3600, "d": 86400}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
COLUMNS = ("schema", "id", *AuditRecord.model_fields)
_FORMULA = tuple("=+-@\t\r")  # a CSV cell starting with these is a formula to a spreadsheet


class _Refused(Exception):
    """The command cannot go ahead as asked; the message says why (exit code 2)."""


def register(sub: Any) -> None:
    audit = sub.add_parser("audit", help="the audit trail: export it (once, or continuously to a file or a SIEM)")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="every audit record since a time, oldest first; --follow for new ones")
    export.add_argument("--since", type=_span, default=timedelta(days=7), help="how far back: 30m, 24h, 7d (default 7d)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="JSON lines (default) or CSV")
    export.add_argument("--follow", action="store_true", help="keep exporting new records as JSON lines")
    to = export.add_mutually_exclusive_group()
    to.add_argument("--out", type=Path, help="with --follow: append to this file")
    to.add_argument("--hec", action="store_true", help="with --follow: post to AUDIT_HEC_URL (Splunk HEC shape)")
    export.add_argument("--name", type=_name, help="with --follow: the saved position's name (default: stdout, file or hec)")
    audit.set_defaults(run=run)


def _span(raw: str) -> timedelta:
    match = _SPAN.fullmatch(raw)
    if match is None:
        raise argparse.ArgumentTypeError("must be minutes, hours or days, like 30m, 24h, 7d")
    return timedelta(seconds=int(match[1]) * _SPAN_SECONDS[match[2]])


def _name(raw: str) -> str:
    if not _NAME.fullmatch(raw):
        raise argparse.ArgumentTypeError("lower-case letters, digits, - and _, at most 64")
    return raw


def exported(entry: AuditEntry) -> dict[str, Any]:
    """One record in the exported shape (schema 1): `schema`, `id`, then the record's fields."""
    return {"schema": SCHEMA, "id": entry.id, **entry.record.model_dump(mode="json")}


def hec_event(entry: AuditEntry) -> dict[str, Any]:
    return {"time": entry.record.at.timestamp(), "sourcetype": SOURCETYPE, "event": exported(entry)}


async def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        if (args.out or args.hec or args.name) and not args.follow:
            raise _Refused("--out, --hec and --name go with --follow")
        if args.follow and args.format != "jsonl":
            raise _Refused("--follow writes JSON lines only")
        client = connect_redis(settings, _embedded_url(settings))
        try:
            return await _export(args, settings, client.redis)
        except (RedisError, OSError) as exc:
            print(f"okta-chatops audit: {client.where} did not answer ({type(exc).__name__})", file=sys.stderr)
            return 1
        finally:
            await client.aclose()
    except _Refused as exc:
        print(f"okta-chatops audit: {exc}", file=sys.stderr)
        return 2


def _embedded_url(settings: Settings) -> str | None:
    if not settings.redis_embedded:
        return None
    socket = (settings.data_dir / "redis" / "redis.sock").resolve()  # where bot/runtime.py starts it
    if not socket.exists():
        raise _Refused(
            f"REDIS_URL is not set and no bot is running on DATA_DIR={settings.data_dir} (no {socket}): "
            "the trail is in the bot's Redis; set REDIS_URL, or run this beside the bot"
        )
    return f"unix://{socket}?db=0"


async def _export(args: argparse.Namespace, settings: Settings, redis: aioredis.Redis) -> int:
    audit, start = AuditLog(redis), datetime.now(UTC) - args.since
    if not args.follow:
        write = _csv_writer(sys.stdout) if args.format == "csv" else _jsonl_writer(sys.stdout)
        cursor: datetime | str = start
        while entries := await audit.since(cursor, PAGE):
            write(entries)
            cursor = entries[-1].id
        return 0
    if args.hec:
        if not (settings.audit_hec_url and settings.audit_hec_token):
            raise _Refused("--hec needs AUDIT_HEC_URL and AUDIT_HEC_TOKEN")
        async with httpx.AsyncClient(timeout=10.0) as http:
            sink = HecSink(http, settings.audit_hec_url, settings.audit_hec_token.get_secret_value())
            await Follower(redis, sink, args.name or "hec", start).run()
    elif args.out:
        with args.out.open("a", encoding="utf-8") as out:
            await Follower(redis, FileSink(out), args.name or "file", start).run()
    else:
        await Follower(redis, FileSink(sys.stdout), args.name or "stdout", start).run()
    return 0


def _jsonl_writer(out: TextIO) -> Callable[[Sequence[AuditEntry]], None]:
    def write(entries: Sequence[AuditEntry]) -> None:
        out.writelines(json.dumps(exported(e), ensure_ascii=False) + "\n" for e in entries)

    return write


def _csv_writer(out: TextIO) -> Callable[[Sequence[AuditEntry]], None]:
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()

    def write(entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            writer.writerow({k: _cell(v) for k, v in exported(entry).items()})

    return write


def _cell(value: object) -> object:
    # what people typed (a detail, a target) must not run as a formula when the CSV is opened
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA) else value


# --- following ------------------------------------------------------------------------------------

Sink = Callable[[Sequence[AuditEntry]], Awaitable[None]]


class FileSink:
    """JSON lines to an open file (or stdout), on disk before the position moves past them."""

    def __init__(self, out: TextIO) -> None:
        self._write = _jsonl_writer(out)
        self._out = out

    async def __call__(self, entries: Sequence[AuditEntry]) -> None:
        self._write(entries)
        self._out.flush()
        if self._out.isatty() or self._out is sys.stdout:
            return
        os.fsync(self._out.fileno())


class HecSink:
    """A Splunk HTTP Event Collector (or anything speaking its shape): one POST per batch, the events
    concatenated; accepted on a 2xx, else `HecRefused`."""

    def __init__(self, http: httpx.AsyncClient, url: str, token: str) -> None:
        self._http = http
        self._url = url
        self._headers = {"Authorization": f"Splunk {token}", "Content-Type": "application/json"}

    async def __call__(self, entries: Sequence[AuditEntry]) -> None:
        body = "\n".join(json.dumps(hec_event(e), ensure_ascii=False) for e in entries)
        try:
            response = await self._http.post(self._url, content=body.encode(), headers=self._headers)
        except httpx.HTTPError as exc:
            raise HecRefused(type(exc).__name__) from exc
        if not response.is_success:
            raise HecRefused(f"HTTP {response.status_code}")


class HecRefused(Exception):
    """The endpoint did not accept a batch (its status or the transport error, never the token)."""


class Follower:
    """Sends every record after the saved position, batch by batch, saving the position after each
    accepted one; then waits for new records. A refused batch is sent again after `retry` seconds."""

    def __init__(
        self, redis: aioredis.Redis, sink: Sink, name: str, start: datetime,
        *, poll: float = POLL_SECONDS, retry: float = RETRY_SECONDS,
    ) -> None:
        self._redis = redis
        self._audit = AuditLog(redis)
        self._sink = sink
        self._key = CURSOR_PREFIX + name
        self._start = start
        self._poll = poll
        self._retry = retry

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set (or forever): each pass sends what is there, then waits `poll`."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            await self.send_pending(stop)
            try:
                await asyncio.wait_for(stop.wait(), self._poll)
            except TimeoutError:
                pass

    async def send_pending(self, stop: asyncio.Event) -> int:
        """Send every record after the saved position; how many were accepted."""
        sent = 0
        saved = cast(str | None, await self._redis.get(self._key))  # decode_responses=True: str
        cursor: datetime | str = saved or self._start
        while not stop.is_set() and (entries := await self._audit.since(cursor, PAGE)):
            try:
                await self._sink(entries)
            except HecRefused as exc:
                log.warning("audit export: %d records not accepted (%s); sent again in %.0fs", len(entries), exc, self._retry)
                try:
                    await asyncio.wait_for(stop.wait(), self._retry)
                except TimeoutError:
                    pass
                continue
            cursor = entries[-1].id
            await self._redis.set(self._key, cursor)
            sent += len(entries)
        return sent
