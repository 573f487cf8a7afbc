"""Builds the Lua source of each approval script: audit fragment + shared library + the body.

Redis 6.2 has no server-side function libraries, so shared Lua is shared by prepending it; each
composed script is registered once and then run by EVALSHA.
"""

from __future__ import annotations

from importlib.resources import files

from audit import LUA_LIBRARY as AUDIT_LUA

_SCRIPTS = files("approvals") / "scripts"


def script_source(name: str) -> str:
    """The full source for `scripts/<name>.lua`."""
    return "\n".join((AUDIT_LUA, (_SCRIPTS / "lib.lua").read_text(), (_SCRIPTS / f"{name}.lua").read_text()))
