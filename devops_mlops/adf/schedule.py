"""``monitoring.schedule`` (5-field cron, UTC) -> a Data Factory ScheduleTrigger recurrence.

Data Factory's recurrence has no month filter and ANDs nothing: a cron with a
month field, or with both day-of-month and day-of-week restricted (cron ORs
them), has no equivalent and is refused (ConfigError naming the key).
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

#: a fixed start in the past keeps the export deterministic (schedule triggers do not backfill)
START_TIME = "2024-01-01T00:00:00Z"
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def _expand(field: str, lo: int, hi: int, what: str, where: str) -> list[int] | None:
    """Values of one cron field, or None for '*'."""
    if field == "*":
        return None
    values: set[int] = set()
    for part in field.split(","):
        step = 1
        if "/" in part:
            part, step_s = part.split("/", 1)
            step = int(step_s)
            if step < 1:
                raise ConfigError(f"{where}: step 0 in the {what} field")
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = int(part)
            end = start if step == 1 else hi
        if start < lo or end > hi or start > end:
            raise ConfigError(f"{where}: {what} {part!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return sorted(values)


def cron_to_recurrence(cron: str, where: str = "monitoring.schedule") -> dict[str, Any]:
    parts = cron.split()
    if len(parts) != 5:
        raise ConfigError(f"{where}: not a 5-field cron expression: {cron!r}")
    minute, hour, dom, month, dow = parts
    minutes = _expand(minute, 0, 59, "minute", where)
    hours = _expand(hour, 0, 23, "hour", where)
    days = _expand(dom, 1, 31, "day-of-month", where)
    months = _expand(month, 1, 12, "month", where)
    weekdays = _expand(dow.replace("7", "0") if dow != "*" else dow, 0, 6, "day-of-week", where)
    if months is not None and months != list(range(1, 13)):
        raise ConfigError(f"{where}: {cron!r} restricts the month; a Data Factory schedule trigger cannot",
                          hint="use '*' for the month field")
    if days is not None and weekdays is not None:
        raise ConfigError(f"{where}: {cron!r} restricts both day of month and day of week (cron ORs them); "
                          "a Data Factory schedule trigger cannot", hint="restrict one of them")
    schedule: dict[str, Any] = {"minutes": minutes if minutes is not None else list(range(60)),
                                "hours": hours if hours is not None else list(range(24))}
    if weekdays is not None:
        frequency = "Week"
        schedule["weekDays"] = [WEEKDAYS[d] for d in weekdays]
    elif days is not None:
        frequency = "Month"
        schedule["monthDays"] = days
    else:
        frequency = "Day"
    return {"frequency": frequency, "interval": 1, "startTime": START_TIME, "timeZone": "UTC", "schedule": schedule}


def recurrence_to_text(rec: dict[str, Any]) -> str:
    """A short human description for docs and plans."""
    s = rec.get("schedule", {})
    times = ", ".join(f"{h:02d}:{m:02d}" for h in s.get("hours", []) for m in s.get("minutes", []))
    if len(times) > 60:
        times = f"{len(s.get('hours', []))} hours x {len(s.get('minutes', []))} minutes"
    if rec["frequency"] == "Week":
        return f"weekly on {', '.join(s['weekDays'])} at {times} UTC"
    if rec["frequency"] == "Month":
        return f"monthly on day {', '.join(map(str, s['monthDays']))} at {times} UTC"
    return f"daily at {times} UTC"
