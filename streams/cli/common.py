"""What the command modules share: the settings, the current instant."""
from __future__ import annotations

from datetime import UTC, datetime


def settings():
    from streams.runtime.settings import Settings
    return Settings()


def now() -> datetime:
    """The current instant (aware, UTC); job dates derive from it in JST, never the host's zone."""
    return datetime.now(UTC)
