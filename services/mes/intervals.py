"""Time arithmetic of the ERP's equipment figures (utilization, MTBF/MTTR, OEE): half-open spans [start, end) of
UTC time, merged, clipped, intersected and subtracted; the working windows of a plant's shift patterns on a
calendar; a machine's status history as spans; downtime allocated to its reasons without counting an overlap
twice; calendar frequencies (days, weeks, months). Pure: no database, no clock (callers pass `now`).

Calendar rules (README "ERP: equipment"): a shift whose end is not after its start spans midnight (the window of
a 22:00 → 06:00 shift on date D is D 22:00 → D+1 06:00) and belongs to D, the day it starts (its active day); its
break is taken at the middle of its window (a 06:00 → 14:00 shift with 30 minutes of break works 06:00 → 09:45 and
10:15 → 14:00), so time in a break is never available, productive nor down."""

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

Span = tuple[datetime, datetime]
CALENDAR_UNITS = ("days", "weeks", "months")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ZERO = timedelta(0)


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of `spans` as disjoint spans in time order (touching spans join; empty ones vanish)."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    """The parts of `spans` inside [start, end), merged."""
    return merge((max(s, start), min(e, end)) for s, e in spans)


def intersect(first: Iterable[Span], second: Iterable[Span]) -> list[Span]:
    """The time both `first` and `second` cover (each may overlap itself), merged."""
    a, b = merge(first), merge(second)
    found: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            found.append((start, end))
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return found


def subtract(spans: Iterable[Span], removed: Iterable[Span]) -> list[Span]:
    """The time `spans` cover that `removed` does not, merged."""
    left: list[Span] = []
    holes = merge(removed)
    for start, end in merge(spans):
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                left.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
        if cursor < end:
            left.append((cursor, end))
    return left


def total(spans: Iterable[Span]) -> timedelta:
    """The time the union of `spans` covers."""
    return sum((end - start for start, end in merge(spans)), ZERO)


# --- shift patterns ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftPattern:
    """A shift's times of day (UTC), its break in minutes and the days it starts on (lowercase day names)."""

    start: time
    end: time
    break_minutes: int
    active_days: frozenset[str]

    def runs_on(self, day: date) -> bool:
        return DAY_NAMES[day.weekday()] in self.active_days

    @property
    def length(self) -> timedelta:
        """How long its window lasts: up to the end the same day, or the next day when it spans midnight."""
        start, end = _at(date(2000, 1, 3), self.start), _at(date(2000, 1, 3), self.end)
        return end - start if end > start else end + timedelta(days=1) - start


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, UTC)


def shift_window(pattern: ShiftPattern, day: date) -> Span:
    """The shift's whole window that starts on `day` (breaks included)."""
    start = _at(day, pattern.start)
    return start, start + pattern.length


def working_spans(pattern: ShiftPattern, day: date) -> list[Span]:
    """The shift's window on `day` without its break, taken at the middle of the window."""
    start, end = shift_window(pattern, day)
    if pattern.break_minutes <= 0:
        return [(start, end)]
    middle = start + (end - start) / 2
    half = timedelta(minutes=pattern.break_minutes) / 2
    return merge([(start, middle - half), (middle + half, end)])


def shift_spans(patterns: Sequence[ShiftPattern], start: datetime, end: datetime) -> list[Span]:
    """The working time of `patterns` inside [start, end): each pattern's window on each of its active days (a
    window that started the day before counts its part after midnight), breaks excluded, overlaps counted once."""
    if start >= end or not patterns:
        return []
    spans: list[Span] = []
    day = start.date() - timedelta(days=1) if start.date() > date.min else start.date()
    while day <= end.date():
        spans.extend(span for pattern in patterns if pattern.runs_on(day) for span in working_spans(pattern, day))
        if day == date.max:
            break
        day += timedelta(days=1)
    return clip(spans, start, end)


def available_spans(patterns: Sequence[ShiftPattern], start: datetime, end: datetime) -> list[Span]:
    """A plant's available time inside [start, end): its shifts' working time, or the whole calendar when it
    has no active shift."""
    if not patterns:
        return [(start, end)] if start < end else []
    return shift_spans(patterns, start, end)


# --- a machine's history -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusChange:
    """A row of a machine's status history: from `at` on the machine was `status` (`reason_code`: why)."""

    at: datetime
    status: str
    reason_code: str | None = None


@dataclass(frozen=True)
class StatusSpan:
    span: Span
    status: str
    reason_code: str | None


def status_spans(changes: Sequence[StatusChange], until: datetime) -> list[StatusSpan]:
    """Each status from its change to the next (the last one until `until`), in time order. Before the first
    change the machine's status is unknown and counts nowhere."""
    ordered = sorted(changes, key=lambda change: change.at)
    spans: list[StatusSpan] = []
    for index, change in enumerate(ordered):
        end = ordered[index + 1].at if index + 1 < len(ordered) else until
        if change.at < end:
            spans.append(StatusSpan((change.at, end), change.status, change.reason_code))
    return spans


@dataclass(frozen=True)
class Piece:
    """A span a machine stood still for one reason (a down or maintenance status, or a logged event)."""

    span: Span
    reason: str


@dataclass
class Share:
    """What a reason accounts for: its time (overlaps with earlier pieces left out) and its pieces."""

    time: timedelta = ZERO
    occurrences: int = 0


def allocate(pieces: Iterable[Piece], within: Sequence[Span]) -> dict[str, Share]:
    """Each piece's time inside `within`, given to its reason; time an earlier piece (by start) already covers
    is not given again, so the shares add up to the union. A piece counts as an occurrence when it adds time."""
    shares: dict[str, Share] = {}
    covered: list[Span] = []
    for piece in sorted(pieces, key=lambda p: (p.span[0], p.span[1], p.reason)):
        added = subtract(intersect([piece.span], within), covered)
        if not added:
            continue
        share = shares.setdefault(piece.reason, Share())
        share.time += total(added)
        share.occurrences += 1
        covered = merge([*covered, *added])
    return shares


# --- calendar frequencies ----------------------------------------------------------------------------------------

def add_frequency(day: date, value: int, unit: str) -> date:
    """`day` plus `value` days, weeks or months (a month later than January 31 is the last day of February)."""
    if unit == "days":
        return day + timedelta(days=value)
    if unit == "weeks":
        return day + timedelta(weeks=value)
    if unit == "months":
        months = day.year * 12 + day.month - 1 + value
        year, month = divmod(months, 12)
        return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
    raise ValueError(f"not a calendar unit: {unit}")
