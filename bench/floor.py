"""The floors a console transition is compared with (bench/console.py).

- The bare-update floor: a Temporal update whose handler runs one local activity that does one trivial
  PostgreSQL transaction (BEGIN; UPDATE one row; COMMIT) — the least any lifecycle transition of this
  design (DESIGN.md §2.3-2.4) can cost. Its worker is configured like the service's (worker.py).
- The bare-transaction floor: that PostgreSQL transaction alone, from psycopg.
"""

import queue
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    import psycopg

FLOOR_TABLE = "bench_floor"
ACTIVITY_NAME = "bench_floor_touch"
ACTIVITY_THREADS = 32  # as worker.py
UPDATE_SQL = f"UPDATE {FLOOR_TABLE} SET n = n + 1, touched_at = now() WHERE id = %s"


def create_floor_table(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0, "
                     "touched_at timestamptz)")
        conn.execute(f"INSERT INTO {FLOOR_TABLE} (id) SELECT g FROM generate_series(1, %s) AS g "
                     "ON CONFLICT DO NOTHING", (rows,))


def touch(conn: psycopg.Connection, row_id: int) -> None:
    """The trivial transaction: BEGIN; UPDATE one row; COMMIT."""
    with conn.transaction():
        conn.execute(UPDATE_SQL, (row_id,))


async def touch_async(conn: psycopg.AsyncConnection, row_id: int) -> None:
    async with conn.transaction():
        await conn.execute(UPDATE_SQL, (row_id,))


class ConnectionPool:
    """A fixed set of open connections shared by the activity threads (no ping, no reset)."""

    def __init__(self, dsn: str, size: int) -> None:
        self.connections: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue()
        for _ in range(size):
            self.connections.put(psycopg.connect(dsn, autocommit=True))

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        conn = self.connections.get()
        try:
            yield conn
        finally:
            self.connections.put(conn)

    def close(self) -> None:
        while not self.connections.empty():
            self.connections.get_nowait().close()


class FloorActivities:
    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY_NAME)
    def touch(self, row_id: int) -> int:
        with self.pool.connection() as conn:
            touch(conn, row_id)
        return row_id


@workflow.defn(name="BenchFloor")
class FloorWorkflow:
    """Lives until `finish`; each `touch` update runs the trivial transaction as a local activity."""

    def __init__(self) -> None:
        self.finished = False
        self.touches = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.finished and workflow.all_handlers_finished())
        return self.touches

    @workflow.update
    async def touch(self, row_id: int) -> int:
        result: int = await workflow.execute_local_activity(
            ACTIVITY_NAME, row_id, result_type=int, start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)))
        self.touches += 1
        return result

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


def build_floor_worker(client: Client, pool: ConnectionPool, task_queue: str) -> Worker:
    """Configured as worker.py configures the service's worker."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[FloorWorkflow],
        activities=[FloorActivities(pool).touch],
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS),
        max_concurrent_activities=ACTIVITY_THREADS,
        max_concurrent_local_activities=ACTIVITY_THREADS,
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
