"""The local Airflow's supervisor: what ``airflow standalone`` does, and the one thing it does not.

Like ``airflow standalone`` it runs Airflow's four components (scheduler, DAG processor, API server,
triggerer) as child processes and writes each line they print to its own output, prefixed with the
component's name (``scheduler  | ...``). Unlike it, a component that exits while nobody asked it to stop
is started again: ``airflow standalone`` leaves a dead scheduler dead, and then nothing runs while the API
server keeps answering (seen with the SQLite metadata database under load: the scheduler died on
``database is locked`` and a backfill waited for ever). Each restart is logged with the component's exit
code and how long it ran; a component that keeps dying is restarted less and less often (2 s doubling to
60 s), never given up on.

Run by ``sandbox/airflow_local.py`` as ``python sandbox/airflow_supervisor.py`` in a process group of its
own, with the environment of that Airflow (the metadata database already migrated). SIGTERM or SIGINT
stops the components (SIGTERM, then SIGKILL after ``STOP_TIMEOUT_S``) and then the supervisor. Standard
library only: it runs before, and apart from, anything Airflow imports.
"""

from __future__ import annotations

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

_output = threading.Lock()


def say(name: str, line: str) -> None:
    """One line of output, prefixed like ``airflow standalone``'s (the log readers split on ``|``)."""
    with _output:
        sys.stdout.write(f"{name:10} | {line}\n")
        sys.stdout.flush()


@dataclass
class Component:
    name: str
    airflow: str  # the airflow executable
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    delay_s: float = FIRST_DELAY_S
    next_start_at: float = 0.0
    reader: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen([self.airflow, self.name], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
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


class Supervisor:
    def __init__(self, airflow: str, names: tuple[str, ...] = COMPONENTS):
        self.components = [Component(name, airflow) for name in names]
        self.stopping = threading.Event()

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
                    # The whole group gets a stop's SIGTERM: a component may end just before our handler ran.
                    if self.stopping.wait(1.0):
                        break
                    component.plan_restart(now)
        return self.stop()

    def stop(self) -> int:
        say("supervisor", "stopping the components")
        running = [c.process for c in self.components if c.process is not None and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        say("supervisor", "stopped")
        return 0


def main() -> int:
    airflow = str(Path(sys.executable).parent / "airflow")
    if not os.access(airflow, os.X_OK):
        say("supervisor", f"no airflow executable beside {sys.executable}")
        return 2
    supervisor = Supervisor(airflow)
    signal.signal(signal.SIGTERM, supervisor.ask_to_stop)
    signal.signal(signal.SIGINT, supervisor.ask_to_stop)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
