"""The one clock every expiry, window and rate limit reads.

Tests move time with the ``clock`` fixture (tests/conftest.py), which shifts
this clock, instead of sleeping or patching the world.
"""
import time
from datetime import datetime, timedelta, timezone

_offset_seconds: float = 0.0


def timestamp() -> float:
    """Return seconds since the epoch, as time.time() would, plus any test offset."""
    return time.time() + _offset_seconds


def now() -> datetime:
    """Return the current aware UTC datetime."""
    return datetime.now(timezone.utc) + timedelta(seconds=_offset_seconds)


def advance(seconds: float) -> None:
    """Move the clock forward (tests only)."""
    global _offset_seconds
    _offset_seconds += seconds


def reset() -> None:
    global _offset_seconds
    _offset_seconds = 0.0
