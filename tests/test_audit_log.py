"""The audit trail in a real Redis Stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError

from audit import AuditLog, AuditRecord
from audit.record import DETAIL_MAX

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def record(**changes: object) -> AuditRecord:
    values: dict[str, object] = {
        "at": AT, "actor": "U1", "verb": "unlock", "target": "lee@acme.example",
        "outcome": "succeeded", "source": "command",
    }
    return AuditRecord.model_validate(values | changes)


async def test_append_writes_the_one_field_layout_and_reads_back(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    rec = record(actor_email="ann@acme.example", detail="ok", okta_request_id="req-1", approval_id="ap1")
    entry_id = await log.append(rec)

    [(raw_id, fields)] = await redis.xrange("okc:audit")
    assert raw_id == entry_id
    assert [part for item in fields.items() for part in item] == rec.to_fields()
    assert fields["at"] == "2024-05-01T12:00:00+00:00" and fields["actor_email"] == "ann@acme.example"
    [entry] = await log.recent(1)
    assert entry.id == entry_id and entry.record == rec


async def test_recent_is_newest_first_and_since_reads_on_from_a_time_or_a_cursor(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    ids = [await log.append(record(verb=f"v{i}")) for i in range(5)]

    assert [e.record.verb for e in await log.recent(3)] == ["v4", "v3", "v2"]
    assert [e.id for e in await log.since(ids[1])] == ids[2:]  # strictly after the cursor
    assert [e.id for e in await log.since(ids[1], count=2)] == ids[2:4]
    everything = await log.since(datetime.now(UTC) - timedelta(minutes=1))  # entry ids are server time
    assert [e.id for e in everything] == ids
    assert await log.since(datetime.now(UTC) + timedelta(minutes=1)) == []


async def test_for_approval_uses_the_index_and_skips_trimmed_entries(redis: aioredis.Redis) -> None:
    log = AuditLog(redis, index_ttl=3600)
    await log.append(record(approval_id="a1", outcome="requested"))
    await log.append(record(approval_id="other"))
    await log.append(record())
    await log.append(record(approval_id="a1", outcome="approved"))

    assert [e.record.outcome for e in await log.for_approval("a1")] == ["requested", "approved"]
    assert 0 < await redis.ttl("okc:audit:approval:a1") <= 3600
    assert await log.for_approval("nope") == []

    await redis.xtrim("okc:audit", maxlen=0, approximate=False)
    assert await log.for_approval("a1") == []


async def test_the_stream_is_capped_with_approximate_trimming(redis: aioredis.Redis) -> None:
    log = AuditLog(redis, stream="okc:audit:small", maxlen=50)
    for i in range(600):
        await log.append(record(verb=f"v{i}"))
    # MAXLEN ~ drops whole stream nodes (100 entries each by default): never below maxlen, not far above
    assert 50 <= await redis.xlen("okc:audit:small") <= 50 + 100


def test_record_validation() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        record(at=datetime(2024, 5, 1, 12, 0))
    with pytest.raises(ValidationError):
        record(source="email")
    with pytest.raises(ValidationError):  # no field can carry a secret: unknown fields are refused
        record(reset_url="https://acme.okta.com/reset/abc")

    assert record(at=datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))).at == AT
    long = record(detail="x" * 5000).detail
    assert len(long) == DETAIL_MAX and long.endswith("…")
    assert AuditRecord.from_fields(dict(zip(*[iter(record().to_fields())] * 2, strict=True))) == record()


async def test_a_users_history_is_theirs_only_newest_first_and_the_scan_is_bounded(redis: aioredis.Redis) -> None:
    log = AuditLog(redis)
    lee, other = "lee@acme.example", "someone.else@acme.example"
    for i in range(1200):  # across several pages of the scan
        await log.append(record(verb=f"v{i}", target=lee if i % 100 == 0 else other))

    history = await log.recent(5, target=lee)
    assert [e.record.verb for e in history] == ["v1100", "v1000", "v900", "v800", "v700"]
    assert all(e.record.target == lee for e in history)
    # only the newest 250 entries are looked at: v1100 and v1000 are among them, v900 is not
    assert [e.record.verb for e in await log.recent(5, target=lee, scan=250)] == ["v1100", "v1000"]
