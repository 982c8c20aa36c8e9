"""The hostname a Celery worker of the sandbox's CeleryExecutor gives its task instances
(``[core] hostname_callable``, set for the workers only by ``sandbox/airflow_local.py``).

Two workers on one machine would both report the machine's name, and the UI could not tell which one ran
a task. Each reports a loopback address of its own instead (``ERPSYNC_WORKER_HOSTNAME``: 127.0.0.1,
127.0.0.2, ...): distinct in the task instance's *Hostname*, and still this machine, so that the API server
can fetch a running task's log from it.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("ERPSYNC_WORKER_HOSTNAME") or socket.getfqdn()
