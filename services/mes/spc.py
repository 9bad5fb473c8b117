"""Statistical process control for one inspection characteristic (issue 12, `GET /api/v1/spc-charts`): the
individuals (X) chart, process capability (Cp, Cpk) and the Western Electric rules. Pure maths: no I/O, no
database; the route reads the measurements and renders the `Chart`.

The chart
- Points are charted in time order (`measured_at`, a stable sort: equal timestamps keep the caller's order).
- σ comes from the average moving range: MR̄ = mean of |x_i - x_{i-1}|, σ = MR̄ / 1.128 (d2 for n = 2).
- center_line = mean, ucl / lcl = mean ± 3σ.
- Cp = (USL - LSL) / 6σ; Cpk = min(CPU, CPL), CPU = (USL - mean) / 3σ, CPL = (mean - LSL) / 3σ.

Decisions
- Numbers: Decimal throughout, computed in a local context of 28 significant digits (the caller's decimal context
  does not matter). `Point.value` is typed Decimal (the database's Numeric); `Point.of(...)`, `lsl` and `usl` also
  take an int or a float, and so does `Point(...)` at run time: a float is converted through its shortest repr
  (`Decimal(repr(0.1)) == Decimal("0.1")`), not its binary expansion; NaN, infinities and bools are refused
  (VALIDATION_ERROR, 400).
- Rounding: cp and cpk are rounded to 2 places with ROUND_HALF_UP (1.665 → 1.67). center_line, ucl, lcl and sigma
  are not rounded: the route chooses their display precision. The interpretation is read from the rounded Cpk, so
  the label never contradicts the number shown (a Cpk of 1.665 is shown as 1.67 and is "Excellent").
- Fewer than two points: no moving range exists, so AppError("VALIDATION_ERROR", 400) with a `reason`. So is an
  LSL at or above the USL.
- σ = 0 (every point equal): cp and cpk are None (capability is undefined, not infinite), the interpretation says the
  process shows no variation, ucl = lcl = center_line and no zone alert (out_of_control, zone_a, zone_b) is raised;
  trend and drift cannot fire either, since no point lies off the center line and no two values differ.
- One-sided specification: with only a USL, cpk = CPU; with only an LSL, cpk = CPL; cp needs both, so it is None.
  With neither, cp and cpk are None and the interpretation says so.
- Western Electric rules, "beyond" meaning strictly beyond (a point exactly on a limit is not beyond it):
  out_of_control (a point beyond 3σ), zone_a (2 of 3 consecutive points beyond 2σ on one side), zone_b (4 of 5
  consecutive points beyond 1σ on one side), trend (7 consecutive points strictly above, or strictly below, the
  center line; a point on it breaks the run), drift (6 consecutive strictly increasing, or strictly decreasing,
  values; a repeated value breaks the run). At the start of the series the window holds the points seen so far,
  so a pattern is detected at the point that completes it.
- One alert per run: for each rule and side (above / below, rising / falling) the pattern "holds at point i" when
  the window ending at i matches; an alert is raised where it starts to hold, not again while it keeps holding
  (twelve points above the center line give one trend alert, at the seventh); after it stops holding, a new match
  is a new run and a new alert. `detected_at` is the time of the point completing the pattern. Alerts are listed
  in time order, then in the order of the rules above.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal

from core.errors import AppError

D2 = Decimal("1.128")  # the bias constant d2 of a moving range of two points
CENT = Decimal("0.01")
PRECISION = 28

AlertType = Literal["out_of_control", "zone_a", "zone_b", "trend", "drift"]
Number = Decimal | float | int

# (order, type, points beyond, of consecutive points, beyond how many σ)
ZONE_RULES: tuple[tuple[int, AlertType, int, int, int], ...] = ((1, "zone_a", 2, 3, 2), (2, "zone_b", 4, 5, 1))
# Cpk thresholds, best first; below the last one the process is "Not capable".
INTERPRETATIONS: tuple[tuple[Decimal, str], ...] = (
    (Decimal("1.67"), "Excellent (5σ capable)"),
    (Decimal("1.33"), "Good (4σ capable)"),
    (Decimal("1.0"), "Marginal (3σ capable)"),
)
NOT_CAPABLE = "Not capable"
NO_VARIATION = "No variation: every measurement is equal, so capability (Cp, Cpk) is undefined"
NO_SPECIFICATION = "No specification limits: capability (Cp, Cpk) is not computed"


def invalid(message: str, reason: str) -> AppError:
    return AppError("VALIDATION_ERROR", 400, message, {"reason": reason})


def to_decimal(value: Number, name: str) -> Decimal:
    """`value` as a finite Decimal; a float through its shortest repr."""
    if isinstance(value, bool) or not isinstance(value, Decimal | float | int):
        raise invalid(f"{name} must be a number", f"{name} is {type(value).__name__}, not a number")
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        raise invalid(f"{name} must be a finite number", f"{name} is {value}")
    return number


@dataclass(frozen=True)
class Point:
    """One measurement of the characteristic; `value` is normalised to a Decimal (see the module docstring)."""

    value: Decimal
    measured_at: datetime
    inspection_log_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", to_decimal(self.value, "value"))

    @classmethod
    def of(cls, value: Number, measured_at: datetime, inspection_log_id: int | None = None) -> "Point":
        """A point from a Decimal, int or float (typed entry point for non-Decimal values)."""
        return cls(to_decimal(value, "value"), measured_at, inspection_log_id)


@dataclass(frozen=True)
class Alert:
    type: AlertType
    message: str
    detected_at: datetime  # the time of the point completing the pattern
    value: Decimal  # that point's value
    inspection_log_id: int | None = None  # that point's reference


@dataclass(frozen=True)
class Chart:
    points: tuple[Point, ...]  # in time order
    center_line: Decimal
    ucl: Decimal
    lcl: Decimal
    sigma: Decimal
    usl: Decimal | None
    lsl: Decimal | None
    cp: Decimal | None
    cpk: Decimal | None
    interpretation: str
    alerts: list[Alert]


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def interpret(cpk: Decimal) -> str:
    """The label of a (rounded) Cpk."""
    for threshold, label in INTERPRETATIONS:
        if cpk >= threshold:
            return label
    return NOT_CAPABLE


def individuals_chart(points: Sequence[Point], lsl: Number | None, usl: Number | None) -> Chart:
    """The individuals chart, capability and Western Electric alerts of `points` (in any order)."""
    if len(points) < 2:
        raise invalid("An SPC chart needs at least two measurements",
                      f"at least 2 measurements are needed for a moving range; got {len(points)}")
    low = None if lsl is None else to_decimal(lsl, "lsl")
    high = None if usl is None else to_decimal(usl, "usl")
    if low is not None and high is not None and low >= high:
        raise invalid("The lower specification limit must be below the upper one",
                      f"lsl {low} is not below usl {high}")
    try:
        ordered = tuple(sorted(points, key=lambda point: point.measured_at))
    except TypeError as error:  # naive and aware timestamps mixed
        raise invalid("Measurement times cannot be compared", str(error)) from error
    with localcontext() as context:
        context.prec = PRECISION
        values = [point.value for point in ordered]
        mean = sum(values, Decimal(0)) / len(values)
        moving_ranges = [abs(current - previous) for previous, current in zip(values, values[1:], strict=False)]
        sigma = sum(moving_ranges, Decimal(0)) / len(moving_ranges) / D2
        cp, cpk = capability(mean, sigma, low, high)
        if sigma == 0:
            interpretation = NO_VARIATION
        elif cpk is None:
            interpretation = NO_SPECIFICATION
        else:
            interpretation = interpret(cpk)
        return Chart(points=ordered, center_line=mean, ucl=mean + 3 * sigma, lcl=mean - 3 * sigma, sigma=sigma,
                     usl=high, lsl=low, cp=cp, cpk=cpk, interpretation=interpretation,
                     alerts=western_electric_alerts(ordered, mean, sigma))


def capability(mean: Decimal, sigma: Decimal, lsl: Decimal | None,
               usl: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(Cp, Cpk) rounded to 2 places; None where undefined (σ = 0, a missing limit)."""
    if sigma == 0:
        return None, None
    cp = None if lsl is None or usl is None else round2((usl - lsl) / (6 * sigma))
    sides = [(usl - mean) / (3 * sigma) if usl is not None else None,
             (mean - lsl) / (3 * sigma) if lsl is not None else None]
    present = [side for side in sides if side is not None]
    return cp, round2(min(present)) if present else None


def fmt(value: Decimal) -> str:
    """A limit for a message: at most 4 decimals, no trailing zeros, never an exponent."""
    text = f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def run_starts(holds: Sequence[bool]) -> list[int]:
    """The indices where `holds` becomes true after being false (or at the start): one per run."""
    return [index for index, current in enumerate(holds) if current and (index == 0 or not holds[index - 1])]


def in_windows(flags: Sequence[bool], size: int, times: int) -> list[bool]:
    """For each index: at least `times` of the `size` flags ending there (fewer at the start) are true."""
    found, inside = [], 0
    for index, flag in enumerate(flags):
        inside += flag
        if index >= size:
            inside -= flags[index - size]
        found.append(inside >= times)
    return found


def runs_of(flags: Sequence[bool], length: int) -> list[bool]:
    """For each index: it ends a run of at least `length` true flags."""
    found, run = [], 0
    for flag in flags:
        run = run + 1 if flag else 0
        found.append(run >= length)
    return found


def western_electric_alerts(points: Sequence[Point], center: Decimal, sigma: Decimal) -> list[Alert]:
    """The Western Electric alerts of `points`, taken in the given (time) order, around `center` and `sigma`.
    Each point's deviation is compared with the bands once; the rules then slide over plain flags (10,000 points
    in a few milliseconds)."""
    values = [point.value for point in points]
    deviations = [value - center for value in values]
    found: list[tuple[int, int, Alert]] = []

    def add(rule: int, kind: AlertType, index: int, message: str) -> None:
        point = points[index]
        found.append((index, rule, Alert(kind, message, point.measured_at, point.value, point.inspection_log_id)))

    for sign, side, bound in ((1, "above", "+"), (-1, "below", "-")):
        signed = [d * sign for d in deviations]
        if sigma > 0:
            limit = center + sign * 3 * sigma
            name = "upper control limit" if sign > 0 else "lower control limit"
            for index in run_starts([d > 3 * sigma for d in signed]):
                add(0, "out_of_control", index,
                    f"Point {values[index]} {side} the {name} {fmt(limit)} (mean {bound} 3σ)")
            for rule, kind, times, of, width in ZONE_RULES:
                limit = center + sign * width * sigma
                band = width * sigma
                for index in run_starts(in_windows([d > band for d in signed], of, times)):
                    add(rule, kind, index, f"{times} of {of} consecutive points {side} {fmt(limit)} "
                        f"(mean {bound} {width}σ); latest point {values[index]}")
        for index in run_starts(runs_of([d > 0 for d in signed], 7)):
            add(3, "trend", index, f"7 consecutive points {side} center line")

    for sign, direction in ((1, "rising"), (-1, "falling")):
        steps = [False, *((values[i] - values[i - 1]) * sign > 0 for i in range(1, len(values)))]
        for index in run_starts(runs_of(steps, 5)):
            add(4, "drift", index,
                f"6 consecutive points steadily {direction}, from {values[index - 5]} to {values[index]}")

    return [alert for _, _, alert in sorted(found, key=lambda entry: (entry[0], entry[1]))]
