"""The audit trail and the one recorder: `AuditRecord`s appended to a Redis Stream by `AuditLog`
(see audit/log.py for keys), counted and announced by `Recorder` (audit/recorder.py)."""

from audit.log import LUA_LIBRARY, AuditLog
from audit.record import AuditEntry, AuditRecord, Source
from audit.recorder import Recorder

__all__ = ["LUA_LIBRARY", "AuditEntry", "AuditLog", "AuditRecord", "Recorder", "Source"]
