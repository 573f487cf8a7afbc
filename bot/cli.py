"""`okta-chatops` command line: serve the bot, serve the Okta simulator, and operator tools.

Each subcommand lives in its own module, which exposes `register(subparsers)`; the parsed
arguments carry `run`, an async function returning the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import uvloop

from bot.settings import SettingsError

SUBCOMMANDS = (
    "bot.serve", "bot.simulator_cli", "bot.manifest", "bot.check", "bot.hooks_cli", "bot.keys_cli", "bot.alerts_cli",
    "bot.audit_cli",
)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # uvloop: a fraction of asyncio's CPU per connection, which is most of an ack's cost
        return uvloop.run(args.run(args)) or 0
    except SettingsError as exc:
        print(f"okta-chatops: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="okta-chatops", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
