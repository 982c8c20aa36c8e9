"""DAG parse time: each parse in a fresh process forked from one that has Airflow loaded, as Airflow 3's
DAG processor forks its file processors, so that each file pays for its own imports and for nothing of
the parses before it; the median of ``repeats`` parses per file. Airflow is imported once, not once per
parse (a fresh interpreter costs ~2 s to import it: 28 of them were a minute of ``make bench``)."""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys

from tests.integrity.test_dags import dag_files

log = logging.getLogger("bench.parse")

# argv: repeats, then the files. One JSON line per file: its parse times.
FORKING_PROBE = """
import json, os, sys
import airflow.sdk, airflow.models  # the DAG processor has Airflow loaded before it forks a file's parser
from airflow.models import DagBag

repeats, paths = int(sys.argv[1]), sys.argv[2:]
for path in paths:
    seconds = []
    for _ in range(repeats):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            (stat,) = DagBag(dag_folder=path).dagbag_stats
            os.write(write, str(stat.duration.total_seconds()).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as answer:
            seconds.append(float(answer.read()))
        _, status = os.waitpid(pid, 0)
        if status:
            sys.exit(f"parsing {path} failed (wait status {status})")
    print(json.dumps({"file": path, "seconds": seconds}), flush=True)
"""


def parse_seconds(paths, repeats: int) -> dict[str, list[float]]:
    result = subprocess.run([sys.executable, "-c", FORKING_PROBE, str(repeats), *map(str, paths)],
                            capture_output=True, text=True, env=os.environ)
    if result.returncode:
        raise RuntimeError(f"the parse probe failed:\n{result.stderr[-3000:]}")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {os.path.basename(line["file"]): line["seconds"] for line in lines}


def run(quick: bool = False) -> dict:
    repeats = 3 if quick else 7
    per_file = {}
    for name, seconds in parse_seconds(dag_files(), repeats).items():
        per_file[name] = round(statistics.median(seconds), 4)
        log.info("%s: %.3f s (median of %d)", name, per_file[name], repeats)
    return {"dag_parse_s_max": max(per_file.values()), "details": {"dag_parse_s": per_file, "repeats": repeats}}
