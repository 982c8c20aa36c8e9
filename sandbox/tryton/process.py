"""Process helpers for the trytond server: liveness by pid, identity checks, clean termination.

Linux-specific on purpose (the sandbox runs on the project's Linux machines): /proc tells a zombie from a
live process and lets us check that a pid from a pid file is still *our* server, not a reused pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path


def is_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (a zombie still answers kill(pid, 0)).

    A multi-threaded process being killed shows its main thread as a zombie while other threads still
    exit (and still hold its sockets): it counts as alive until no thread of it is left.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z" or len(threads) > 1


def command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def reap(pid: int) -> None:
    """Collect the exit status if the server is our child, so no zombie stays in the process table."""
    with contextlib.suppress(ChildProcessError):  # not our child: its parent (or init) reaps it
        os.waitpid(pid, os.WNOHANG)


def terminate(pid: int, grace_seconds: float, kill_seconds: float = 5.0) -> None:
    """SIGTERM the server's process group, wait, and SIGKILL only once the grace period is over.

    The server was started in its own session, so its process group holds it and anything it spawned.
    """
    _signal_group(pid, signal.SIGTERM)
    if wait_until(lambda: _gone(pid), grace_seconds):
        return
    _signal_group(pid, signal.SIGKILL)
    if not wait_until(lambda: _gone(pid), kill_seconds):
        raise TimeoutError(f"process {pid} survived SIGKILL for {kill_seconds:.0f} s")


def _gone(pid: int) -> bool:
    reap(pid)
    return not is_alive(pid)


def _signal_group(pid: int, signum: int) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_until(condition, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds have passed; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel picks it), for clones and tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
