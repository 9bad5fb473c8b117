"""The SPC maths of services/mes/spc.py (issue 12): pure, no stack. Numbers against values worked out by hand in
the comments; each Western Electric rule provoked by a constructed series and not by a near miss; capability
thresholds at their edges, rounding, σ = 0, one-sided specifications and the validation errors."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.errors import AppError
from services.mes.spc import (
    NO_SPECIFICATION,
    NO_VARIATION,
    Alert,
    Point,
    individuals_chart,
    interpret,
    western_electric_alerts,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def series(*values: str | float | int) -> list[Point]:
    """One point per value, an hour apart from T0; the point's index is its inspection_log_id."""
    return [Point.of(Decimal(v) if isinstance(v, str) else v, T0 + timedelta(hours=i), i)
            for i, v in enumerate(values)]


def rule(points: list[Point], kind: str, center: str = "0", sigma: str = "1") -> list[Alert]:
    """The alerts of one type, with the limits fixed (center 0, σ 1 unless told) so each rule is tested alone."""
    return [alert for alert in western_electric_alerts(points, Decimal(center), Decimal(sigma)) if alert.type == kind]


# The worked example: 10 diameters (mm), LSL 9.4, USL 10.6.
WORKED = ("10.0", "10.2", "9.9", "10.1", "10.0", "10.3", "9.8", "10.0", "10.2", "10.1")


def test_worked_example_by_hand() -> None:
    # sum = 100.6, mean = 10.06
    # moving ranges: 0.2 0.3 0.2 0.1 0.3 0.5 0.2 0.2 0.1 → sum 2.1, MR̄ = 2.1 / 9 = 0.23333…
    # σ = MR̄ / 1.128 = 2.1 / 10.152 = 0.2068557919…
    # 3σ = 6.3 / 10.152 = 0.6205673758… → UCL = 10.6805673758…, LCL = 9.4394326241…
    # Cp = (10.6 - 9.4) / 6σ = 1.2 × 10.152 / 12.6 = 0.96685… → 0.97
    # CPU = (10.6 - 10.06) / 3σ = 0.54 × 10.152 / 6.3 = 0.87017… ; CPL = 0.66 × 10.152 / 6.3 = 1.06354…
    # Cpk = min = 0.87 → below 1.0: "Not capable"
    chart = individuals_chart(series(*WORKED), lsl=Decimal("9.4"), usl=Decimal("10.6"))
    six = Decimal("0.000001")
    assert chart.center_line == Decimal("10.06")
    assert chart.sigma.quantize(six) == Decimal("0.206856")
    assert chart.ucl.quantize(six) == Decimal("10.680567")
    assert chart.lcl.quantize(six) == Decimal("9.439433")
    assert chart.cp == Decimal("0.97")
    assert chart.cpk == Decimal("0.87")
    assert chart.interpretation == "Not capable"
    assert chart.usl == Decimal("10.6") and chart.lsl == Decimal("9.4")
    # Beyond 1σ: only 10.3 (> 10.2669) and 9.8 (< 9.8531); no run of 7 on one side; no 6-point drift.
    assert chart.alerts == []
    assert [p.value for p in chart.points] == [Decimal(v) for v in WORKED]


def test_points_are_charted_in_time_order() -> None:
    points = series(*WORKED)
    chart = individuals_chart(list(reversed(points)), lsl=None, usl=None)
    assert chart.points == tuple(points)
    assert chart.center_line == Decimal("10.06")


def test_floats_are_taken_through_their_repr() -> None:
    chart = individuals_chart(series(*(float(v) for v in WORKED)), lsl=9.4, usl=10.6)
    assert chart.points[1].value == Decimal("10.2")
    assert chart.center_line == Decimal("10.06")
    assert (chart.cp, chart.cpk) == (Decimal("0.97"), Decimal("0.87"))


def test_an_out_of_control_point_through_the_chart() -> None:
    # 10.0/10.1 alternating ×10, then 11.0: MR̄ = (19 × 0.1 + 0.9) / 20 = 0.14, σ = 0.124113…,
    # mean = (201 + 11) / 21 = 10.095238…, UCL = 10.095238 + 0.372340 = 10.467578 < 11.0
    chart = individuals_chart(series(*(["10.0", "10.1"] * 10), "11.0"), lsl=None, usl=None)
    assert [(a.type, a.detected_at, a.inspection_log_id, a.value) for a in chart.alerts] == [
        ("out_of_control", T0 + timedelta(hours=20), 20, Decimal("11.0"))]
    assert chart.alerts[0].message == "Point 11.0 above the upper control limit 10.4676 (mean + 3σ)"
    assert chart.interpretation == NO_SPECIFICATION


# Western Electric rules, limits fixed at center 0, σ 1.


def test_out_of_control() -> None:
    alerts = rule(series(0, "0.5", "3.5", 0, "-3.2"), "out_of_control")
    assert [(a.inspection_log_id, a.value) for a in alerts] == [(2, Decimal("3.5")), (4, Decimal("-3.2"))]
    assert alerts[0].detected_at == T0 + timedelta(hours=2)
    assert alerts[0].message == "Point 3.5 above the upper control limit 3 (mean + 3σ)"
    assert alerts[1].message == "Point -3.2 below the lower control limit -3 (mean - 3σ)"


def test_out_of_control_near_miss_on_the_limits() -> None:
    assert rule(series(0, 3, -3, "2.99", 0), "out_of_control") == []


def test_out_of_control_once_per_run() -> None:
    # three consecutive points above UCL: one run, one alert; back inside then out again: a new alert
    alerts = rule(series(0, 4, 5, 4, 0, 4), "out_of_control")
    assert [a.inspection_log_id for a in alerts] == [1, 5]


def test_zone_a() -> None:
    alerts = rule(series(0, "2.5", "0.5", "2.5", 0), "zone_a")
    assert [a.inspection_log_id for a in alerts] == [3]
    assert alerts[0].message == "2 of 3 consecutive points above 2 (mean + 2σ); latest point 2.5"
    below = rule(series("-2.1", "-2.2", 0), "zone_a")
    assert [a.inspection_log_id for a in below] == [1]
    assert "below -2 (mean - 2σ)" in below[0].message


def test_zone_a_near_misses() -> None:
    assert rule(series(0, "2.5", "0.5", "0.5", "2.5", 0), "zone_a") == []  # 2 beyond, but 4 points apart
    assert rule(series(0, "2.5", "-2.5", 0), "zone_a") == []  # opposite sides
    assert rule(series(0, 2, 2, 0), "zone_a") == []  # on the 2σ line, not beyond


def test_zone_a_once_per_run() -> None:
    # beyond 2σ at 1, 2, 3, 4: the pattern holds from point 2 to point 5 (window 3..5 still has 2): one alert;
    # it stops at 6 and starts again at 8
    alerts = rule(series(0, "2.5", "2.5", "2.5", "2.5", 0, 0, "2.5", "2.5"), "zone_a")
    assert [a.inspection_log_id for a in alerts] == [2, 8]


def test_zone_b() -> None:
    alerts = rule(series(0, "1.5", "1.5", "0.5", "1.5", "1.5", 0), "zone_b")
    assert [a.inspection_log_id for a in alerts] == [5]
    assert alerts[0].message == "4 of 5 consecutive points above 1 (mean + 1σ); latest point 1.5"
    below = rule(series("-1.1", "-1.2", "-1.3", "-1.4"), "zone_b")
    assert [a.inspection_log_id for a in below] == [3]


def test_zone_b_near_misses() -> None:
    assert rule(series(0, "1.5", "1.5", "0.5", "0.5", "1.5", "1.5"), "zone_b") == []  # at most 3 of any 5
    assert rule(series("1.5", "1.5", "-1.5", "1.5", "-1.5"), "zone_b") == []  # 3 above, 2 below
    assert rule(series(1, 1, 1, 1, 1), "zone_b") == []  # on the 1σ line


def test_trend() -> None:
    alerts = rule(series(-1, *["0.5"] * 7, -1), "trend")
    assert [(a.inspection_log_id, a.message) for a in alerts] == [(7, "7 consecutive points above center line")]
    below = rule(series(*["-0.1"] * 7), "trend")
    assert [(a.inspection_log_id, a.message) for a in below] == [(6, "7 consecutive points below center line")]


def test_trend_near_miss() -> None:
    # six above, one on the center line, six above again: never seven in a row
    assert rule(series(*["0.5"] * 6, 0, *["0.5"] * 6), "trend") == []


def test_trend_once_per_run() -> None:
    # 12 above → one alert (at the 7th); a point below, then 7 above → a second alert
    alerts = rule(series(*["0.5"] * 12, -1, *["0.5"] * 7), "trend")
    assert [a.inspection_log_id for a in alerts] == [6, 19]


def test_drift() -> None:
    alerts = rule(series(0, "0.1", "0.2", "0.3", "0.4", "0.5"), "drift")
    assert [a.inspection_log_id for a in alerts] == [5]
    assert alerts[0].message == "6 consecutive points steadily rising, from 0 to 0.5"
    falling = rule(series(3, 2, 1, 0, -1, -2, -1), "drift")
    assert [(a.inspection_log_id, a.message) for a in falling] == [
        (5, "6 consecutive points steadily falling, from 3 to -2")]


def test_drift_near_misses() -> None:
    assert rule(series(0, "0.1", "0.2", "0.2", "0.3", "0.4", "0.5"), "drift") == []  # a repeat breaks it
    assert rule(series(0, "0.1", "0.2", "0.3", "0.4"), "drift") == []  # only five


def test_drift_once_per_run() -> None:
    assert [a.inspection_log_id for a in rule(series(*range(10)), "drift")] == [5]
    # rising 0..5, then falling 5..0 (the turn shares a point): one rising and one falling alert
    alerts = rule(series(*range(6), *range(4, -1, -1)), "drift")
    assert [(a.inspection_log_id, "rising" in a.message) for a in alerts] == [(5, True), (10, False)]


def test_alerts_in_time_then_rule_order() -> None:
    # point 5 completes a rising drift (-0.4 … 3.5) and is out of control at once
    alerts = western_electric_alerts(series("-0.4", "-0.3", "-0.2", "-0.1", 0, "3.5"), Decimal(0), Decimal(1))
    assert [(a.inspection_log_id, a.type) for a in alerts] == [(5, "out_of_control"), (5, "drift")]


# Capability: alternating 10 / 11.128 → MR̄ = 1.128, σ = 1 exactly; mean = 10.564 (even count).
ALTERNATING = ["10", "11.128"] * 5


def capable(usl: str) -> tuple[Decimal | None, str]:
    """Cpk and interpretation with the USL given and the LSL far away (CPL = 10.564 / 3 > 3)."""
    chart = individuals_chart(series(*ALTERNATING), lsl=Decimal(0), usl=Decimal(usl))
    assert chart.sigma == Decimal(1) and chart.center_line == Decimal("10.564")
    return chart.cpk, chart.interpretation


@pytest.mark.parametrize(("usl", "cpk", "label"), [
    ("15.574", "1.67", "Excellent (5σ capable)"),  # CPU = 5.01 / 3 = 1.67
    ("15.544", "1.66", "Good (4σ capable)"),  # 4.98 / 3 = 1.66
    ("14.554", "1.33", "Good (4σ capable)"),  # 3.99 / 3 = 1.33
    ("14.524", "1.32", "Marginal (3σ capable)"),  # 3.96 / 3 = 1.32
    ("13.564", "1.00", "Marginal (3σ capable)"),  # 3 / 3 = 1
    ("13.534", "0.99", "Not capable"),  # 2.97 / 3 = 0.99
    ("10.000", "-0.19", "Not capable"),  # mean above the USL: (10 - 10.564) / 3 = -0.188
])
def test_interpretation_edges(usl: str, cpk: str, label: str) -> None:
    assert capable(usl) == (Decimal(cpk), label)


def test_interpret_labels() -> None:
    assert interpret(Decimal("2.5")) == "Excellent (5σ capable)"
    assert interpret(Decimal("1.0")) == "Marginal (3σ capable)"
    assert interpret(Decimal("0.0")) == "Not capable"


def test_rounding_half_up() -> None:
    # CPU = 4.995 / 3 = 1.665 exactly: ROUND_HALF_UP gives 1.67 (half-even would give 1.66), and the
    # interpretation reads the rounded figure
    assert capable("15.559") == (Decimal("1.67"), "Excellent (5σ capable)")
    # 4.9935 / 3 = 1.6645 → 1.66
    assert capable("15.5575") == (Decimal("1.66"), "Good (4σ capable)")
    # Cp = (USL - LSL) / 6 = 9.99 / 6 = 1.665 → 1.67
    chart = individuals_chart(series(*ALTERNATING), lsl=Decimal("5.564"), usl=Decimal("15.554"))
    assert chart.cp == Decimal("1.67")
    assert chart.cpk == Decimal("1.66")  # min(4.99, 5) / 3 = 1.66333…


def test_one_sided_specifications() -> None:
    # σ = 1, mean = 10.564: USL 16 → CPU = 5.436 / 3 = 1.812 → 1.81; LSL 8 → CPL = 2.564 / 3 = 0.8547 → 0.85
    upper = individuals_chart(series(*ALTERNATING), lsl=None, usl=Decimal(16))
    assert (upper.cp, upper.cpk, upper.interpretation) == (None, Decimal("1.81"), "Excellent (5σ capable)")
    lower = individuals_chart(series(*ALTERNATING), lsl=Decimal(8), usl=None)
    assert (lower.cp, lower.cpk, lower.interpretation) == (None, Decimal("0.85"), "Not capable")
    neither = individuals_chart(series(*ALTERNATING), lsl=None, usl=None)
    assert (neither.cp, neither.cpk, neither.interpretation) == (None, None, NO_SPECIFICATION)
    assert neither.ucl == Decimal("13.564") and neither.lcl == Decimal("7.564")


def test_no_variation() -> None:
    chart = individuals_chart(series(*["5.00"] * 12), lsl=Decimal(4), usl=Decimal(6))
    assert chart.sigma == 0
    assert chart.center_line == chart.ucl == chart.lcl == Decimal(5)
    assert (chart.cp, chart.cpk) == (None, None)
    assert chart.interpretation == NO_VARIATION
    assert chart.alerts == []


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_points(count: int) -> None:
    with pytest.raises(AppError) as raised:
        individuals_chart(series(*WORKED[:count]), lsl=None, usl=None)
    assert (raised.value.code, raised.value.status) == ("VALIDATION_ERROR", 400)
    assert raised.value.details == {"reason": f"at least 2 measurements are needed for a moving range; got {count}"}


def test_invalid_inputs() -> None:
    with pytest.raises(AppError) as raised:
        individuals_chart(series(*WORKED), lsl=Decimal(11), usl=Decimal(10))
    assert (raised.value.status, raised.value.details) == (400, {"reason": "lsl 11 is not below usl 10"})
    for bad in (Decimal("NaN"), float("inf"), True):
        with pytest.raises(AppError) as raised:
            Point.of(bad, T0)
        assert raised.value.status == 400
    with pytest.raises(AppError):
        individuals_chart([Point.of(1, T0), Point.of(2, T0.replace(tzinfo=None))], lsl=None, usl=None)


def test_ten_thousand_points() -> None:
    # a seeded normal process (mean 10, sd 0.1): it has to compute, not to be pretty
    rng = random.Random(12)
    points = [Point(Decimal(f"{rng.gauss(10, 0.1):.4f}"), T0 + timedelta(seconds=i), i) for i in range(10_000)]
    chart = individuals_chart(points, lsl=Decimal("9.5"), usl=Decimal("10.5"))
    assert len(chart.points) == 10_000
    assert abs(chart.center_line - 10) < Decimal("0.01") and abs(chart.sigma - Decimal("0.1")) < Decimal("0.01")
    assert chart.cp is not None and chart.cpk is not None
    times = {point.measured_at for point in points}
    assert all(alert.detected_at in times for alert in chart.alerts)
    assert {alert.type for alert in chart.alerts} <= {"out_of_control", "zone_a", "zone_b", "trend", "drift"}
