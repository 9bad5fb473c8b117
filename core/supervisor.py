"""Keeps `make run`'s processes up. A child that dies is started again after a backoff (0.5 s, doubling to 10 s,
back to 0.5 s once it had stayed up 30 s); one that dies more than `max_restarts` times within a minute is
given up on, and then everything stops (GaveUp)."""

import json
import logging
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.stack import StackError, kill_group, stop_process

log = logging.getLogger("supervisor")
Spawn = Callable[[], subprocess.Popen[bytes]]


class GaveUp(StackError):
    """A child kept dying: the message names it and its log file."""


@dataclass
class RestartPolicy:
    """When to restart a child that died, from the times alone (so it is tested with a fake clock)."""

    max_restarts: int = 5
    window_seconds: float = 60.0
    first_delay: float = 0.5
    max_delay: float = 10.0
    stable_after: float = 30.0  # a child up this long had recovered: its next restart waits first_delay again
    delay: float = field(default=0.0, init=False)
    restarts: deque[float] = field(default_factory=deque, init=False)

    def next_delay(self, started_at: float, died_at: float) -> float | None:
        """How long to wait before restarting a child started at `started_at` that died at `died_at`; None
        when it was already restarted max_restarts times within the window (give up)."""
        while self.restarts and died_at - self.restarts[0] >= self.window_seconds:
            self.restarts.popleft()
        if len(self.restarts) >= self.max_restarts:
            return None
        if not self.delay or died_at - started_at >= self.stable_after:
            self.delay = self.first_delay
        delay, self.delay = self.delay, min(self.delay * 2, self.max_delay)
        self.restarts.append(died_at)
        return delay


class Supervised:
    """One child: how to start it, where it logs, how it stops, and when it comes back."""

    def __init__(self, name: str, spawn: Spawn, log_file: Path, policy: RestartPolicy,
                 stop_signal: int = signal.SIGTERM) -> None:
        self.name, self.spawn, self.log_file, self.policy = name, spawn, log_file, policy
        self.stop_signal = stop_signal
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restart_at: float | None = None

    def start(self, now: float) -> subprocess.Popen[bytes]:
        self.started_at, self.restart_at = now, None
        self.proc = self.spawn()
        return self.proc

    def check(self, now: float) -> bool:
        """Restart the child when it is due, note it when it died; True when it was restarted now."""
        if self.restart_at is not None:
            return self._restart(now) if now >= self.restart_at else False
        code = None if self.proc is None else self.proc.poll()
        if self.proc is not None and code is None:
            return False
        self._died(code, now)
        return False

    def _restart(self, now: float) -> bool:
        log.info("restarting %s", self.name)
        try:
            self.start(now)
        except (OSError, StackError) as err:  # counts as one more death
            log.warning("%s could not be started: %s", self.name, err)
            self.proc = None
        return True

    def _died(self, code: int | None, now: float) -> None:
        if self.proc is not None:
            kill_group(self.proc.pid)  # what it left behind (PostgreSQL's backends, uvicorn's workers)
        delay = self.policy.next_delay(self.started_at, now)
        if delay is None:
            raise GaveUp(f"{self.name} died {self.policy.max_restarts + 1} times within "
                         f"{self.policy.window_seconds:.0f} s: giving up (see {self.log_file})")
        log.warning("%s exited with code %s; restarting it in %.1f s (see %s)", self.name, code, delay,
                    self.log_file)
        self.restart_at = now + delay

    def stop(self) -> None:
        self.restart_at = None
        if self.proc is not None:
            stop_process(self.proc, sig=self.stop_signal)
            kill_group(self.proc.pid)


class Supervisor:
    """The children in start order; writes their process ids to `pid_file` whenever one (re)starts."""

    def __init__(self, pid_file: Path, max_restarts: int) -> None:
        self.pid_file, self.max_restarts = pid_file, max_restarts
        self.children: list[Supervised] = []

    def add(self, name: str, spawn: Spawn, log_file: Path,
            stop_signal: int = signal.SIGTERM) -> subprocess.Popen[bytes]:
        """Start a child (an error starting it the first time is raised) and supervise it from now on."""
        child = Supervised(name, spawn, log_file, RestartPolicy(max_restarts=self.max_restarts), stop_signal)
        proc = child.start(time.monotonic())
        self.children.append(child)
        self.write_pids()
        return proc

    def check(self) -> None:
        """One round: restart what is due, note what died. Raises GaveUp."""
        now = time.monotonic()
        if any([child.check(now) for child in self.children]):
            self.write_pids()

    def write_pids(self) -> None:
        pids = {c.name: c.proc.pid for c in self.children if c.proc is not None and c.proc.poll() is None}
        temporary = self.pid_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(pids))
        os.replace(temporary, self.pid_file)

    def stop(self) -> None:
        for child in reversed(self.children):
            log.info("stopping %s", child.name)
            child.stop()
        self.pid_file.unlink(missing_ok=True)
