"""Running `make demo` and `make stop` from a test, as a user does, and what a demo leaves running."""

from __future__ import annotations

import os
import subprocess
import time

from tests.conftest import REPO


def run_make(target: str, env: dict[str, str], timeout_s: float) -> tuple[str, float]:
    started = time.monotonic()
    result = subprocess.run(
        ["make", target], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {target} failed ({result.returncode}):\n{output[-6000:]}"
    return output, elapsed


def demo_processes(home: str) -> list[str]:
    """Command lines of live processes that belong to this demo (by its home in their environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = open(f"/proc/{entry}/environ", "rb").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (home.encode() in environ or home in cmdline):
            found.append(f"{entry}: {cmdline[:120]}")
    return found
