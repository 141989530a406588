"""Parse the times users type for --since, --start and --end, and turn them into one UTC time window.

All results are aware datetimes in UTC. A time without a zone is read as UTC (not the local zone): X-Ray and
its console speak UTC, and a command that means different windows on different laptops is a trap.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from xrayctl.errors import UsageError

DEFAULT_SINCE = timedelta(minutes=15)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d{1,9}[smhdw])+")
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_EPOCH = re.compile(r"\d{1,15}(?:\.\d{1,9})?")

DURATION_FORMS = "a duration such as 90s, 15m, 2h, 1d or 1h30m"
TIME_FORMS = (
    "an ISO 8601 time (2026-11-23, 2026-11-23T10:00, 2026-11-23 10:00:00+02:00, ...Z; no zone means UTC), "
    "a relative time (now, 15m ago, 2h ago) or epoch seconds"
)


def parse_since(text: str) -> timedelta:
    """Parse a duration like `15m`, `2h`, `1d`, `90s` or `1h30m` (units s, m, h, d, w)."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.fullmatch(compact):
        raise UsageError(f"{text!r} is not a duration.", f"Give {DURATION_FORMS}.")
    seconds = sum(int(amount) * _UNITS[unit] for amount, unit in _DURATION_PART.findall(compact))
    if seconds == 0:
        raise UsageError(f"{text!r} is an empty duration.", f"Give {DURATION_FORMS}.")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise UsageError(f"{text!r} is too long a duration.", f"Give {DURATION_FORMS}.") from None


def parse_time(text: str, now: datetime) -> datetime:
    """Parse an absolute, relative or epoch time as aware UTC; `now` (aware) anchors relative times."""
    value = text.strip()
    lowered = value.lower()
    if lowered == "now":
        return now.astimezone(timezone.utc)
    if lowered.endswith(" ago"):
        return _before(now, parse_since(lowered[: -len(" ago")]), text)
    if _EPOCH.fullmatch(value):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise UsageError(f"{text!r} is out of range as epoch seconds.", f"Give {TIME_FORMS}.") from None
    # Python 3.10's fromisoformat does not know the `Z` suffix.
    iso = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise UsageError(f"{text!r} is not a time.", f"Give {TIME_FORMS}.") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _before(moment: datetime, delta: timedelta, text: str | None) -> datetime:
    try:
        return (moment - delta).astimezone(timezone.utc)
    except OverflowError:
        raise UsageError(f"{text!r} reaches back before year 1.", f"Give {DURATION_FORMS}.") from None


def resolve_window(
    since: str | None, start: str | None, end: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The (start, end) window the options describe; `now` defaults to the current time.

    `end` defaults to now; `start` to `end - since`, and `since` to 15 minutes. `since` and `start` both
    name the window's start, so giving both is an error rather than a silent choice.
    """
    if since is not None and start is not None:
        raise UsageError("--since and --start both set where the window starts.", "Give only one of them.")
    if now is None:
        now = datetime.now(timezone.utc)
    end_time = parse_time(end, now) if end is not None else now.astimezone(timezone.utc)
    if start is not None:
        start_time = parse_time(start, now)
    else:
        start_time = _before(end_time, parse_since(since) if since is not None else DEFAULT_SINCE, since)
    if start_time >= end_time:
        raise UsageError(
            f"The window starts ({start_time.isoformat()}) at or after it ends ({end_time.isoformat()}).",
            "Give a start before the end.",
        )
    return start_time, end_time
