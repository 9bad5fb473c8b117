"""Seeding for the ERP benchmark (bench/mes.py).

- `seed_materials`: the item master's materials through the ORM (a few hundred rows; the models' defaults
  apply), with the ERP's standard cost (`unit_cost`) and a mix of units.
- `seed_products`: many products in three SQL statements: parts flagged `is_product` (as
  services/mes/products.py creates them), each with its bill of materials (`part_materials`, distinct
  materials of the seeded ones) and its routing (`routing_operations`, sequences 10, 20, ...). They need no
  workflow: a product is rows only. Codes are `BPRD-<tag>-NNNNNN` (k + 1, fixed width: a search by a full code
  finds one product).
- `seed_spc`: one characteristic with many measurements for `GET /api/v1/spc-charts`: an inspection plan of a
  seeded product (one first-piece point measuring a shaft diameter, 25 ± 0.1), a work order row, and one
  inspection log per measurement (as POST /api/v1/inspection-logs writes them: the result judged against the
  limits, `measured_at` the log's time), 10 minutes apart from 2025-01-01 00:00 UTC, values drawn from a fixed
  seed around 25.000 (σ 0.02), in five SQL statements (the logs and their measurements in one).
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from core.db import make_engine, make_sessionmaker, session_scope
from models.catalog import Material

UNITS = ("kg", "ea", "l", "m")
OPERATION_NAMES = ("Cut", "Weld", "Machine", "Paint", "Assemble", "Inspect", "Pack")
# Line l of product k takes material (k * 7 + l * MATERIAL_STRIDE) mod the material count: distinct within a
# product as long as lines x stride stays below the count (5 x 97 < 500).
MATERIAL_STRIDE = 97


@dataclass(frozen=True)
class SeededProducts:
    ids: list[int]
    codes: list[str]
    bom_lines: int
    operations: int


def seed_machines(dsn: str, tag: str, count: int) -> list[int]:
    """A plant and `count` machines (rows only: routings and the maintenance scenarios name them)."""
    with psycopg.connect(dsn) as conn:
        plant = conn.execute("INSERT INTO plants (uid, code, name) VALUES (gen_random_uuid(), %s, 'Bench plant') "
                             "RETURNING id", (f"BPL-{tag}",)).fetchone()
        rows = conn.execute(
            "INSERT INTO machines (uid, machine_code, name, plant_id, capacity_units_per_hour) "
            "SELECT gen_random_uuid(), %s || '-' || n, 'Bench machine ' || n, %s, 50 FROM generate_series(1, %s) n "
            "RETURNING id", (f"BM-{tag}", plant[0] if plant else None, count)).fetchall()
        return sorted(int(row[0]) for row in rows)


def seed_materials(database_url: str, tag: str, count: int) -> list[int]:
    engine = make_engine(database_url, pool_size=1)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            rows = [Material(code=f"BMTL-{tag}-{i:04d}", name=f"Bench material {i}",
                             material_type="alloy" if i % 2 == 0 else "metal", unit_of_measure=UNITS[i % len(UNITS)],
                             unit_cost=Decimal(5 + (i * 37) % 400) + Decimal("0.25") * (i % 4))
                    for i in range(count)]
            session.add_all(rows)
            session.flush()
            return [m.id for m in rows]
    finally:
        engine.dispose()


def seed_products(dsn: str, materials: list[int], tag: str, count: int, bom_lines: int,
                  operations: int, machines: list[int]) -> SeededProducts:
    """`count` products with `bom_lines` materials and `operations` routing steps each (every other step on one
    of `machines`)."""
    if bom_lines * MATERIAL_STRIDE >= len(materials) and bom_lines > 1:
        raise ValueError(f"{bom_lines} lines need more than {bom_lines * MATERIAL_STRIDE} materials")
    params = {"n": count, "tag": tag, "materials": materials, "lines": bom_lines, "ops": operations,
              "stride": MATERIAL_STRIDE, "names": list(OPERATION_NAMES), "machines": machines}
    with psycopg.connect(dsn) as conn, conn.transaction():
        rows = conn.execute(
            """
            INSERT INTO parts (part_number, name, revision, status, criticality, is_serialized, requires_inspection,
                               unit_of_measure, is_product, uid, version)
            SELECT 'BPRD-' || %(tag)s || '-' || lpad((k + 1)::text, 6, '0'),
                   'Bench assembly ' || (k + 1), 'A', 'production',
                   CASE WHEN k %% 10 = 0 THEN 'critical' ELSE 'standard' END,
                   false, k %% 3 = 0, 'ea', true, gen_random_uuid(), 1
            FROM generate_series(0, %(n)s - 1) AS k
            ORDER BY k
            RETURNING id, part_number
            """, params).fetchall()
        ids = [int(row[0]) for row in rows]
        conn.execute(
            """
            INSERT INTO part_materials (part_id, material_id, quantity_required, unit_of_measure, is_primary, uid)
            SELECT p.id, m.id, round(0.1 + ((p.k * 13 + l * 29) %% 500) / 20.0, 3), m.unit_of_measure, l = 0,
                   gen_random_uuid()
            FROM unnest(%(ids)s::int[]) WITH ORDINALITY AS p(id, k)
            CROSS JOIN generate_series(0, %(lines)s - 1) AS l
            JOIN materials m
              ON m.id = (%(materials)s::int[])[1 + (p.k * 7 + l * %(stride)s) %% cardinality(%(materials)s::int[])]
            ORDER BY p.id, l
            """, {**params, "ids": ids})
        conn.execute(
            """
            INSERT INTO routing_operations (part_id, sequence, name, machine_id, standard_minutes_per_unit,
                                            labor_rate_per_hour, uid)
            SELECT p.id, 10 * (s + 1),
                   (%(names)s::text[])[1 + (p.k + s) %% cardinality(%(names)s::text[])],
                   CASE WHEN s %% 2 = 0
                        THEN (%(machines)s::int[])[1 + (p.k + s) %% cardinality(%(machines)s::int[])] END,
                   round(1 + ((p.k * 11 + s * 7) %% 240) / 4.0, 4),
                   CASE WHEN s %% 3 = 0 THEN NULL ELSE 20 + (p.k + s) %% 30 END,
                   gen_random_uuid()
            FROM unnest(%(ids)s::int[]) WITH ORDINALITY AS p(id, k)
            CROSS JOIN generate_series(0, %(ops)s - 1) AS s
            ORDER BY p.id, s
            """, {**params, "ids": ids})
    return SeededProducts(ids, [str(row[1]) for row in rows], count * bom_lines, count * operations)


SPC_START = datetime(2025, 1, 1, tzinfo=UTC)
SPC_STEP = timedelta(minutes=10)
SPC_LSL, SPC_USL = Decimal("24.9"), Decimal("25.1")


@dataclass(frozen=True)
class SeededSpc:
    characteristic_id: int
    points: int
    start: date  # the days from the first measurement's to the last's: every one is in the chart
    end: date


def seed_spc(dsn: str, product_id: int, inspector_id: int, tag: str, count: int) -> SeededSpc:
    """A plan of `product_id` with one characteristic measured `count` times, one inspection log each."""
    rng = random.Random(20251106)
    values = [Decimal(f"{rng.gauss(25.0, 0.02):.4f}") for _ in range(count)]
    times = [SPC_START + k * SPC_STEP for k in range(count)]
    with psycopg.connect(dsn) as conn, conn.transaction():
        plan = _new_id(conn, "INSERT INTO inspection_plans (part_id, name, is_active, uid) "
                       "VALUES (%s, %s, true, gen_random_uuid()) RETURNING id", (product_id, f"Bench SPC plan {tag}"))
        point = _new_id(conn, "INSERT INTO inspection_points (plan_id, sequence, name, frequency_type, uid) "
                        "VALUES (%s, 1, 'First Piece Inspection', 'first_piece', gen_random_uuid()) RETURNING id",
                        (plan,))
        characteristic = _new_id(
            conn, "INSERT INTO inspection_characteristics (point_id, sequence, name, type, specification, tolerance, "
            "usl, lsl, measurement_method, uid) VALUES (%s, 1, 'Shaft Diameter', 'dimensional', '25mm', '±0.1mm', "
            "%s, %s, 'Micrometer', gen_random_uuid()) RETURNING id", (point, SPC_USL, SPC_LSL))
        work_order = _new_id(conn, "INSERT INTO work_orders (work_order_number, part_id, quantity_ordered, status, "
                             "uid) VALUES (%s, %s, 10, 'in_progress', gen_random_uuid()) RETURNING id",
                             (f"WO-BSPC-{tag}", product_id))
        conn.execute(
            """
            WITH s AS (SELECT v, t FROM unnest(%(values)s::numeric[], %(times)s::timestamptz[]) AS s(v, t)),
            logs AS (
                INSERT INTO inspection_logs (work_order_id, point_id, inspector_id, inspected_at, overall_result, uid)
                SELECT %(work_order)s, %(point)s, %(inspector)s, s.t,
                       CASE WHEN s.v BETWEEN %(lsl)s AND %(usl)s THEN 'pass' ELSE 'fail' END, gen_random_uuid()
                FROM s ORDER BY s.t
                RETURNING id, inspected_at, overall_result)
            INSERT INTO inspection_measurements (log_id, characteristic_id, measured_value, result, measured_at, uid)
            SELECT logs.id, %(characteristic)s, s.v, logs.overall_result, s.t, gen_random_uuid()
            FROM logs JOIN s ON s.t = logs.inspected_at
            ORDER BY s.t
            """, {"values": values, "times": times, "work_order": work_order, "point": point,
                  "inspector": inspector_id, "lsl": SPC_LSL, "usl": SPC_USL, "characteristic": characteristic})
    return SeededSpc(characteristic, count, times[0].date(), times[-1].date())


def _new_id(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...]) -> int:
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"no id returned by {sql[:40]}")
    return int(row[0])
