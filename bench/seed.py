"""Bulk seeding for the console benchmark: plain SQL that respects the schema (FKs, unique serials
registered in `serial_numbers`, `uid`s, versions), much faster than the API for rows that need no workflow.

- `seed_packs`: batches full of packs (mixed statuses) so the pack list runs over a realistic table.
- `seed_sealed_modules`: SEALED modules with their cell ledger, ready to be bound to packs created
  through the API (the packs themselves must be created through the API: they need their workflows).
"""

from dataclasses import dataclass

import psycopg

PACKS_PER_BATCH = 200


@dataclass(frozen=True)
class SeededPacks:
    batches: int
    packs: int


def seed_packs(dsn: str, sku_id: int, actor_id: int, count: int, modules_per_pack: int, tag: str,
               per_batch: int = PACKS_PER_BATCH) -> SeededPacks:
    """`count` packs in `count / per_batch` batches of SKU `sku_id`; a mix of the four pack statuses."""
    n_batches = -(-count // per_batch)
    with psycopg.connect(dsn) as conn, conn.transaction():
        batch_ids = [row[0] for row in conn.execute(
            """
            INSERT INTO batches (batch_number, sku_id, target_quantity, status, started_at, completed_at,
                                 created_by, uid, version)
            SELECT 'SEED-B-' || %(tag)s || '-' || lpad(g::text, 5, '0'), %(sku)s, %(per)s,
                   CASE WHEN g %% 5 = 0 THEN 'IN_PROGRESS' ELSE 'COMPLETED' END,
                   now() - interval '30 days', CASE WHEN g %% 5 = 0 THEN NULL ELSE now() - interval '1 day' END,
                   %(actor)s, gen_random_uuid(), CASE WHEN g %% 5 = 0 THEN 2 ELSE 3 END
            FROM generate_series(1, %(n)s) AS g
            ORDER BY g
            RETURNING id
            """, {"tag": tag, "sku": sku_id, "per": per_batch, "actor": actor_id, "n": n_batches}).fetchall()]
        # Pack k (0-based) goes to batch k / per_batch; its status cycles through a realistic mix.
        conn.execute(
            """
            WITH src AS (
                SELECT k, (%(batch_ids)s::int[])[k / %(per)s + 1] AS batch_id,
                       CASE WHEN k %% 20 = 0 THEN 'DRAFT'
                            WHEN k %% 20 IN (1, 2) THEN 'IN_PROGRESS'
                            WHEN k %% 20 IN (3, 4) THEN 'READY_FOR_EOL'
                            ELSE 'FINALIZED' END AS status,
                       CASE WHEN k %% 20 = 4 THEN 'QUARANTINE'
                            WHEN k %% 20 = 5 THEN 'FAIL'
                            WHEN k %% 20 > 5 THEN 'PASS' END AS disposition
                FROM generate_series(0, %(count)s - 1) AS k
            )
            INSERT INTO packs (serial_number, batch_id, status, disposition, module_count, sealed_at,
                               finalized_at, uid, version)
            SELECT 'SEED-P-' || %(tag)s || '-' || lpad(k::text, 7, '0'), batch_id, status, disposition,
                   CASE WHEN status = 'DRAFT' THEN 0 ELSE %(mpp)s END,
                   CASE WHEN status IN ('READY_FOR_EOL', 'FINALIZED') THEN now() - interval '2 days' END,
                   CASE WHEN status = 'FINALIZED' THEN now() - interval '1 day' END,
                   gen_random_uuid(),
                   CASE status WHEN 'DRAFT' THEN 1 WHEN 'IN_PROGRESS' THEN 1 + %(mpp)s
                               WHEN 'READY_FOR_EOL' THEN 2 + %(mpp)s + (disposition IS NOT NULL)::int
                               ELSE 3 + %(mpp)s END
            FROM src ORDER BY k
            """, {"batch_ids": batch_ids, "per": per_batch, "count": count, "tag": tag, "mpp": modules_per_pack})
        conn.execute(
            """
            INSERT INTO serial_numbers (serial, kind)
            SELECT 'SEED-P-' || %(tag)s || '-' || lpad(k::text, 7, '0'), 'pack'
            FROM generate_series(0, %(count)s - 1) AS k
            """, {"tag": tag, "count": count})
    analyze(dsn)
    return SeededPacks(len(batch_ids), count)


def seed_sealed_modules(dsn: str, batch_id: int, actor_id: int, count: int, cells_per_module: int,
                        tag: str) -> list[int]:
    """`count` SEALED modules of `batch_id`, each with a full cell ledger; their ids in creation order."""
    with psycopg.connect(dsn) as conn, conn.transaction():
        module_ids = [row[0] for row in conn.execute(
            """
            INSERT INTO modules (serial_number, batch_id, status, cell_count, sealed_at, uid, version)
            SELECT 'BM-' || %(tag)s || '-' || lpad(g::text, 6, '0'), %(batch)s, 'SEALED', %(cpm)s, now(),
                   gen_random_uuid(), %(cpm)s + 2
            FROM generate_series(1, %(n)s) AS g
            ORDER BY g
            RETURNING id
            """, {"tag": tag, "batch": batch_id, "cpm": cells_per_module, "n": count}).fetchall()]
        conn.execute(
            """
            INSERT INTO module_cells (module_id, cell_serial, position, bound_by, uid)
            SELECT m.id, 'BC-' || %(tag)s || '-' || m.id || '-' || p, p, %(actor)s, gen_random_uuid()
            FROM unnest(%(ids)s::int[]) AS m(id), generate_series(1, %(cpm)s) AS p
            """, {"tag": tag, "ids": module_ids, "cpm": cells_per_module, "actor": actor_id})
        conn.execute(
            """
            INSERT INTO serial_numbers (serial, kind)
            SELECT serial_number, 'module' FROM modules WHERE id = ANY(%(ids)s)
            UNION ALL
            SELECT cell_serial, 'cell' FROM module_cells WHERE module_id = ANY(%(ids)s)
            """, {"ids": module_ids})
    return module_ids


def analyze(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
