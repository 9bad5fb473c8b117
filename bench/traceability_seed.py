"""Seeding for the traceability benchmark (bench/traceability.py): a plant's genealogy by SQL, in one transaction.

- 40 suppliers; the raw materials (bench/mes_seed.py `seed_materials`, through the ORM) and three products (a
  motor, a pump module made of motors, a pump made of pump modules: sub-assemblies two levels deep) with their
  routings (`seed_products`).
- `lots`: one per material and receipt day (200 materials x 50 days = 10,000), numbered as the API numbers them
  (`{code without separators}-{YYYYMMDD}-001`), each from a supplier.
- `work_orders`: completed, `orders / 3` per level, `SERIALS_PER_ORDER` units each; one serial per unit
  (`product_serials`, registered in `serial_numbers` as the API registers them): 2,000 work orders, 100,000 serials.
- `material_consumptions`: each work order consumes `LOTS_PER_ORDER` lots (every lot used once), and a work order of
  levels 2 and 3 the second half of the units of the level below's work order of its index and the first half of
  the next one's (each unit consumed once; a lot in a motor reaches three pump work orders).
- `customers` (300) and `shipments`: the pumps of nine work orders in ten, ten serials a shipment, to customers
  spread over the 300 (`shipment_items` carry their work order, as the API writes them).
- `production_logs`: one per routing operation of every work order, by the given operators.
"""

from dataclasses import dataclass
from datetime import date

import psycopg

from bench.mes_seed import seed_machines, seed_materials, seed_products

SUPPLIERS = 40
MATERIALS = 200
LOT_DAYS = 50  # lots = MATERIALS x LOT_DAYS
SERIALS_PER_ORDER = 50
LOTS_PER_ORDER = 5
CUSTOMERS = 300
PER_SHIPMENT = 10
LEVELS = ("motor", "pump module", "pump")
LOT_START = date(2025, 1, 1)


@dataclass(frozen=True)
class SeededGenealogy:
    lots: int
    work_orders: int
    serials: int
    consumptions: int
    shipments: int
    customers: int
    motor_lots: list[str]  # lots consumed by motor work orders: their forward trace crosses every level
    pump_serials: list[str]  # serials of finished pumps: their backward trace crosses every level


def seed_genealogy(database_url: str, dsn: str, tag: str, orders: int, operators: list[int]) -> SeededGenealogy:
    """`orders` work orders (a multiple of 3), a third per level, and everything around them."""
    per_level = orders // 3
    materials = seed_materials(database_url, tag, MATERIALS)
    products = seed_products(dsn, materials, tag, len(LEVELS), 2, 4, seed_machines(dsn, tag, 2)).ids
    params = {"tag": tag, "materials": materials, "products": products, "per_level": per_level,
              "units": SERIALS_PER_ORDER, "lots_per": LOTS_PER_ORDER, "days": LOT_DAYS, "start": LOT_START,
              "suppliers": SUPPLIERS, "customers": CUSTOMERS, "per_shipment": PER_SHIPMENT, "operators": operators}
    with psycopg.connect(dsn) as conn, conn.transaction():
        for statement in (SUPPLIER_ROWS, LOT_ROWS, ORDER_ROWS, SERIAL_ROWS, REGISTRY_ROWS, LOT_USE_ROWS, UNIT_USE_ROWS,
                          CUSTOMER_ROWS, SHIPMENT_ROWS, SHIPMENT_ITEM_ROWS, LOG_ROWS):
            conn.execute(statement, params)
        counts = conn.execute(COUNTS, params).fetchone()
        motor_lots = [r[0] for r in conn.execute(MOTOR_LOTS, params).fetchall()]
        pump_serials = [r[0] for r in conn.execute(PUMP_SERIALS, params).fetchall()]
    if counts is None:
        raise RuntimeError("the seed counted nothing")
    lots, work_orders, serials, consumptions, shipments, customers = (int(c) for c in counts)
    return SeededGenealogy(lots, work_orders, serials, consumptions, shipments, customers, motor_lots, pump_serials)


SUPPLIER_ROWS = """
    INSERT INTO suppliers (code, name, status, is_as9100_certified, is_nadcap_certified, is_itar_compliant, uid,
                           version)
    SELECT 'BSUP-' || %(tag)s || '-' || lpad(s::text, 3, '0'), 'Bench supplier ' || s, 'approved', false, false,
           false, gen_random_uuid(), 1
    FROM generate_series(1, %(suppliers)s) AS s
"""
LOT_ROWS = """
    INSERT INTO lots (lot_number, material_id, supplier_id, quantity, receipt_date, uid)
    SELECT regexp_replace(m.code, '[^A-Za-z0-9]', '', 'g') || '-' || to_char(%(start)s::date + d, 'YYYYMMDD') || '-001',
           m.id, s.id, 1000, %(start)s::date + d, gen_random_uuid()
    FROM unnest(%(materials)s::int[]) WITH ORDINALITY AS m0(id, k)
    JOIN materials m ON m.id = m0.id
    CROSS JOIN generate_series(0, %(days)s - 1) AS d
    JOIN suppliers s ON s.code = 'BSUP-' || %(tag)s || '-' || lpad((1 + (m0.k + d) %% %(suppliers)s)::text, 3, '0')
    ORDER BY d, m0.k
"""
# Work order k (0-based) is at level k / per_level, index k %% per_level in it.
ORDER_ROWS = """
    INSERT INTO work_orders (work_order_number, part_id, quantity_ordered, quantity_completed, status, priority,
                             started_at, completed_at, uid, version)
    SELECT 'WO-B' || %(tag)s || '-' || lpad(k::text, 5, '0'), (%(products)s::int[])[1 + k / %(per_level)s],
           %(units)s, %(units)s, 'completed', 'normal', timestamptz '2025-03-01' + k * interval '1 hour',
           timestamptz '2025-03-01' + k * interval '1 hour' + interval '50 minutes', gen_random_uuid(), 1
    FROM generate_series(0, 3 * %(per_level)s - 1) AS k
    ORDER BY k
"""
ORDERS = """
    SELECT wo.id, (substring(wo.work_order_number from '(\\d+)$'))::int AS k
    FROM work_orders wo WHERE wo.work_order_number LIKE 'WO-B' || %(tag)s || '-%%'
"""
SERIAL_ROWS = f"""
    INSERT INTO product_serials (serial_number, work_order_id, part_id, uid)
    SELECT 'BL' || (o.k / %(per_level)s + 1) || %(tag)s || '-'
           || lpad(((o.k %% %(per_level)s) * %(units)s + j + 1)::text, 6, '0'),
           o.id, (%(products)s::int[])[1 + o.k / %(per_level)s], gen_random_uuid()
    FROM ({ORDERS}) AS o CROSS JOIN generate_series(0, %(units)s - 1) AS j
    ORDER BY o.k, j
"""
REGISTRY_ROWS = """
    INSERT INTO serial_numbers (serial, kind)
    SELECT ps.serial_number, 'product' FROM product_serials ps
    JOIN work_orders wo ON wo.id = ps.work_order_id WHERE wo.work_order_number LIKE 'WO-B' || %(tag)s || '-%%'
"""
# Every lot once: work order k takes lots k * lots_per .. k * lots_per + lots_per - 1 (in lot id order).
LOT_USE_ROWS = f"""
    WITH l AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM lots
               WHERE lot_number LIKE 'BMTL' || %(tag)s || '%%')
    INSERT INTO material_consumptions (work_order_id, lot_id, quantity, consumed_at, uid)
    SELECT o.id, l.id, 100, timestamptz '2025-03-01' + o.k * interval '1 hour', gen_random_uuid()
    FROM ({ORDERS}) AS o JOIN l ON l.n / %(lots_per)s = o.k
    ORDER BY o.k, l.n
"""
# Work order i of level v >= 2 consumes units units/2.. of work order i of level v - 1 and units ..units/2 - 1 of
# work order i + 1 of it.
UNIT_USE_ROWS = f"""
    WITH o AS ({ORDERS}),
    below AS (
        SELECT ps.id, o.k, (row_number() OVER (PARTITION BY o.k ORDER BY ps.id) - 1) AS j
        FROM product_serials ps JOIN o ON o.id = ps.work_order_id
        WHERE o.k < 2 * %(per_level)s)
    INSERT INTO material_consumptions (work_order_id, component_serial_id, quantity, consumed_at, uid)
    SELECT upper_o.id, below.id, 1, timestamptz '2025-03-01' + upper_o.k * interval '1 hour', gen_random_uuid()
    FROM below JOIN o AS upper_o
      ON upper_o.k / %(per_level)s = below.k / %(per_level)s + 1
     AND upper_o.k %% %(per_level)s = CASE WHEN below.j >= %(units)s / 2 THEN below.k %% %(per_level)s
                                          ELSE below.k %% %(per_level)s - 1 END
    ORDER BY upper_o.k, below.id
"""
CUSTOMER_ROWS = """
    INSERT INTO customers (name, contact_email, contact_phone, uid)
    SELECT 'Bench customer ' || %(tag)s || '-' || c, 'buyer' || c || '@customer' || %(tag)s || '.example.com',
           '+1-555-' || lpad(c::text, 4, '0'), gen_random_uuid()
    FROM generate_series(1, %(customers)s) AS c
"""
# The pumps of nine work orders in ten: shipment s of pump work order i holds its units s*10 .. s*10+9.
SHIPMENT_ROWS = f"""
    INSERT INTO shipments (shipment_number, customer_id, ship_date, uid)
    SELECT 'SHIP-B' || %(tag)s || '-' || lpad(o.k::text, 5, '0') || '-' || s,
           (SELECT id FROM customers WHERE name = 'Bench customer ' || %(tag)s || '-'
                                                  || (1 + (o.k * 7 + s) %% %(customers)s)),
           date '2025-04-01' + (o.k %% 200), gen_random_uuid()
    FROM ({ORDERS}) AS o CROSS JOIN generate_series(0, %(units)s / %(per_shipment)s - 1) AS s
    WHERE o.k >= 2 * %(per_level)s AND o.k %% 10 <> 9
    ORDER BY o.k, s
"""
SHIPMENT_ITEM_ROWS = f"""
    WITH o AS ({ORDERS}),
    units AS (SELECT ps.id, ps.work_order_id, o.k, (row_number() OVER (PARTITION BY o.k ORDER BY ps.id) - 1) AS j
              FROM product_serials ps JOIN o ON o.id = ps.work_order_id WHERE o.k >= 2 * %(per_level)s)
    INSERT INTO shipment_items (shipment_id, product_serial_id, work_order_id, quantity, uid)
    SELECT sh.id, units.id, units.work_order_id, 1, gen_random_uuid()
    FROM units JOIN shipments sh
      ON sh.shipment_number = 'SHIP-B' || %(tag)s || '-' || lpad(units.k::text, 5, '0') || '-'
                              || (units.j / %(per_shipment)s)
    ORDER BY units.k, units.j
"""
LOG_ROWS = f"""
    INSERT INTO production_logs (work_order_id, operation_id, operator_id, quantity_completed, cumulative_completed,
                                 hours_worked, material_cost_added, labor_cost_added, logged_at, uid)
    SELECT o.id, ro.id, (%(operators)s::int[])[1 + (o.k + ro.sequence / 10) %% cardinality(%(operators)s::int[])],
           %(units)s, %(units)s, 2, 0, 0,
           timestamptz '2025-03-01' + o.k * interval '1 hour' + ro.sequence * interval '1 minute', gen_random_uuid()
    FROM ({ORDERS}) AS o
    JOIN routing_operations ro ON ro.part_id = (%(products)s::int[])[1 + o.k / %(per_level)s]
    ORDER BY o.k, ro.sequence
"""
COUNTS = """
    SELECT (SELECT count(*) FROM lots WHERE lot_number LIKE 'BMTL' || %(tag)s || '%%'),
           (SELECT count(*) FROM work_orders WHERE work_order_number LIKE 'WO-B' || %(tag)s || '-%%'),
           (SELECT count(*) FROM product_serials WHERE serial_number LIKE 'BL_' || %(tag)s || '-%%'),
           (SELECT count(*) FROM material_consumptions mc JOIN work_orders wo ON wo.id = mc.work_order_id
            WHERE wo.work_order_number LIKE 'WO-B' || %(tag)s || '-%%'),
           (SELECT count(*) FROM shipments WHERE shipment_number LIKE 'SHIP-B' || %(tag)s || '-%%'),
           (SELECT count(*) FROM customers WHERE name LIKE 'Bench customer ' || %(tag)s || '-%%')
"""
MOTOR_LOTS = f"""
    SELECT l.lot_number FROM ({ORDERS}) AS o
    JOIN material_consumptions mc ON mc.work_order_id = o.id JOIN lots l ON l.id = mc.lot_id
    WHERE o.k < %(per_level)s ORDER BY l.id
"""
PUMP_SERIALS = """
    SELECT serial_number FROM product_serials WHERE serial_number LIKE 'BL3' || %(tag)s || '-%%' ORDER BY id
"""
