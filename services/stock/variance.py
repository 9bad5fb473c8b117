"""Price variances of posted deliveries (stock contract §8): a line delivered at another unit price than the
period's price for its item raises a PRICE_VARIANCE NCR (kind `price_variance`, status OPEN). No period
price for the item, no variance. The NCRs are written under provisional numbers and numbered last in the
posting (`number_raised`), so the NCR sequence row is locked only from then to the commit. Never commits."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.numbering import provisional, yearly_number
from models.catalog import Material
from models.quality import NonConformance
from models.stock import Delivery, DeliveryLine, Location, PeriodPrice
from services import audit
from services.stock import documents
from services.stock.ledger import cost, money

PERCENT_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class PriceVariance:
    expected_price: Decimal
    actual_price: Decimal
    variance: Decimal  # actual − expected, per unit
    variance_percent: Decimal | None  # of the expected price; none when that is 0
    total_value: Decimal  # variance × quantity, in cents


def price_variance(expected: Decimal | None, actual: Decimal, quantity: Decimal) -> PriceVariance | None:
    """The variance of a line, or None when there is no period price or the prices agree."""
    if expected is None or cost(actual) == cost(expected):
        return None
    variance = cost(actual - expected)
    percent = (variance / expected * 100).quantize(PERCENT_PLACES, ROUND_HALF_UP) if expected else None
    return PriceVariance(cost(expected), cost(actual), variance, percent, money(variance * quantity))


def period_prices(session: Session, period_id: int, item_ids: Iterable[int]) -> dict[int, Decimal]:
    """The period's expected unit price of each of these items that has one."""
    ids = set(item_ids)
    if not ids:
        return {}
    rows = session.execute(select(PeriodPrice.item_id, PeriodPrice.price)
                           .where(PeriodPrice.period_id == period_id, PeriodPrice.item_id.in_(ids)))
    return {item_id: price for item_id, price in rows.tuples()}


@dataclass(frozen=True)
class RaisedVariance:
    """A price-variance NCR written under a provisional number, with what its number and audit row need."""

    ncr: NonConformance
    item: Material
    found: PriceVariance


def raise_price_variance_ncr(session: Session, delivery: Delivery, line: DeliveryLine, item: Material,
                             found: PriceVariance, location: Location, actor_id: int) -> RaisedVariance:
    """The NCR of a line's variance under a provisional number (no lock on the NCR sequence yet):
    `number_raised` numbers it at the end of the posting."""
    ncr = NonConformance(
        ncr_number=provisional("NCR"), kind="price_variance", status="OPEN",
        source_type="delivery", source_id=delivery.id, title=_title(item, delivery),
        description=_describe(found, item),
        supplier_id=delivery.supplier_id, material_id=item.id, quantity=line.quantity, created_by_id=actor_id,
        location_id=location.id, delivery_id=delivery.id, delivery_line_id=line.id,
        expected_price=found.expected_price, actual_price=found.actual_price, variance=found.variance,
        variance_percent=found.variance_percent, total_value=found.total_value)
    session.add(ncr)
    return RaisedVariance(ncr, item, found)


def number_raised(session: Session, delivery: Delivery, raised: list[RaisedVariance], location: Location,
                  actor_id: int) -> list[NonConformance]:
    """Number the posting's NCRs (in line order; they are flushed, with their ids) and write their audit rows.
    Call it after the delivery has its own number, as the posting's last writes: the NCR sequence row is locked
    from here to the commit."""
    for entry in raised:
        ncr = entry.ncr
        ncr.ncr_number = yearly_number(session, "NCR")
        ncr.title = _title(entry.item, delivery)
        documents.record(session, actor_id=actor_id, location=location, entity_type="ncr", entity_id=ncr.id,
                         action="NCR_RAISED", changes=audit.created({
                                   "ncr_no": ncr.ncr_number, "type": "PRICE_VARIANCE",
                                   "delivery_no": delivery.delivery_no, "item": entry.item.code,
                                   "expected_price": entry.found.expected_price,
                                   "actual_price": entry.found.actual_price, "variance": entry.found.variance,
                                   "total_value": entry.found.total_value}))
    return [entry.ncr for entry in raised]


def _title(item: Material, delivery: Delivery) -> str:
    return f"Price variance on {item.name} ({delivery.delivery_no})"[:255]


def _describe(found: PriceVariance, item: Material) -> str:
    percent = f" ({found.variance_percent}%)" if found.variance_percent is not None else ""
    return (f"{item.name} delivered at {_plain(found.actual_price)} per {item.unit_of_measure} against the period "
            f"price {_plain(found.expected_price)}: {_plain(found.variance)} per unit{percent}, "
            f"{_plain(found.total_value)} in total.")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
