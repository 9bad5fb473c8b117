"""Reports of the stock contract (§16). Every report has one body:

    {"report", "generated_at", "location", "period", "filters", "rows": [...], "totals": {...}}

`location` and `period` are `{id, code, name}` / `{id, name, start_date, end_date, status}` or null (stock-now
has no period; the reconciliation of all locations no location). Rows are ordered; totals come from SQL
aggregates over the same conditions as the rows. Unknown ids are 404, an OPERATOR sees only their locations
(403 LOCATION_ACCESS_DENIED when naming another). Values are Decimals; the API renders them (JSON or CSV).
Never commits."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import not_found
from core.timeutil import iso_z
from models.catalog import Material, MaterialCategory, Supplier
from models.stock import Delivery, DeliveryLine, Location, LocationStock, Period, StockIssue, StockIssueLine
from services.identity import Principal
from services.stock.access import accessible_location, location_filter
from services.stock.consolidated import is_low, low_stock, row_value
from services.stock.dashboards import period_ref
from services.stock.periods import close as stock_period_close
from services.stock.periods import reconciliation as stock_reconciliation

ZERO = Decimal(0)


def _body(report: str, now: datetime, location: Location | None, period: Period | None, filters: dict[str, Any],
          rows: list[dict[str, Any]], totals: dict[str, Any]) -> dict[str, Any]:
    where = {"id": str(location.uid), "code": location.code, "name": location.name} if location else None
    return {"report": report, "generated_at": iso_z(now), "location": where, "period": period_ref(period),
            "filters": filters, "rows": rows, "totals": totals}


def _item(item_id: int, uid: uuid.UUID, code: str, name: str, unit: str, category: str | None) -> dict[str, Any]:
    return {"item_id": str(uid), "item_code": code, "item_name": name, "item_unit": unit, "item_category": category}


ITEM_COLUMNS = (Material.id, Material.uid, Material.code, Material.name, Material.unit_of_measure,
                MaterialCategory.code)
CATEGORY_OF_ITEM = MaterialCategory.id == Material.category_id


def stock_now(session: Session, user: Principal, location_uid: str, category: str | None,
              now: datetime) -> dict[str, Any]:
    """Every item held at the location (rows of zero included: a minimum makes them low), by item code."""
    location = accessible_location(session, user, location_uid)
    conditions = [LocationStock.location_id == location.id]
    if category:
        conditions.append(func.lower(MaterialCategory.code) == category.strip().lower())

    def joined(*columns: Any) -> Any:
        return (select(*columns).select_from(LocationStock).join(Material, Material.id == LocationStock.item_id)
                .outerjoin(MaterialCategory, CATEGORY_OF_ITEM).where(*conditions))

    found = session.execute(joined(*ITEM_COLUMNS, LocationStock.on_hand, LocationStock.wac, row_value(),
                                   LocationStock.min_stock, LocationStock.max_stock)
                            .order_by(Material.code, Material.id)).all()
    rows = [{**_item(*row[:6]), "on_hand": row[6], "wac": row[7], "value": row[8], "min_stock": row[9],
             "max_stock": row[10], "is_low_stock": low_stock(row[6], row[9])} for row in found]
    count, value, low = session.execute(joined(func.count(), func.coalesce(func.sum(row_value()), 0),
                                               func.count().filter(is_low()))).one()
    totals = {"item_count": int(count), "total_value": Decimal(value), "low_stock_count": int(low)}
    return _body("stock-now", now, location, None, {"category": category}, rows, totals)


def deliveries(session: Session, user: Principal, location_uid: str, period_uid: str, supplier_uid: str | None,
               now: datetime) -> dict[str, Any]:
    """The POSTED deliveries of the period at the location, by date, with their lines."""
    location = accessible_location(session, user, location_uid)
    period = stock_period_close.period_by_uid(session, period_uid)
    conditions = [Delivery.location_id == location.id, Delivery.period_id == period.id, Delivery.status == "POSTED"]
    supplier = _supplier(session, supplier_uid) if supplier_uid else None
    if supplier is not None:
        conditions.append(Delivery.supplier_id == supplier.id)
    found = session.execute(select(Delivery, Supplier).join(Supplier, Supplier.id == Delivery.supplier_id)
                            .where(*conditions).order_by(Delivery.delivery_date, Delivery.id)).all()
    lines = _lines_by(session, select(DeliveryLine.delivery_id, DeliveryLine.line_number, *ITEM_COLUMNS,
                                      DeliveryLine.quantity, DeliveryLine.unit_price, DeliveryLine.period_price,
                                      DeliveryLine.line_total, DeliveryLine.has_variance)
                      .join(Material, Material.id == DeliveryLine.item_id)
                      .outerjoin(MaterialCategory, CATEGORY_OF_ITEM)
                      .where(DeliveryLine.delivery_id.in_([d.id for d, _ in found]))
                      .order_by(DeliveryLine.delivery_id, DeliveryLine.line_number),
                      ("quantity", "unit_price", "period_price", "line_total", "has_variance"))
    rows = [{"id": str(d.uid), "delivery_no": d.delivery_no, "delivery_date": d.delivery_date.isoformat(),
             "invoice_no": d.invoice_no, "supplier": {"id": str(s.uid), "code": s.code, "name": s.name},
             "total_amount": d.total_amount, "has_variance": d.has_variance, "lines": lines.get(d.id, [])}
            for d, s in found]
    count, amount, variances = session.execute(select(
        func.count(), func.coalesce(func.sum(Delivery.total_amount), 0),
        func.count().filter(Delivery.has_variance.is_(True))).where(*conditions)).one()
    line_count, variance_lines = session.execute(select(
        func.count(), func.count().filter(DeliveryLine.has_variance.is_(True)))
        .join(Delivery, Delivery.id == DeliveryLine.delivery_id).where(*conditions)).one()
    totals = {"delivery_count": int(count), "line_count": int(line_count), "total_amount": Decimal(amount),
              "variance_count": int(variances), "variance_line_count": int(variance_lines)}
    return _body("deliveries", now, location, period, {"supplier_id": supplier_uid}, rows, totals)


def issues(session: Session, user: Principal, location_uid: str, period_uid: str, cost_centre: str | None,
           now: datetime) -> dict[str, Any]:
    """The period's issues at the location, by date, with their lines and totals per cost centre."""
    location = accessible_location(session, user, location_uid)
    period = stock_period_close.period_by_uid(session, period_uid)
    conditions = [StockIssue.location_id == location.id, StockIssue.period_id == period.id]
    if cost_centre:
        conditions.append(func.upper(StockIssue.cost_centre) == cost_centre.strip().upper())
    found = list(session.scalars(select(StockIssue).where(*conditions).order_by(StockIssue.issue_date,
                                                                                 StockIssue.id)))
    lines = _lines_by(session, select(StockIssueLine.issue_id, StockIssueLine.line_number, *ITEM_COLUMNS,
                                      StockIssueLine.quantity, StockIssueLine.wac, StockIssueLine.value)
                      .join(Material, Material.id == StockIssueLine.item_id)
                      .outerjoin(MaterialCategory, CATEGORY_OF_ITEM)
                      .where(StockIssueLine.issue_id.in_([i.id for i in found]))
                      .order_by(StockIssueLine.issue_id, StockIssueLine.line_number), ("quantity", "wac", "value"))
    rows = [{"id": str(i.uid), "issue_no": i.issue_no, "issue_date": i.issue_date.isoformat(),
             "cost_centre": i.cost_centre, "total_value": i.total_value, "lines": lines.get(i.id, [])}
            for i in found]
    centres = session.execute(select(StockIssue.cost_centre, func.count(), func.sum(StockIssue.total_value))
                              .where(*conditions).group_by(StockIssue.cost_centre)
                              .order_by(StockIssue.cost_centre)).all()
    line_count = session.scalar(select(func.count()).select_from(StockIssueLine)
                                .join(StockIssue, StockIssue.id == StockIssueLine.issue_id).where(*conditions))
    by_centre = [{"cost_centre": centre, "issue_count": int(count), "total_value": Decimal(value)}
                 for centre, count, value in centres]
    totals = {"issue_count": sum(int(count) for _, count, _ in centres), "line_count": int(line_count or 0),
              "total_value": sum((Decimal(value) for _, _, value in centres), ZERO), "by_cost_centre": by_centre}
    return _body("issues", now, location, period, {"cost_centre": cost_centre}, rows, totals)


def reconciliation(session: Session, user: Principal, period_uid: str, location_uid: str | None,
                   now: datetime) -> dict[str, Any]:
    """The period's reconciliation per location (services/stock_reconciliation), one row each, by code."""
    period = stock_period_close.period_by_uid(session, period_uid)
    location = accessible_location(session, user, location_uid) if location_uid else None
    locations = [location] if location else list(session.scalars(select(Location).where(
        Location.is_active.is_(True), location_filter(session, user, Location.id)).order_by(Location.code)))
    rows = stock_reconciliation.reconcile_many(session, period, locations)
    return _body("reconciliation", now, location, period, {"location_id": location_uid}, rows,
                 stock_reconciliation.grand_totals(rows))


def _supplier(session: Session, supplier_uid: str) -> Supplier:
    try:
        key = uuid.UUID(str(supplier_uid))
    except ValueError:
        raise not_found("Supplier", supplier_uid) from None
    supplier = session.scalars(select(Supplier).where(Supplier.uid == key)).first()
    if supplier is None:
        raise not_found("Supplier", supplier_uid)
    return supplier


def _lines_by(session: Session, query: Any, names: tuple[str, ...]) -> dict[int, list[dict[str, Any]]]:
    """Document lines keyed by their document: `(document id, line number, item columns…, *names)` rows."""
    by_document: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(query).all():
        by_document.setdefault(row[0], []).append({"line_no": row[1], **_item(*row[2:8]),
                                                   **dict(zip(names, row[8:], strict=True))})
    return by_document
