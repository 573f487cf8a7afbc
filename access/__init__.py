"""Time-bound access: group membership that ends by itself. Grants in Redis (store.py, scripts/),
giving, extending and ending them exactly once (grants.py), what the member reads (messages.py),
the background service that ends them on time (service.py). See docs/policy.md, `access`."""

from access.clock import Clock, SystemClock
from access.grants import Given, GrantConflict, Grants, Review
from access.models import Ending, Grant, GrantState
from access.service import run_access
from access.store import GrantStore

__all__ = [
    "Clock", "Ending", "Given", "Grant", "GrantConflict", "GrantState", "GrantStore", "Grants", "Review", "SystemClock", "run_access",
]
