"""When a source is pulled: every N seconds, or a cron expression.

Supported (no cron library is installed here, so this is a documented subset of cron):
- seconds between pulls: ``3600`` or ``"3600"``;
- ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``, ``@monthly``, ``@yearly`` (``@annually``);
- five fields ``minute hour day-of-month month day-of-week``, each ``*``, a number, a range ``a-b``, a step
  ``*/n`` or ``a-b/n``, or a comma list of these; day-of-week 0-7 (0 and 7 are Sunday). Names (``MON``,
  ``JAN``), ``L``, ``W``, ``#`` and seconds fields are not supported. As in cron, when both day fields are
  restricted a day matching either one fires.

Cron times are read in a time zone (the service passes Asia/Ho_Chi_Minh: ``0 8 * * 1`` is Monday 08:00 in
Vietnam).

Example:
    >>> from datetime import datetime, timezone
    >>> s = parse_schedule("30 8 * * 1-5")
    >>> s.next_after(datetime(2026, 1, 2, 9, 0, tzinfo=timezone.utc), "UTC").isoformat()
    '2026-01-05T08:30:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..errors import ForecastingError

__all__ = ["Schedule", "ScheduleError", "parse_schedule"]

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_HORIZON_DAYS = 366 * 5  # a cron expression that fires in none of the next five years never fires


class ScheduleError(ForecastingError):
    """Not a schedule this module understands (``code`` is ``invalid_schedule``)."""

    code = "invalid_schedule"


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: ``every_s`` seconds, or cron ``fields`` (allowed values of minute, hour,
    day-of-month, month, day-of-week with Sunday as 0), with the day fields' restriction flags."""

    text: str
    every_s: int | None = None
    fields: tuple[frozenset[int], ...] = ()
    dom_restricted: bool = False
    dow_restricted: bool = False

    def _day_matches(self, t: datetime) -> bool:
        dom = t.day in self.fields[2]
        dow = (t.isoweekday() % 7) in self.fields[4]
        if self.dom_restricted and self.dow_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, after: datetime, tz: str = "Asia/Ho_Chi_Minh") -> datetime:
        """The first time strictly after ``after`` (an aware datetime) this schedule fires, in ``after``'s zone."""
        if after.tzinfo is None:
            raise ValueError("next_after needs an aware datetime")
        if self.every_s is not None:
            return after + timedelta(seconds=self.every_s)
        zone = ZoneInfo(tz)
        t = after.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = t + timedelta(days=_HORIZON_DAYS)
        minutes, hours, _, months, _ = self.fields
        while t < end:
            if t.month not in months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            if t.minute not in minutes:
                t += timedelta(minutes=1)
                continue
            return t.astimezone(after.tzinfo)
        raise ScheduleError(f"the cron expression {self.text!r} never fires")


def _field(text: str, name: str, lo: int, hi: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body == "*":
                a, b = lo, hi
            elif "-" in body:
                a_text, b_text = body.split("-", 1)
                a, b = int(a_text), int(b_text)
            else:
                a = int(body)
                b = hi if step_text else a
        except ValueError as e:
            raise ScheduleError(
                f"cron {name} field {text!r}: expected *, a number, a range a-b, a step */n or a list"
            ) from e
        if step < 1 or not (lo <= a <= hi and lo <= b <= hi) or a > b:
            raise ScheduleError(f"cron {name} field {text!r}: values must be {lo}-{hi}, ranges low-high, steps >= 1")
        values.update(range(a, b + 1, step))
    return frozenset(values)


def parse_schedule(value: int | str, *, min_interval_s: int = 60) -> Schedule:
    """``value`` as a :class:`Schedule`; seconds below ``min_interval_s`` are refused.

    Raises:
        ScheduleError: with what was expected and what came.
    """
    text = str(value).strip()
    if isinstance(value, bool):
        raise ScheduleError(f"schedule: expected seconds or a cron expression. Got: {value!r}")
    if text.isdigit():
        seconds = int(text)
        if seconds < min_interval_s:
            raise ScheduleError(f"schedule: at least {min_interval_s} seconds between pulls. Got: {seconds}")
        return Schedule(text=text, every_s=seconds)
    expr = _MACROS.get(text.lower(), text)
    parts = expr.split()
    if len(parts) != 5:
        raise ScheduleError(
            "schedule: expected seconds between pulls, @hourly/@daily/@weekly/@monthly/@yearly, or five cron "
            f"fields 'minute hour day month weekday' (e.g. '0 8 * * 1'). Got: {text!r}"
        )
    fields = tuple(_field(p, name, lo, hi) for p, (name, lo, hi) in zip(parts, _FIELDS, strict=True))
    dow = frozenset(d % 7 for d in fields[4])
    schedule = Schedule(
        text=text,
        fields=(*fields[:4], dow),
        dom_restricted=parts[2] != "*",
        dow_restricted=parts[4] != "*",
    )
    schedule.next_after(datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC")), "UTC")  # refuses one that never fires
    return schedule
