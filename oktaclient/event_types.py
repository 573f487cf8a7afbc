"""The System Log event types an Okta event hook may subscribe to, as Okta documents them
(developer.okta.com: Event Types, "Event hook eligible"), shipped with the client: `hooks register`
chooses from it, and the Okta simulator refuses the others as Okta does."""

from __future__ import annotations

import json
from importlib.resources import files

ELIGIBLE_EVENT_TYPES: frozenset[str] = frozenset(
    json.loads((files("oktaclient") / "event_hook_types.json").read_text())["eventTypes"]
)
