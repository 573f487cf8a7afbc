"""The audit trail: `AuditRecord`s appended to a Redis Stream by `AuditLog` (see audit/log.py for keys)."""

from audit.log import LUA_LIBRARY, AuditLog
from audit.record import AuditEntry, AuditRecord, Source

__all__ = ["LUA_LIBRARY", "AuditEntry", "AuditLog", "AuditRecord", "Source"]
