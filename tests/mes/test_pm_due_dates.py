"""A PM schedule's due date by the calendar and by the meter, and its status, computed by hand
(services/mes/pm_schedules.py)."""

from datetime import UTC, date, datetime, timedelta

from services.mes.pm_schedules import meter_due_date, status_for


def test_due_dates_by_hand():
    assert status_for(date(2026, 11, 6), 7, date(2026, 10, 30)) == "due"  # the first day of the lead time
    assert status_for(date(2026, 11, 6), 7, date(2026, 10, 29)) == "scheduled"
    assert status_for(date(2026, 11, 6), 7, date(2026, 11, 6)) == "due"  # on the day
    assert status_for(date(2026, 11, 6), 7, date(2026, 11, 7)) == "overdue"
    # a meter of 10 running hours: 6 h on the 1st, 5 h on the 3rd → reached on the 3rd, 4 h in
    t = datetime(2026, 11, 1, 8, tzinfo=UTC)
    spans = [(t, t + timedelta(hours=6)), (t + timedelta(days=2), t + timedelta(days=2, hours=5))]
    assert meter_due_date(spans, 10, t + timedelta(days=3)) == date(2026, 11, 3)
    # 8 h run in the last 7 days and 2 h still needed: a quarter of a week ahead
    assert meter_due_date(spans[:1] + [(t + timedelta(days=2), t + timedelta(days=2, hours=2))], 10,
                          t + timedelta(days=3)) == (t + timedelta(days=3) + timedelta(days=7) / 4).date()
    assert meter_due_date([], 10, t) is None
