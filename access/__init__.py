"""Time-bound access: group membership that ends by itself. Grants in Redis (store.py, scripts/),
giving, extending and ending them exactly once (grants.py), what the member reads (messages.py),
break-glass taken by the on-call and reviewed afterwards (break_glass.py, break_glass_messages.py),
the background service that ends them on time (service.py). See docs/policy.md, `access`."""

from access.break_glass import BreakGlassGrants, Review
from access.clock import Clock, SystemClock
from access.grants import Given, GrantConflict, Grants
from access.models import Ending, Grant, GrantState
from access.service import run_access
from access.store import GrantStore

__all__ = [
    "BreakGlassGrants", "Clock", "Ending", "Given", "Grant", "GrantConflict", "GrantState", "GrantStore", "Grants", "Review",
    "SystemClock", "run_access",
]
