"""The worker's heartbeat: every few seconds the worker's event loop writes the time into PostgreSQL, so
readiness (`/health/ready`) can tell a worker that stopped (killed, frozen, its loop blocked) from a quiet one.
One row per worker process; readiness reads the newest of the task queue's."""

import asyncio
import logging
import os
import socket
import uuid
from contextlib import suppress

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("worker.heartbeat")

BEAT = text("INSERT INTO worker_heartbeats (worker_id, task_queue, host, pid, seen_at) "
            "VALUES (:worker_id, :task_queue, :host, :pid, now()) "
            "ON CONFLICT (worker_id) DO UPDATE SET seen_at = now()")
FORGET = text("DELETE FROM worker_heartbeats WHERE seen_at < now() - interval '1 day'")
SILENCE = text("SELECT extract(epoch FROM now() - max(seen_at)) FROM worker_heartbeats WHERE task_queue = :task_queue")


class Heartbeat:
    def __init__(self, factory: sessionmaker[Session], task_queue: str, every_seconds: float) -> None:
        self.factory, self.every = factory, every_seconds
        self.row = {"worker_id": str(uuid.uuid4()), "task_queue": task_queue, "host": socket.gethostname()[:100],
                    "pid": os.getpid()}
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="worker heartbeat")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        await asyncio.to_thread(self._write, FORGET)
        while True:
            await asyncio.to_thread(self._write, BEAT)
            await asyncio.sleep(self.every)

    def _write(self, statement: object) -> None:
        try:
            with self.factory.begin() as session:
                session.execute(statement, self.row)  # type: ignore[call-overload]
        except Exception as err:  # noqa: BLE001 - the database may be down a while; the next beat tries again
            log.warning("worker heartbeat not written: %s", err)


def worker_silence(conn: Connection, task_queue: str) -> float | None:
    """Seconds since a worker of `task_queue` last beat; None when none ever did."""
    seconds = conn.execute(SILENCE, {"task_queue": task_queue}).scalar()
    return None if seconds is None else float(seconds)
