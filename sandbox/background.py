"""A sandbox helper process run in the background (``python -m <module> <args>``), found again by its pid
file: the ERP's shipper, Vendure's shopper. Started once (a second start while it runs does nothing),
stopped with SIGTERM, then SIGKILL."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.tryton import process

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class BackgroundModule:
    module: str
    args: list[str]
    pid_file: Path
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        if self.pid() is not None:
            return
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args], cwd=REPO_ROOT, env={**os.environ, **self.env},
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid_file.write_text(str(worker.pid))

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            process.terminate(pid, 15.0)
        self.pid_file.unlink(missing_ok=True)

    def pid(self) -> int | None:
        """The running process's pid; None when it is not running (or the pid is now another program's)."""
        try:
            pid = int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        process.reap(pid)
        return pid if process.is_alive(pid) and self.module in " ".join(process.command_line(pid)) else None
