"""SPC charts of an inspection characteristic (manufacturing-erp.md §6.8, `GET /api/v1/spc-charts`): its
measurements in a period of whole UTC days, charted by services/mes/spc.py (individuals chart, capability,
Western Electric alerts), as data or as a PNG image.

The period is [start_date 00:00 UTC, end_date 24:00 UTC): both days included, whatever the time of day. Values are
read with the index (characteristic_id, measured_at), two columns only, in time order. Never writes."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from core.errors import AppError, not_found
from models.mes import InspectionCharacteristic, InspectionMeasurement
from services.common.guards import field_error
from services.mes import spc
from services.mes.inspections import specification_text

MIN_POINTS = 2  # a moving range needs two points
MARKERS_UP_TO = 300  # points drawn as dots too up to this many; beyond, the line alone stays readable
Measurement = InspectionMeasurement


@dataclass(frozen=True)
class SpcChart:
    characteristic_id: int
    characteristic_name: str
    specification: str | None
    start: date
    end: date
    chart: spc.Chart


def spc_chart(session: Session, characteristic_id: int, start: date, end: date) -> SpcChart:
    """The chart of a characteristic's measurements from `start` to `end` (whole UTC days, both included)."""
    if start > end:
        raise field_error("start_date", f"start_date {start} is after end_date {end}")
    row = session.execute(
        select(InspectionCharacteristic.name, InspectionCharacteristic.specification,
               InspectionCharacteristic.tolerance, InspectionCharacteristic.lsl, InspectionCharacteristic.usl)
        .where(InspectionCharacteristic.id == characteristic_id)).tuples().first()
    if row is None:
        raise not_found("Inspection characteristic", characteristic_id)
    name, specification, tolerance, lsl, usl = row
    points = _points(session, characteristic_id, start, end)
    if len(points) < MIN_POINTS:
        raise AppError("NOT_ENOUGH_DATA", 400, "Not enough data",
                       f"An SPC chart needs at least {MIN_POINTS} measurements; characteristic {characteristic_id} "
                       f"has {len(points)} from {start} to {end}")
    return SpcChart(characteristic_id, name, specification_text(specification, tolerance), start, end,
                    spc.individuals_chart(points, lsl, usl))


def _points(session: Session, characteristic_id: int, start: date, end: date) -> list[spc.Point]:
    """The measurements in the period, in time order: (measured_at, measured_value) rows off the index."""
    conditions: list[ColumnElement[bool]] = [Measurement.characteristic_id == characteristic_id,
                                             Measurement.measured_at >= datetime.combine(start, time.min, UTC)]
    if end < date.max:  # the last day there is has no end to exclude
        conditions.append(Measurement.measured_at < datetime.combine(end + timedelta(days=1), time.min, UTC))
    rows = session.execute(select(Measurement.measured_at, Measurement.measured_value).where(*conditions)
                           .order_by(Measurement.measured_at)).tuples()
    return [spc.Point(value, measured_at) for measured_at, value in rows]


def render_png(chart: SpcChart) -> bytes:
    """The individuals chart as a PNG: the points joined in time order, the center line, the control limits, the
    specification limits when the characteristic has them, the points of the alerts in red."""
    figure = Figure(figsize=(10, 4.8), dpi=100, layout="constrained")
    axes = figure.subplots()
    data = chart.chart
    times = date2num([point.measured_at for point in data.points])
    axes.plot(times, [float(point.value) for point in data.points], color="#1f77b4", linewidth=1,
              marker="o" if len(times) <= MARKERS_UP_TO else None, markersize=3, label="measurement", zorder=2)
    axes.axhline(float(data.center_line), color="#2ca02c", linewidth=1.2, label=f"center {spc.fmt(data.center_line)}")
    for limit, name in ((data.ucl, "UCL"), (data.lcl, "LCL")):
        axes.axhline(float(limit), color="#d62728", linestyle="--", linewidth=1, label=f"{name} {spc.fmt(limit)}")
    for spec_limit, name in ((data.usl, "USL"), (data.lsl, "LSL")):
        if spec_limit is not None:
            axes.axhline(float(spec_limit), color="#ff7f0e", linestyle=":", linewidth=1.2,
                         label=f"{name} {spc.fmt(spec_limit)}")
    if data.alerts:
        alerts = data.alerts
        axes.scatter(date2num([alert.detected_at for alert in alerts]), [float(alert.value) for alert in alerts],
                     color="red", s=36, zorder=3, label=f"alert ({len(alerts)})")
    title = f"{chart.characteristic_name}" + (f" ({chart.specification})" if chart.specification else "")
    axes.set_title(f"{title}: individuals chart, {chart.start} to {chart.end}")
    axes.xaxis_date(UTC)
    axes.set_ylabel("measured value")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    figure.autofmt_xdate()
    buffer = BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
