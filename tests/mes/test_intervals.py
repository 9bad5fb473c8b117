"""The equipment figures' time arithmetic (services/mes/intervals.py) on a fixed calendar: merging, clipping,
intersecting, subtracting, shift windows (night shifts, breaks, active days), status spans, downtime allocated
to reasons once, calendar frequencies."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.mes.intervals import (
    Piece,
    ShiftPattern,
    StatusChange,
    add_frequency,
    allocate,
    available_spans,
    clip,
    intersect,
    merge,
    shift_spans,
    shift_window,
    status_spans,
    subtract,
    total,
    working_spans,
)

WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday"})
DAY = ShiftPattern(time(6), time(14), 30, WEEKDAYS)
NIGHT = ShiftPattern(time(22), time(6), 30, frozenset({"sunday", "monday", "tuesday", "wednesday", "thursday"}))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """2025-11-`day` (Saturday the 1st, Monday the 3rd) at hour:minute UTC."""
    return datetime(2025, 11, day, hour, minute, tzinfo=UTC)


def test_merge_joins_overlapping_and_touching_spans_and_drops_empty_ones():
    spans = [(at(3, 10), at(3, 12)), (at(3, 8), at(3, 9)), (at(3, 11), at(3, 13)), (at(3, 13), at(3, 14)),
             (at(3, 15), at(3, 15))]
    assert merge(spans) == [(at(3, 8), at(3, 9)), (at(3, 10), at(3, 14))]
    assert total(spans) == timedelta(hours=5)


def test_clip_intersect_and_subtract():
    spans = [(at(3, 8), at(3, 12)), (at(3, 14), at(3, 18))]
    assert clip(spans, at(3, 10), at(3, 16)) == [(at(3, 10), at(3, 12)), (at(3, 14), at(3, 16))]
    assert intersect(spans, [(at(3, 11), at(3, 15)), (at(3, 17), at(3, 20))]) == [
        (at(3, 11), at(3, 12)), (at(3, 14), at(3, 15)), (at(3, 17), at(3, 18))]
    assert subtract(spans, [(at(3, 9), at(3, 10)), (at(3, 11), at(3, 15))]) == [
        (at(3, 8), at(3, 9)), (at(3, 10), at(3, 11)), (at(3, 15), at(3, 18))]
    assert subtract(spans, [(at(3, 0), at(4, 0))]) == []
    assert intersect([], spans) == [] and subtract([], spans) == []


def test_a_night_shift_spans_midnight_and_its_break_sits_at_the_middle():
    assert shift_window(NIGHT, date(2025, 11, 3)) == (at(3, 22), at(4, 6))
    assert NIGHT.length == DAY.length == timedelta(hours=8)
    # 22:00 → 06:00, middle 02:00: the 30-minute break is 01:45 → 02:15
    assert working_spans(NIGHT, date(2025, 11, 3)) == [(at(3, 22), at(4, 1, 45)), (at(4, 2, 15), at(4, 6))]
    assert working_spans(DAY, date(2025, 11, 3)) == [(at(3, 6), at(3, 9, 45)), (at(3, 10, 15), at(3, 14))]
    no_break = ShiftPattern(time(6), time(14), 0, WEEKDAYS)
    assert working_spans(no_break, date(2025, 11, 3)) == [(at(3, 6), at(3, 14))]


def test_shift_time_over_a_fixed_week_counts_active_days_and_the_night_before():
    # Saturday 1 to Thursday 6 (end exclusive Friday 7 00:00): day shift Mon-Thu = 4 × 7.5 h
    start, end = at(1, 0), at(7, 0)
    assert total(shift_spans([DAY], start, end)) == timedelta(hours=30)
    # nights start Sun 2, Mon 3, Tue 4, Wed 5, Thu 6; Thursday's night is cut at Friday 00:00 (2 h, no break)
    assert total(shift_spans([NIGHT], start, end)) == timedelta(hours=4 * 7.5 + 2)
    # from Monday 00:00 the night that started Sunday still counts its hours after midnight (6 h less the break at
    # 01:45 → 02:15), then Monday's night until midnight
    assert total(shift_spans([NIGHT], at(3, 0), at(4, 0))) == timedelta(hours=5.5 + 2)
    assert total(shift_spans([DAY, NIGHT], start, end)) == timedelta(hours=30 + 32)


def test_overlapping_shifts_count_once_and_no_shift_means_the_calendar():
    early = ShiftPattern(time(6), time(14), 0, WEEKDAYS)
    late = ShiftPattern(time(12), time(20), 0, WEEKDAYS)
    assert total(shift_spans([early, late], at(3, 0), at(4, 0))) == timedelta(hours=14)
    assert available_spans([], at(3, 0), at(4, 0)) == [(at(3, 0), at(4, 0))]
    assert available_spans([DAY], at(1, 0), at(3, 0)) == []  # a weekend
    assert available_spans([], at(4, 0), at(3, 0)) == []


def test_a_shift_window_at_the_edges_of_the_calendar_does_not_overflow():
    first = datetime.combine(date.min, time(), UTC)
    assert total(shift_spans([NIGHT], first, first + timedelta(days=2))) > timedelta(0)


def test_status_history_becomes_spans_until_the_given_end():
    changes = [StatusChange(at(3, 10), "down", "mechanical_failure"), StatusChange(at(3, 8), "running"),
               StatusChange(at(3, 12), "running")]
    spans = status_spans(changes, at(3, 14))
    assert [(s.span, s.status, s.reason_code) for s in spans] == [
        ((at(3, 8), at(3, 10)), "running", None), ((at(3, 10), at(3, 12)), "down", "mechanical_failure"),
        ((at(3, 12), at(3, 14)), "running", None)]
    assert status_spans([], at(3, 14)) == []


def test_downtime_is_given_to_its_reasons_once_and_only_inside_the_windows():
    within = [(at(3, 6), at(3, 14))]
    pieces = [Piece((at(3, 8), at(3, 10)), "Mechanical Failure"),
              Piece((at(3, 9), at(3, 11)), "Material Shortage"),  # its first hour is already counted
              Piece((at(3, 13), at(3, 16)), "Mechanical Failure"),  # two hours fall after the shift
              Piece((at(3, 18), at(3, 19)), "No Demand"),  # outside: no occurrence
              Piece((at(3, 8, 30), at(3, 9, 30)), "Quality Hold")]  # entirely covered already: no occurrence
    shares = allocate(pieces, within)
    assert {reason: (share.time, share.occurrences) for reason, share in shares.items()} == {
        "Mechanical Failure": (timedelta(hours=3), 2), "Material Shortage": (timedelta(hours=1), 1)}
    assert sum((s.time for s in shares.values()), timedelta(0)) == total(intersect([p.span for p in pieces], within))


@pytest.mark.parametrize(("day", "value", "unit", "expected"), [
    (date(2025, 10, 7), 30, "days", date(2025, 11, 6)),
    (date(2025, 10, 7), 2, "weeks", date(2025, 10, 21)),
    (date(2025, 1, 31), 1, "months", date(2025, 2, 28)),
    (date(2024, 1, 31), 1, "months", date(2024, 2, 29)),
    (date(2025, 11, 15), 3, "months", date(2026, 2, 15)),
])
def test_calendar_frequencies(day, value, unit, expected):
    assert add_frequency(day, value, unit) == expected


def test_a_meter_unit_is_not_a_calendar_frequency():
    with pytest.raises(ValueError):
        add_frequency(date(2025, 1, 1), 100, "hours")
