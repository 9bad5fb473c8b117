"""Seeding for the procurement benchmark (bench/procurement.py).

- `seed_catalog`: suppliers and materials through the ORM (a few rows; the models' defaults apply).
- `seed_purchase_orders`: many purchase orders with their lines in one SQL statement, for the list. They
  need no workflows (the list reads only the database). Their dates fall in the previous year, numbered
  `PO-YYYYMMDD-NNNNNN` as the service numbers them (counted per year, the year's sequence row set to the
  last number), so they never collide with the numbers the API gives today. The statuses, priorities,
  suppliers and line counts are a realistic mix; every PO's totals are the sum of its lines.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import psycopg

from core.db import make_engine, make_sessionmaker, session_scope
from models.catalog import Material, Supplier

# Status by k % 20, so every page shows the mix: a tenth ordered, most received, some drafts, in approval,
# approved, partially received, cancelled.
STATUS_SQL = """CASE WHEN k %% 20 IN (0, 1) THEN 'draft'
                     WHEN k %% 20 = 2 THEN 'pending_approval'
                     WHEN k %% 20 = 3 THEN 'approved'
                     WHEN k %% 20 IN (4, 5) THEN 'ordered'
                     WHEN k %% 20 = 6 THEN 'partially_received'
                     WHEN k %% 20 = 7 THEN 'cancelled'
                     ELSE 'received' END"""
PRIORITY_SQL = """CASE WHEN k %% 10 = 0 THEN 'high' WHEN k %% 10 = 1 THEN 'low' WHEN k %% 50 = 2 THEN 'critical'
                       WHEN k %% 100 = 3 THEN 'aog' ELSE 'normal' END"""


@dataclass(frozen=True)
class Catalog:
    suppliers: list[int]
    materials: list[int]


@dataclass(frozen=True)
class SeededOrders:
    orders: int
    lines: int
    year: int


def seed_catalog(database_url: str, tag: str, suppliers: int, materials: int) -> Catalog:
    engine = make_engine(database_url, pool_size=1)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            supplier_rows = [Supplier(code=f"BSUP-{tag}-{i:03d}", name=f"Bench supplier {i}", status="active",
                                      tier="tier_1" if i % 3 == 0 else "tier_2") for i in range(suppliers)]
            material_rows = [Material(code=f"BMAT-{tag}-{i:03d}", name=f"Bench material {i}",
                                      material_type="alloy" if i % 2 == 0 else "metal", unit_of_measure="kg",
                                      unit_cost=Decimal("85.50") if i % 2 == 0 else Decimal("12.75"))
                             for i in range(materials)]
            session.add_all([*supplier_rows, *material_rows])
            session.flush()
            return Catalog([s.id for s in supplier_rows], [m.id for m in material_rows])
    finally:
        engine.dispose()


def seed_purchase_orders(dsn: str, catalog: Catalog, buyer_id: int, approver_id: int, count: int) -> SeededOrders:
    """`count` POs with 1-4 lines each (2.5 on average), dated over the previous year."""
    year = datetime.now(UTC).year - 1
    params = {"n": count, "year": year, "suppliers": catalog.suppliers, "materials": catalog.materials,
              "buyer": buyer_id, "approver": approver_id}
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute(
            f"""
            WITH src AS (
                SELECT k, make_date(%(year)s, 1, 1) + (k * 365 / %(n)s) AS po_date,
                       {STATUS_SQL} AS status, {PRIORITY_SQL} AS priority,
                       1 + (k * 7) %% 4 AS n_lines,
                       (%(suppliers)s::int[])[1 + k %% cardinality(%(suppliers)s::int[])] AS supplier_id,
                       (SELECT sum(round((10 + (k * 7 + l * 13) %% 200) * (5 + ((k * 31 + l * 17) %% 5000) / 10.0), 2))
                        FROM generate_series(1, 1 + (k * 7) %% 4) AS l) AS subtotal,
                       round(((k * 13) %% 400)::numeric, 2) AS shipping
                FROM generate_series(0, %(n)s - 1) AS k
            ),
            numbered AS (
                SELECT src.*, 'PO-' || to_char(po_date, 'YYYYMMDD') || '-' || lpad((k + 1)::text, 6, '0') AS po_number,
                       po_date + interval '9 hours' + (k %% 480) * interval '1 minute' AS created
                FROM src
            ),
            orders AS (
                INSERT INTO purchase_orders (
                    po_number, supplier_id, created_by_id, approved_by_id, status, priority, po_date, required_date,
                    expected_delivery_date, subtotal, tax_amount, shipping_cost, discount_amount, total_amount,
                    currency, revision_number, shipping_method, requisition_number, project_reference,
                    requires_certification, requires_inspection, payment_terms, delivery_terms, tracking_number,
                    approved_at, ordered_at, uid, created_at, updated_at, version)
                SELECT po_number, supplier_id, %(buyer)s,
                       CASE WHEN status IN ('draft', 'pending_approval') THEN NULL ELSE %(approver)s END,
                       status, priority, po_date, po_date + 30, po_date + 25,
                       subtotal, round(subtotal * 0.08, 2), shipping, 0,
                       subtotal + round(subtotal * 0.08, 2) + shipping,
                       'USD', 1 + (k %% 17 = 0)::int, CASE WHEN k %% 3 = 0 THEN 'Air Freight' ELSE 'Ground' END,
                       CASE WHEN k %% 2 = 0 THEN 'REQ-' || %(year)s || '-' || lpad((k / 2 + 1)::text, 5, '0') END,
                       CASE WHEN k %% 5 = 0 THEN 'PRJ-' || (k %% 40) END,
                       k %% 4 = 0, k %% 3 = 0, 'Net 30', 'FOB Origin',
                       CASE WHEN status IN ('ordered', 'partially_received', 'received') THEN 'TRK' || k END,
                       CASE WHEN status IN ('draft', 'pending_approval') THEN NULL ELSE created + interval '1 day' END,
                       CASE WHEN status IN ('ordered', 'partially_received', 'received')
                            THEN created + interval '2 days' END,
                       gen_random_uuid(), created, created + interval '5 days',
                       CASE status WHEN 'draft' THEN 1 WHEN 'pending_approval' THEN 2 WHEN 'approved' THEN 3
                                   WHEN 'ordered' THEN 4 WHEN 'cancelled' THEN 3 ELSE 5 END
                FROM numbered ORDER BY k
                RETURNING id, po_number, status
            )
            INSERT INTO purchase_order_lines (
                purchase_order_id, line_number, material_id, quantity_ordered, quantity_received, quantity_accepted,
                unit_of_measure, unit_price, discount_percent, total_price, required_date, specification,
                requires_certification, requires_inspection, material_stage, uid, created_at, updated_at)
            SELECT o.id, l, (%(materials)s::int[])[1 + (k + l) %% cardinality(%(materials)s::int[])],
                   q.qty, q.got, q.got, 'kg', q.price, 0, round(q.qty * q.price, 2), n.po_date + 30,
                   CASE WHEN l = 1 THEN 'AMS 4911' END, k %% 4 = 0, k %% 3 = 0,
                   CASE WHEN q.got >= q.qty THEN 'raw_material' ELSE 'on_order' END,
                   gen_random_uuid(), n.created, n.created + interval '5 days'
            FROM orders o
            JOIN numbered n ON n.po_number = o.po_number
            CROSS JOIN LATERAL generate_series(1, n.n_lines) AS l
            CROSS JOIN LATERAL (
                SELECT (10 + (k * 7 + l * 13) %% 200)::numeric AS qty,
                       round(5 + ((k * 31 + l * 17) %% 5000) / 10.0, 2) AS price,
                       CASE WHEN o.status = 'received' OR (o.status = 'partially_received' AND l = 1)
                            THEN (10 + (k * 7 + l * 13) %% 200)::numeric ELSE 0 END AS got
            ) AS q
            """, params)
        row = conn.execute("SELECT count(*) FROM purchase_order_lines").fetchone()
        lines = int(row[0]) if row else 0
        conn.execute("""
            INSERT INTO document_sequences (prefix, period, last_value) VALUES ('PO', %(year)s::text, %(n)s)
            ON CONFLICT (prefix, period) DO UPDATE
            SET last_value = greatest(document_sequences.last_value, excluded.last_value)
            """, params)
    return SeededOrders(count, lines, year)
