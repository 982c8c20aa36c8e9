"""The local Airflow's supervisor: what ``airflow standalone`` does, and the one thing it does not.

Like ``airflow standalone`` it runs Airflow's four components (scheduler, DAG processor, API server,
triggerer) as child processes and writes each line they print to its own output, prefixed with the
component's name (``scheduler  | ...``). Unlike it, a component that exits while nobody asked it to stop
is started again: ``airflow standalone`` leaves a dead scheduler dead, and then nothing runs while the API
server keeps answering (seen with the SQLite metadata database under load: the scheduler died on
``database is locked`` and a backfill waited for ever). Each restart is logged with the component's exit
code and how long it ran; a component that keeps dying is restarted less and less often (2 s doubling to
60 s), never given up on.

What a dead component leaves behind goes with it. The supervisor is a child subreaper (Linux
``PR_SET_CHILD_SUBREAPER``), so the orphans of a component that died (a scheduler's LocalExecutor workers
and log server) become its children instead of init's; it kills them before the component starts again.
Left alone, the idle workers ignore SIGTERM (every later stop waited a minute for them) and the old log
server keeps the port the new scheduler's needs.

On the CeleryExecutor it runs the Celery workers too (``COMPONENTS_ENV``: each component's arguments and
environment), stopped with the scheduler, before the API server.

Run by ``sandbox/airflow_local.py`` as ``python sandbox/airflow_supervisor.py`` in a process group of its
own, with the environment of that Airflow (the metadata database already migrated). SIGTERM or SIGINT (to
the supervisor alone) stops the components, one SIGTERM each, then SIGKILL after ``STOP_TIMEOUT_S``: the
scheduler, DAG processor and triggerer first, the API server last. Standard library only: it runs before,
and apart from, anything Airflow imports.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

COMPONENTS = ("scheduler", "dag-processor", "api-server", "triggerer")
FIRST_DELAY_S = 2.0  # before a restart; doubled while the component keeps dying young
MAX_DELAY_S = 60.0
HEALTHY_AFTER_S = 60.0  # a component that ran this long died of something new: restart it at once again
STOP_TIMEOUT_S = 30.0
PR_SET_CHILD_SUBREAPER = 36  # prctl(2)

_output = threading.Lock()


def say(name: str, line: str) -> None:
    """One line of output, prefixed like ``airflow standalone``'s (the log readers split on ``|``)."""
    with _output:
        sys.stdout.write(f"{name:10} | {line}\n")
        sys.stdout.flush()


# The components to run, when not the four above (``sandbox/airflow_local.py`` sets it for the
# CeleryExecutor): a JSON list of {"name": ..., "args": [arguments of `airflow`], "env": {extra variables}}.
COMPONENTS_ENV = "ERPSYNC_AIRFLOW_COMPONENTS"


@dataclass
class Component:
    name: str
    airflow: str  # the airflow executable
    args: tuple[str, ...] = ()  # `airflow <args>`; the name when empty
    env: dict[str, str] = field(default_factory=dict)  # on top of the supervisor's own environment
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay_s: float = FIRST_DELAY_S
    next_start_at: float = 0.0
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen([self.airflow, *(self.args or (self.name,))], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env={**os.environ, **self.env} if self.env else None)
        self.started_at = time.monotonic()
        self.reader = threading.Thread(target=self._relay, args=(self.process,), daemon=True)
        self.reader.start()

    def _relay(self, process: subprocess.Popen) -> None:
        for raw in process.stdout:
            say(self.name, raw.decode("utf-8", "replace").rstrip())

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def plan_restart(self, now: float) -> None:
        """After an exit nobody asked for: when to start it again (sooner if it ran a good while)."""
        ran_s = now - self.started_at
        if ran_s >= HEALTHY_AFTER_S:
            self.delay_s = FIRST_DELAY_S
        self.next_start_at = now + self.delay_s
        self.restarts += 1
        say("supervisor", f"{self.name} exited with code {self.process.returncode} after {ran_s:.0f} s; "
                          f"starting it again in {self.delay_s:.0f} s (restart {self.restarts})")
        self.delay_s = min(self.delay_s * 2, MAX_DELAY_S)  # for the next death, if it comes soon
        self.process = None


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process instead of init (Linux 3.4+)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def children_of(parent: int) -> list[int]:
    """Pids whose parent is ``parent``, read from /proc (zombies included: they are reaped by waiting)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                found.append(int(entry))
    return found


def planned_components(airflow: str, spec: str | None) -> list[Component]:
    """The components of ``spec`` (the JSON of ``COMPONENTS_ENV``), or the four of ``COMPONENTS``."""
    if not spec:
        return [Component(name, airflow) for name in COMPONENTS]
    return [Component(c["name"], airflow, tuple(c.get("args") or ()), dict(c.get("env") or {}))
            for c in json.loads(spec)]


class Supervisor:
    def __init__(self, components: list[Component]):
        self.components = components
        self.stopping = threading.Event()

    def clear_orphans(self) -> list[int]:
        """Kill and reap our children that are not a running component: what a dead one left behind (they
        were re-parented to us). Returns their pids."""
        ours = {c.process.pid for c in self.components if c.process is not None}
        orphans = [pid for pid in children_of(os.getpid()) if pid not in ours]
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        return orphans

    def ask_to_stop(self, signum: int, _frame) -> None:
        self.stopping.set()

    def run(self) -> int:
        for component in self.components:
            component.start()
        say("supervisor", "started " + ", ".join(f"{c.name} (pid {c.process.pid})" for c in self.components))
        while not self.stopping.wait(0.5):
            now = time.monotonic()
            for component in self.components:
                if component.process is None:
                    if now >= component.next_start_at:
                        component.start()
                        say("supervisor", f"{component.name} started again (pid {component.process.pid})")
                elif component.exited() is not None:
                    # A SIGTERM to the whole group (`kill -- -<pgid>`) may end a component just before our
                    # handler ran: that is a stop, not a death.
                    if self.stopping.wait(1.0):
                        break
                    component.plan_restart(now)
                    if cleared := self.clear_orphans():
                        say("supervisor", f"killed what the {component.name} left running: pids "
                                          + ", ".join(map(str, cleared)))
        return self.stop()

    def stop(self) -> int:
        """One SIGTERM each (a second one cuts Airflow's own graceful shutdown short), the API server last:
        tasks the scheduler lets finish still report their end through it."""
        say("supervisor", "stopping the components")
        started = time.monotonic()
        self._stop([c for c in self.components if c.name != "api-server"])
        self._stop([c for c in self.components if c.name == "api-server"])
        self.clear_orphans()
        say("supervisor", f"stopped in {time.monotonic() - started:.1f} s")
        return 0

    def _stop(self, components: list[Component]) -> None:
        running = [c for c in components if c.process is not None and c.process.poll() is None]
        for component in running:
            component.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for component in running:
            try:
                component.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say("supervisor", f"{component.name} did not stop within {STOP_TIMEOUT_S:.0f} s: killing it")
                component.process.kill()
                component.process.wait()


def main() -> int:
    airflow = str(Path(sys.executable).parent / "airflow")
    if not os.access(airflow, os.X_OK):
        say("supervisor", f"no airflow executable beside {sys.executable}")
        return 2
    supervisor = Supervisor(planned_components(airflow, os.environ.get(COMPONENTS_ENV)))
    if not become_subreaper():
        say("supervisor", "not a child subreaper: what a dead component leaves running is left to init")
    signal.signal(signal.SIGTERM, supervisor.ask_to_stop)
    signal.signal(signal.SIGINT, supervisor.ask_to_stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
