"""When staff are at work, and when the next service time starts.

The acknowledgement tells a business when to expect a person to look at its
question, so outside office hours it names the next opening (in the office's
own time zone, skipping weekends and configured holidays).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .settings import OfficeHours

WEEKDAY_ZH = "一二三四五六日"


def is_open(hours: OfficeHours, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(hours.timezone))
    if local.weekday() not in hours.weekdays or local.date() in hours.holidays:
        return False
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in hours.windows)


def next_opening(hours: OfficeHours, now: datetime) -> datetime | None:
    """The start of the next service window after ``now`` (local time), or None if never."""
    tz = ZoneInfo(hours.timezone)
    local = now.astimezone(tz)
    for days_ahead in range(0, 60):
        day = (local + timedelta(days=days_ahead)).date()
        if day.weekday() not in hours.weekdays or day in hours.holidays:
            continue
        for start, _end in hours.windows:
            opening = datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=tz)
            if opening > local:
                return opening
    return None


def format_opening(opening: datetime) -> str:
    """``1月6日（星期一）上午8:30`` style, as people in Taiwan write it."""
    period = "上午" if opening.hour < 12 else "下午"
    hour = opening.hour if opening.hour <= 12 else opening.hour - 12
    return (f"{opening.month}月{opening.day}日（星期{WEEKDAY_ZH[opening.weekday()]}）"
            f"{period}{hour}:{opening.minute:02d}")
