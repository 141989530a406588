"""Parse the times users type for --since, --start and --end, and turn them into one UTC time window.

All results are aware datetimes in UTC. A time without a zone is read as UTC (not the local zone): X-Ray and
its console speak UTC, and a command that means different windows on different laptops is a trap.

ISO 8601 is parsed here rather than by `datetime.fromisoformat`, which on Python 3.10 knows only what
`isoformat()` writes (no `Z`, no `.5`, no basic `20261123T100000`) and on 3.11 much more: one grammar for all.
Digits are ASCII digits: `\\d` alone matches any script's (fullwidth `１`, Arabic-Indic `١`), which `int` and
`float` read as numbers, so a pasted fullwidth `１７００００００００` was taken as epoch seconds.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from xrayctl.errors import UsageError

DEFAULT_SINCE = timedelta(minutes=15)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d{1,9}[smhdw])+", re.ASCII)
_DURATION_PART = re.compile(r"(\d+)([smhdw])", re.ASCII)
_EPOCH = re.compile(r"\d{1,15}(?:\.\d{1,9})?", re.ASCII)
# The same forms with any number of digits: what is typed right, but too large to be a time.
_LONG_DURATION = re.compile(r"(?:\d+[smhdw])+", re.ASCII)
_LONG_EPOCH = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
# Extended (2026-11-23T10:00:05.5+02:00) or basic (20261123T100005Z) form; T, t or a space between date and
# time; a fraction of any length after `.` or `,`; zone Z or ±HH[:MM] (±HHMM).
_ISO = re.compile(
    r"(?P<year>\d{4})-?(?P<month>\d\d)-?(?P<day>\d\d)"
    r"(?:[Tt ](?P<hour>\d\d)(?::?(?P<minute>\d\d)(?::?(?P<second>\d\d)(?:[.,](?P<fraction>\d+))?)?)?)?"
    r" ?(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<zone_hours>\d\d)(?::?(?P<zone_minutes>\d\d))?)?",
    re.ASCII,
)

DURATION_FORMS = "a duration such as 90s, 15m, 2h, 1d or 1h30m"
TIME_FORMS = (
    "an ISO 8601 time (2026-11-23, 2026-11-23T10:00, 2026-11-23 10:00:00+02:00, ...Z; no zone means UTC), "
    "a relative time (now, 15m ago, 2h ago) or epoch seconds"
)


def parse_since(text: str) -> timedelta:
    """Parse a duration like `15m`, `2h`, `1d`, `90s` or `1h30m` (units s, m, h, d, w)."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.fullmatch(compact):
        if _LONG_DURATION.fullmatch(compact):
            raise UsageError(
                f"{text!r} is too large a duration: at most 9 digits before each unit.",
                f"Give {DURATION_FORMS} (X-Ray keeps traces 30 days).",
            )
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
    if _LONG_EPOCH.fullmatch(value):
        raise UsageError(
            f"{text!r} has too many digits for epoch seconds: at most 15 before the point, 9 after it.",
            f"Give {TIME_FORMS}.",
        )
    match = _ISO.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return _iso_time(match).astimezone(timezone.utc)
    except (ValueError, OverflowError):  # no such form, or no such day, hour or offset
        raise UsageError(f"{text!r} is not a time.", f"Give {TIME_FORMS}.") from None


def _iso_time(match: re.Match[str]) -> datetime:
    part = match.group
    zone = timezone.utc  # no zone means UTC
    if part("sign"):
        offset = timedelta(hours=int(part("zone_hours")), minutes=int(part("zone_minutes") or 0))
        zone = timezone(-offset if part("sign") == "-" else offset)
    return datetime(
        int(part("year")),
        int(part("month")),
        int(part("day")),
        int(part("hour") or 0),
        int(part("minute") or 0),
        int(part("second") or 0),
        int((part("fraction") or "0")[:6].ljust(6, "0")),  # microseconds; finer digits are dropped
        tzinfo=zone,
    )


def _shown(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


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
            f"The window starts ({_shown(start_time)}) at or after it ends ({_shown(end_time)}).",
            "Give a start before the end.",
        )
    return start_time, end_time
