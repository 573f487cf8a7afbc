"""The package version, for the User-Agent Okta sees (and logs in its System Log)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("okta-chatops")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
