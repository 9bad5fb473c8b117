"""Seeding for the stock benchmark (bench/stock.py): locations × items with a year of stock movements.

- `seed_master_data`: item categories, items, suppliers, locations, and the monthly periods (the earlier ones
  CLOSED, the last one OPEN and covering today), each rolled forward from the one before, with their
  readiness rows (through the ORM: a few thousand rows, the models' defaults apply).
- `seed_year`: the periods' prices, every location's opening stock of every item, and each month's POSTED
  deliveries, issues and COMPLETED transfers (with their approval instances) as documents, lines and ledger
  rows, COPYed month by month. The ledger is computed here, in date order, with the service's own stock maths
  (services/stock_ledger: WAC, rounding, the source keys the services write), so each ledger row carries the
  balance that resulted and `location_stock` is the ledger's last balance; prices drift by half a percent a
  month, so WACs move. The closed periods get the closing snapshot the period close would write (on hand and
  value summed over the ledger, WAC = value / on hand), the locations POB entries for every day, the closed
  periods confirmed reconciliations; the document sequences continue after the seeded numbers.
- `verify_ledger`: every stock row equals its last ledger row and the sum of its movements.

Deliveries are at the period's price (no variance, so no NCR); issues and transfers never take more than the
stock holds. Documents are numbered as the services number them (`DEL-YYYY-NNN`, per year of the document).
"""

import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from core.db import make_engine, make_sessionmaker, session_scope
from models.catalog import Material, MaterialCategory, Supplier
from models.stock import Location, Period, PeriodLocation
from services.stock.ledger import cost, line_value, money, weighted_average

CATEGORIES = (("PROTEINS", "PRO", "KG"), ("DAIRY", "DAI", "L"), ("PRODUCE", "VEG", "KG"), ("DRY_GOODS", "DRY", "KG"),
              ("BEVERAGES", "BEV", "L"), ("BAKERY", "BAK", "EA"), ("FROZEN", "FRZ", "KG"), ("CLEANING", "CLN", "EA"))
LOCATION_TYPES = ("KITCHEN", "STORE", "CENTRAL", "WAREHOUSE")
COST_CENTRES = ("FOOD", "BEVERAGE", "CLEANING", "CATERING")
MONTHLY_DRIFT = Decimal("0.005")   # prices rise by half a percent a month
WAC_PLACES = Decimal("0.0001")
AMPLE = Decimal(20)                # the bench issues and transfers only where at least this much is left


@dataclass(frozen=True)
class Size:
    locations: int
    items: int
    months: int
    suppliers: int
    deliveries: int                  # per location and (whole) month
    delivery_lines: tuple[int, int]  # lines per document, at least and at most
    issues: int
    issue_lines: tuple[int, int]
    transfers: int                   # out of each location per month
    transfer_lines: tuple[int, int]


FULL_SIZE = Size(50, 2000, 12, 25, 30, (6, 14), 60, (4, 12), 8, (2, 6))
QUICK_SIZE = Size(6, 300, 3, 5, 6, (3, 8), 10, (2, 6), 2, (1, 4))


@dataclass(frozen=True)
class Ref:
    id: int
    uid: str
    code: str


@dataclass(frozen=True)
class PeriodRef:
    id: int
    uid: str
    name: str
    start: date
    end: date
    status: str


@dataclass(frozen=True)
class MasterData:
    locations: list[Ref]
    items: list[Ref]
    suppliers: list[Ref]
    periods: list[PeriodRef]


@dataclass
class Seeded:
    master: MasterData
    prices: dict[int, Decimal]                # item id → its price in the open period
    deliveries: list[str] = field(default_factory=list)   # uids of the seeded documents
    issues: list[str] = field(default_factory=list)
    transfers: list[str] = field(default_factory=list)
    per_location: dict[str, dict[int, int]] = field(default_factory=dict)  # "deliveries"/"issues" → location → n
    ample: dict[int, list[int]] = field(default_factory=dict)  # location id → items (indexes) with ample stock
    rows: dict[str, int] = field(default_factory=dict)         # table → rows written

    @property
    def open_period(self) -> PeriodRef:
        return self.master.periods[-1]

    @property
    def last_closed(self) -> PeriodRef | None:
        return self.master.periods[-2] if len(self.master.periods) > 1 else None


# --- master data (ORM) -----------------------------------------------------------------------------------

def month_start(day: date, back: int) -> date:
    months = day.year * 12 + day.month - 1 - back
    return date(months // 12, months % 12 + 1, 1)


def month_end(start: date) -> date:
    return (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def seed_master_data(database_url: str, size: Size, today: date, admin_id: int) -> MasterData:
    engine = make_engine(database_url, pool_size=1)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            categories = [MaterialCategory(code=code, name=code.replace("_", " ").title()) for code, _, _ in CATEGORIES]
            session.add_all(categories)
            session.flush()
            items = []
            for n in range(size.items):
                code, prefix, unit = CATEGORIES[n % len(CATEGORIES)]
                items.append(Material(code=f"{prefix}-{n + 1:05d}", name=f"{code.replace('_', ' ').title()} item "
                                      f"{n + 1}", unit_of_measure=unit, material_type="other",
                                      category_id=categories[n % len(CATEGORIES)].id, status="active"))
            suppliers = [Supplier(code=f"SUP-{n + 1:03d}", name=f"Bench supplier {n + 1}", status="active")
                         for n in range(size.suppliers)]
            locations = [Location(code=f"LOC-{n + 1:02d}", name=f"{LOCATION_TYPES[n % 4].title()} {n + 1}",
                                  type=LOCATION_TYPES[n % 4]) for n in range(size.locations)]
            session.add_all([*items, *suppliers, *locations])
            session.flush()
            periods = _periods(session, size.months, today, admin_id, [loc.id for loc in locations])
            return MasterData([Ref(x.id, str(x.uid), x.code) for x in locations],
                              [Ref(x.id, str(x.uid), x.code) for x in items],
                              [Ref(x.id, str(x.uid), x.code) for x in suppliers], periods)
    finally:
        engine.dispose()


def _periods(session: Any, months: int, today: date, admin_id: int, location_ids: list[int]) -> list[PeriodRef]:
    """`months` calendar months up to today's: all CLOSED (each rolled forward from the one before) but the
    last, OPEN, whose locations are NOT_READY (the bench marks them READY before it closes the period)."""
    periods: list[Period] = []
    for k in range(months):
        start = month_start(today, months - 1 - k)
        end = month_end(start)
        closed = k < months - 1
        closed_at = datetime.combine(end + timedelta(days=1), time(9), UTC) if closed else None
        period = Period(name=f"{start:%b %Y}", start_date=start, end_date=end,
                        status="CLOSED" if closed else "OPEN", opened_at=datetime.combine(start, time(0), UTC),
                        closed_at=closed_at, closed_by_id=admin_id if closed else None,
                        close_locations_done=len(location_ids) if closed else 0,
                        close_locations_total=len(location_ids) if closed else 0,
                        previous_period_id=periods[-1].id if periods else None, created_by_id=admin_id)
        session.add(period)
        session.flush()
        periods.append(period)
        session.add_all([PeriodLocation(period_id=period.id, location_id=location_id,
                                        status="READY" if closed else "NOT_READY",
                                        ready_at=closed_at, ready_by_id=admin_id if closed else None)
                         for location_id in location_ids])
    session.flush()
    return [PeriodRef(p.id, str(p.uid), p.name, p.start_date, p.end_date, p.status) for p in periods]


# --- the ledger ------------------------------------------------------------------------------------------

OUTBOUND = ("ISSUE", "TRANSFER_OUT")


class Ledger:
    """Stock per (location, item) while the year is written: [on hand, WAC, summed value, movements], and the
    ledger rows of the month being written (COPY order = id order = date order)."""

    def __init__(self) -> None:
        self.stock: dict[tuple[int, int], list[Any]] = {}
        self.rows: list[tuple[Any, ...]] = []

    def on_hand(self, location_id: int, item_id: int) -> Decimal:
        return self.stock[(location_id, item_id)][0]  # type: ignore[no-any-return]

    def wac(self, location_id: int, item_id: int) -> Decimal:
        return self.stock[(location_id, item_id)][1]  # type: ignore[no-any-return]

    def move(self, location_id: int, item_id: int, kind: str, quantity: Decimal, unit_cost: Decimal | None,
             when: datetime, period_id: int, source: tuple[str, int | None, str], actor_id: int) -> Decimal:
        """One movement as services/stock_ledger.apply makes it; its signed value."""
        row = self.stock.setdefault((location_id, item_id), [Decimal(0), Decimal(0), Decimal(0), 0])
        if kind in OUTBOUND:
            unit, signed = row[1], -quantity
        else:
            assert unit_cost is not None
            unit, signed = unit_cost, quantity
            row[1] = weighted_average(row[0], row[1], quantity, unit_cost)
        row[0] += signed
        value = line_value(signed, unit)
        row[2] += value
        row[3] += 1
        self.rows.append((uuid.uuid4(), location_id, item_id, period_id, kind, when.date(), signed, cost(unit), value,
                          row[0], row[1], source[0], source[1], source[2], actor_id, when))
        return value


MOVEMENT_COLUMNS = ("uid", "location_id", "item_id", "period_id", "movement_type", "movement_date", "quantity",
                    "unit_cost", "value", "balance_on_hand", "balance_wac", "source_type", "source_id", "source_key",
                    "created_by_id", "created_at")
DELIVERY_COLUMNS = ("id", "uid", "delivery_no", "location_id", "supplier_id", "period_id", "invoice_no",
                    "delivery_note", "delivery_date", "status", "total_amount", "has_variance", "created_by_id",
                    "posted_at", "posted_by_id", "created_at", "updated_at", "version")
DELIVERY_LINE_COLUMNS = ("uid", "delivery_id", "line_number", "item_id", "quantity", "unit_price", "line_total",
                         "period_price", "has_variance")
ISSUE_COLUMNS = ("id", "uid", "issue_no", "location_id", "period_id", "issue_date", "cost_centre", "notes",
                 "total_value", "created_by_id", "created_at", "updated_at")
ISSUE_LINE_COLUMNS = ("uid", "issue_id", "line_number", "item_id", "quantity", "wac", "value")
APPROVAL_COLUMNS = ("id", "uid", "reference_type", "reference_id", "reference_number", "status", "current_step",
                    "total_steps", "amount", "currency", "requested_by", "requested_at", "priority", "extra_data",
                    "completed_at", "created_at", "updated_at", "version")
TRANSFER_COLUMNS = ("id", "uid", "transfer_no", "from_location_id", "to_location_id", "period_id", "request_date",
                    "status", "notes", "total_value", "requested_by_id", "approval_id", "decided_by_id", "decided_at",
                    "completed_at", "created_at", "updated_at", "version")
TRANSFER_LINE_COLUMNS = ("uid", "transfer_id", "line_number", "item_id", "quantity", "wac", "value")
SNAPSHOT_COLUMNS = ("uid", "period_id", "location_id", "item_id", "on_hand", "wac", "value", "created_at")
STOCK_COLUMNS = ("uid", "location_id", "item_id", "on_hand", "wac", "min_stock", "max_stock", "created_at",
                 "updated_at", "version")


@dataclass
class Month:
    """The rows of one month's documents, COPYed together (headers before their lines)."""
    deliveries: list[tuple[Any, ...]] = field(default_factory=list)
    delivery_lines: list[tuple[Any, ...]] = field(default_factory=list)
    issues: list[tuple[Any, ...]] = field(default_factory=list)
    issue_lines: list[tuple[Any, ...]] = field(default_factory=list)
    approvals: list[tuple[Any, ...]] = field(default_factory=list)
    transfers: list[tuple[Any, ...]] = field(default_factory=list)
    transfer_lines: list[tuple[Any, ...]] = field(default_factory=list)

    def tables(self) -> list[tuple[str, Sequence[str], list[tuple[Any, ...]]]]:
        return [("deliveries", DELIVERY_COLUMNS, self.deliveries),
                ("delivery_lines", DELIVERY_LINE_COLUMNS, self.delivery_lines),
                ("stock_issues", ISSUE_COLUMNS, self.issues),
                ("stock_issue_lines", ISSUE_LINE_COLUMNS, self.issue_lines),
                ("approval_instances", APPROVAL_COLUMNS, self.approvals),
                ("transfers", TRANSFER_COLUMNS, self.transfers),
                ("transfer_lines", TRANSFER_LINE_COLUMNS, self.transfer_lines)]


class YearWriter:
    """Writes the year month by month: documents in date order, each line through the ledger."""

    def __init__(self, conn: psycopg.Connection[Any], master: MasterData, size: Size, today: date,
                 users: tuple[int, int], rng: random.Random) -> None:
        self.conn, self.master, self.size, self.today, self.rng = conn, master, size, today, rng
        self.admin_id, self.approver_id = users
        self.ledger = Ledger()
        self.items = [item.id for item in master.items]
        base = [Decimal(rng.randint(150, 9000)) / 100 for _ in self.items]
        self.prices = [[money(p * (1 + MONTHLY_DRIFT * k)) for p in base] for k in range(len(master.periods))]
        self.next_id = {table: _next_id(conn, table) for table in ("deliveries", "stock_issues", "transfers",
                                                                   "approval_instances")}
        self.numbers: dict[tuple[str, int], int] = {}
        self.seeded = Seeded(master, {item: self.prices[-1][n] for n, item in enumerate(self.items)})
        self.seeded.per_location = {"deliveries": {}, "issues": {}}

    def _id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] += 1
        return value

    def _number(self, prefix: str, year: int) -> str:
        n = self.numbers[(prefix, year)] = self.numbers.get((prefix, year), 0) + 1
        return f"{prefix}-{year}-{n:03d}"

    def _count(self, table: str, n: int) -> None:
        self.seeded.rows[table] = self.seeded.rows.get(table, 0) + n

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        n = 0
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        self._count(table, n)

    def write(self) -> Seeded:
        self.copy("period_prices", ("uid", "period_id", "item_id", "price"),
                  ((uuid.uuid4(), period.id, item, self.prices[k][n]) for k, period in enumerate(self.master.periods)
                   for n, item in enumerate(self.items)))
        self.opening(self.master.periods[0])
        for k, period in enumerate(self.master.periods):
            self.month(k, period)
            if period.status == "CLOSED":
                self.snapshot(period)
        self.location_stock()
        return self.seeded

    def opening(self, period: PeriodRef) -> None:
        """Every location's opening stock of every item, on the first day, at the first month's prices."""
        when = datetime.combine(period.start, time(0), UTC)
        for location in self.master.locations:
            for n, item in enumerate(self.items):
                self.ledger.move(location.id, item, "OPENING", Decimal(self.rng.randint(40, 300)), self.prices[0][n],
                                 when, period.id, ("opening", None, f"opening:{location.id}:{item}"), self.admin_id)

    def month(self, k: int, period: PeriodRef) -> None:
        last = min(period.end, self.today)
        days = (last - period.start).days + 1
        share = days / ((period.end - period.start).days + 1)  # the open month: up to today
        docs: list[tuple[datetime, int, int]] = []
        for index in range(len(self.master.locations)):
            for kind, per_month in enumerate((self.size.deliveries, self.size.issues, self.size.transfers)):
                for _ in range(max(1, round(per_month * share))):
                    day = period.start + timedelta(days=self.rng.randrange(days))
                    docs.append((datetime.combine(day, time(6), UTC) + timedelta(minutes=self.rng.randrange(720)),
                                 kind, index))
        docs.sort()
        month = Month()
        writers = (self.delivery, self.issue, self.transfer)
        for when, kind, index in docs:
            writers[kind](month, k, period, when, self.master.locations[index])
        for table, columns, rows in month.tables():
            self.copy(table, columns, rows)
        self.copy("stock_movements", MOVEMENT_COLUMNS, self.ledger.rows)
        self.ledger.rows = []

    def _lines(self, bounds: tuple[int, int]) -> list[int]:
        return self.rng.sample(range(len(self.items)), self.rng.randint(*bounds))

    def delivery(self, month: Month, k: int, period: PeriodRef, when: datetime, location: Ref) -> None:
        delivery_id, uid = self._id("deliveries"), uuid.uuid4()
        supplier = self.rng.choice(self.master.suppliers)
        total = Decimal(0)
        for number, n in enumerate(self._lines(self.size.delivery_lines), start=1):
            item, quantity, price = self.items[n], Decimal(self.rng.randint(2, 20)), self.prices[k][n]
            total += line_value(quantity, price)
            month.delivery_lines.append((uuid.uuid4(), delivery_id, number, item, quantity, price,
                                         line_value(quantity, price), price, False))
            self.ledger.move(location.id, item, "RECEIPT", quantity, price, when, period.id,
                             ("delivery", delivery_id, f"delivery:{delivery_id}:line:{number}"), self.admin_id)
        posted = when + timedelta(minutes=5)
        month.deliveries.append((delivery_id, uid, self._number("DEL", when.year), location.id, supplier.id, period.id,
                                 f"INV-{delivery_id:06d}", f"DN-{delivery_id:06d}", when.date(), "POSTED", total,
                                 False, self.admin_id, posted, self.admin_id, when, posted, 2))
        self.seeded.deliveries.append(str(uid))
        counts = self.seeded.per_location["deliveries"]
        counts[location.id] = counts.get(location.id, 0) + 1

    def _available(self, location_id: int, item: int, wanted: Decimal) -> Decimal:
        return min(wanted, self.ledger.on_hand(location_id, item))

    def issue(self, month: Month, k: int, period: PeriodRef, when: datetime, location: Ref) -> None:
        lines = []
        for n in self._lines(self.size.issue_lines):
            quantity = self._available(location.id, self.items[n], Decimal(self.rng.randint(2, 16)) / 2)
            if quantity > 0:
                lines.append((self.items[n], quantity))
        if not lines:
            return
        issue_id, uid = self._id("stock_issues"), uuid.uuid4()
        total = Decimal(0)
        for number, (item, quantity) in enumerate(lines, start=1):
            wac = self.ledger.wac(location.id, item)
            value = -self.ledger.move(location.id, item, "ISSUE", quantity, None, when, period.id,
                                      ("issue", issue_id, f"issue:{issue_id}:line:{number}"), self.admin_id)
            month.issue_lines.append((uuid.uuid4(), issue_id, number, item, quantity, cost(wac), value))
            total += value
        month.issues.append((issue_id, uid, self._number("ISS", when.year), location.id, period.id, when.date(),
                             self.rng.choice(COST_CENTRES), None, total, self.admin_id, when, when))
        self.seeded.issues.append(str(uid))
        counts = self.seeded.per_location["issues"]
        counts[location.id] = counts.get(location.id, 0) + 1

    def transfer(self, month: Month, k: int, period: PeriodRef, when: datetime, source: Ref) -> None:
        destination = self.rng.choice([loc for loc in self.master.locations if loc.id != source.id] or [source])
        if destination.id == source.id:
            return
        lines = []
        for n in self._lines(self.size.transfer_lines):
            quantity = self._available(source.id, self.items[n], Decimal(self.rng.randint(1, 5)))
            if quantity > 0:
                lines.append((self.items[n], quantity))
        if not lines:
            return
        transfer_id, approval_id, uid = self._id("transfers"), self._id("approval_instances"), uuid.uuid4()
        decided = when + timedelta(hours=2)
        total = Decimal(0)
        for number, (item, quantity) in enumerate(lines, start=1):
            wac = self.ledger.wac(source.id, item)
            key = f"transfer:{transfer_id}:line:{number}"
            self.ledger.move(source.id, item, "TRANSFER_OUT", quantity, None, decided, period.id,
                             ("transfer", transfer_id, f"{key}:TRANSFER_OUT"), self.approver_id)
            self.ledger.move(destination.id, item, "TRANSFER_IN", quantity, wac, decided, period.id,
                             ("transfer", transfer_id, f"{key}:TRANSFER_IN"), self.approver_id)
            month.transfer_lines.append((uuid.uuid4(), transfer_id, number, item, quantity, wac,
                                         line_value(quantity, wac)))
            total += line_value(quantity, wac)
        number_text = self._number("TRF", when.year)
        month.approvals.append((approval_id, uuid.uuid4(), "transfer", transfer_id, number_text, "approved", 1, 1,
                                total, "SAR", self.admin_id, when, "normal",
                                Jsonb({"from": source.code, "to": destination.code}), decided, when, decided, 2))
        month.transfers.append((transfer_id, uid, number_text, source.id, destination.id, period.id, when.date(),
                                "COMPLETED", None, total, self.admin_id, approval_id, self.approver_id, decided,
                                decided, when, decided, 2))
        self.seeded.transfers.append(str(uid))

    def snapshot(self, period: PeriodRef) -> None:
        """The closing stock the period close writes: on hand and value summed over the ledger up to the end."""
        when = datetime.combine(period.end + timedelta(days=1), time(9), UTC)
        self.copy("period_closing_stock", SNAPSHOT_COLUMNS, (
            (uuid.uuid4(), period.id, location_id, item, on_hand,
             (value / on_hand).quantize(WAC_PLACES, rounding=ROUND_HALF_UP) if on_hand > 0 else Decimal(0), value,
             when)
            for (location_id, item), (on_hand, _, value, _) in self.ledger.stock.items()))

    def location_stock(self) -> None:
        """The ledger's last balances; a minimum (and maximum) on some rows, so some items are low."""
        start = datetime.combine(self.master.periods[0].start, time(0), UTC)
        rows = []
        for (location_id, item), (on_hand, wac, _, moves) in sorted(self.ledger.stock.items()):
            minimum = Decimal(self.rng.randint(30, 120)) if self.rng.random() < 0.15 else None
            rows.append((uuid.uuid4(), location_id, item, on_hand, wac, minimum,
                         minimum * 6 if minimum is not None else None, start, start, 1 + moves))
        self.copy("location_stock", STOCK_COLUMNS, rows)
        index = {item: n for n, item in enumerate(self.items)}
        for (location_id, item), (on_hand, *_) in self.ledger.stock.items():
            if on_hand >= AMPLE:
                self.seeded.ample.setdefault(location_id, []).append(index[item])


def _next_id(conn: psycopg.Connection[Any], table: str) -> int:
    row = conn.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()
    return int(row[0]) if row else 1


def seed_year(dsn: str, master: MasterData, size: Size, today: date, admin_id: int, approver_id: int,
              seed: int = 4) -> Seeded:
    with psycopg.connect(dsn) as conn, conn.transaction():
        writer = YearWriter(conn, master, size, today, (admin_id, approver_id), random.Random(seed))
        seeded = writer.write()
        _finish(conn, writer, master, admin_id)
    return seeded


def _finish(conn: psycopg.Connection[Any], writer: YearWriter, master: MasterData, admin_id: int) -> None:
    """POB, the closed periods' reconciliations, the sequences of the explicit ids and the document numbers."""
    period_ids = [p.id for p in master.periods]
    closed_ids = [p.id for p in master.periods if p.status == "CLOSED"]
    location_ids = [loc.id for loc in master.locations]
    pob = conn.execute("""
        INSERT INTO pob_entries (uid, location_id, period_id, entry_date, crew_count, extra_count, created_by_id,
                                 created_at, updated_at, version)
        SELECT gen_random_uuid(), l.id, p.id, d::date, 40 + (l.id * 7 + extract(doy FROM d)::int) %% 41,
               (l.id + extract(doy FROM d)::int) %% 16, %(admin)s, d, d, 1
        FROM periods p
        CROSS JOIN unnest(%(locations)s::int[]) AS l(id)
        CROSS JOIN LATERAL generate_series(p.start_date, least(p.end_date, %(today)s::date), interval '1 day') AS d
        WHERE p.id = ANY(%(periods)s)
        """, {"admin": admin_id, "locations": location_ids, "today": writer.today, "periods": period_ids})
    writer._count("pob_entries", pob.rowcount)
    reconciliations = conn.execute("""
        INSERT INTO reconciliations (uid, period_id, location_id, back_charges, credits, condemnations, adjustments,
                                     is_confirmed, saved_by_id, created_at, updated_at, version)
        SELECT gen_random_uuid(), p.id, l.id, (l.id %% 5) * 100, (l.id %% 3) * 50, (l.id %% 4) * 25, 0, true,
               %(admin)s, p.end_date + 1, p.end_date + 1, 1
        FROM periods p CROSS JOIN unnest(%(locations)s::int[]) AS l(id)
        WHERE p.id = ANY(%(closed)s)
        """, {"admin": admin_id, "locations": location_ids, "closed": closed_ids})
    writer._count("reconciliations", reconciliations.rowcount)
    for table in writer.next_id:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    for (prefix, year), last in writer.numbers.items():
        conn.execute("""
            INSERT INTO document_sequences (prefix, period, last_value) VALUES (%s, %s, %s)
            ON CONFLICT (prefix, period) DO UPDATE
            SET last_value = greatest(document_sequences.last_value, excluded.last_value)
            """, (prefix, str(year), last))


STOCK_TABLES = ("location_stock", "stock_movements", "deliveries", "delivery_lines", "stock_issues",
                "stock_issue_lines", "transfers", "transfer_lines", "approval_instances", "period_closing_stock",
                "period_prices", "pob_entries", "reconciliations", "materials", "locations", "periods",
                "period_locations", "suppliers")


def vacuum_analyze(dsn: str) -> None:
    """The state a database that has lived a year is in: statistics and visibility maps up to date."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in STOCK_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")


def verify_ledger(dsn: str) -> dict[str, int]:
    """Stock rows whose balance differs from their last ledger row, or from the sum of their movements."""
    with psycopg.connect(dsn) as conn:
        last = conn.execute("""
            SELECT count(*) FROM location_stock s
            LEFT JOIN LATERAL (SELECT m.balance_on_hand, m.balance_wac FROM stock_movements m
                               WHERE m.location_id = s.location_id AND m.item_id = s.item_id
                               ORDER BY m.id DESC LIMIT 1) m ON true
            WHERE m.balance_on_hand IS DISTINCT FROM s.on_hand OR m.balance_wac IS DISTINCT FROM s.wac
            """).fetchone()
        summed = conn.execute("""
            SELECT count(*) FROM location_stock s
            LEFT JOIN (SELECT location_id, item_id, sum(quantity) AS q FROM stock_movements
                       GROUP BY location_id, item_id) m USING (location_id, item_id)
            WHERE m.q IS DISTINCT FROM s.on_hand
            """).fetchone()
    return {"last_balance_differs": int(last[0]) if last else -1, "movements_sum_differs": int(summed[0]) if summed
            else -1}
