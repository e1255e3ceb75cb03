"""Working days and response deadlines: the policy's "48 hours (next working day at weekends)".

UK bank holidays are computed, not downloaded (nothing is fetched at run time): the fixed
rules of each nation, Easter by the Gregorian computus, substitute days when a holiday falls
at a weekend, and the one-off days proclaimed since 1995 (jubilees, a state funeral, a
coronation). A school adds its own closed days (INSET days, term breaks) as dates or ranges.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

REGIONS = ("england", "wales", "scotland", "northern_ireland", "none")

# Proclaimed one-off bank holidays, and regular ones moved for an occasion.
_EXTRA = {
    "all": {date(1999, 12, 31), date(2002, 6, 3), date(2011, 4, 29), date(2012, 6, 5), date(2022, 6, 3),
            date(2022, 9, 19), date(2023, 5, 8)},
}
_MOVED = {  # (year, usual name) -> the date it moved to
    (1995, "early_may"): date(1995, 5, 8), (2020, "early_may"): date(2020, 5, 8),
    (2002, "spring"): date(2002, 6, 4), (2012, "spring"): date(2012, 6, 4), (2022, "spring"): date(2022, 6, 2),
}


def easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def _with_substitutes(fixed: list[date], others: set[date]) -> set[date]:
    """A fixed-date holiday at a weekend moves to the next weekday not already a holiday."""
    days = set(others)
    for day in sorted(fixed):
        while day.weekday() >= 5 or day in days:
            day += timedelta(days=1)
        days.add(day)
    return days


@cache
def bank_holidays(region: str, year: int) -> frozenset[date]:
    if region == "none":
        return frozenset()
    easter = easter_sunday(year)
    early_may = _MOVED.get((year, "early_may"), _first_monday(year, 5))
    spring = _MOVED.get((year, "spring"), _last_monday(year, 5))
    moving = {easter - timedelta(days=2), early_may, spring}
    fixed = [date(year, 1, 1)]
    if region == "scotland":
        fixed += [date(year, 1, 2), date(year, 11, 30)]
        moving.add(_first_monday(year, 8))
    else:
        moving |= {easter + timedelta(days=1), _last_monday(year, 8)}
    if region == "northern_ireland":
        fixed += [date(year, 3, 17), date(year, 7, 12)]
    # Christmas first, then Boxing Day, so their substitutes fall on the 27th and 28th.
    days = _with_substitutes(fixed, moving)
    days = _with_substitutes([date(year, 12, 25), date(year, 12, 26)], days)
    return frozenset(days | {d for d in _EXTRA["all"] if d.year == year})


def check_holiday_entry(entry: str) -> str:
    """A region name, a date (2026-12-21) or a range (2026-12-21..2027-01-01): else a clear error."""
    entry = entry.strip().lower().replace("-and-", "_").replace(" ", "_")
    if entry in REGIONS:
        return entry
    try:
        _closed_range(entry)
    except ValueError:
        raise ValueError(f"{entry!r} is neither a region ({', '.join(REGIONS)}) nor a date such as "
                         f"2026-12-21 or a range such as 2026-12-21..2027-01-01") from None
    return entry


def _closed_range(entry: str) -> tuple[date, date]:
    start, _, end = entry.partition("..")
    first = date.fromisoformat(start.strip())
    last = date.fromisoformat(end.strip()) if end else first
    if last < first:
        raise ValueError("range ends before it starts")
    return first, last


class Calendar:
    """Which days the school counts as working days, and when a response is due."""

    def __init__(self, holidays: Iterable[str], timezone: str = "Europe/London") -> None:
        self.regions = [h for h in holidays if h in REGIONS]
        self.closed = [_closed_range(h) for h in holidays if h not in REGIONS]
        self.zone = ZoneInfo(timezone)

    def is_working_day(self, day: date) -> bool:
        if day.weekday() >= 5:
            return False
        if any(day in bank_holidays(region, day.year) for region in self.regions):
            return False
        return not any(first <= day <= last for first, last in self.closed)

    def next_working_day(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def due(self, first_seen: datetime, within_hours: float, rule: str = "next_working_day",
            day_ends: time = time(17, 0)) -> datetime:
        """First seen + the hours; if that lands on a closed day, the end of the next working day."""
        due = (first_seen + timedelta(hours=within_hours)).astimezone(self.zone)
        if rule == "next_working_day" and not self.is_working_day(due.date()):
            moved = datetime.combine(self.next_working_day(due.date()), day_ends)
            due = moved.replace(tzinfo=self.zone)
        return due
